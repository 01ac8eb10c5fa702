/**
 * The simulated payer's X12: it reads requests with node-x12's STRICT parser (an implementation independent
 * of the gateway's reader, so a shared misunderstanding cannot hide) and writes answers with node-x12's
 * object model. Only what a payer needs: 278 requests, inquiries and cancellations in; 278 responses, 271s,
 * 999s and TA1s out.
 */
import { X12Interchange, X12Parser, type X12Segment } from 'node-x12';

export interface Seg {
  readonly tag: string;
  readonly elements: string[];
}

export interface ReadRequest {
  readonly setId: string;
  readonly version: string;
  readonly interchangeControlNumber: string;
  /** GS06. */
  readonly groupControlNumber: string;
  readonly senderId: string;
  readonly senderQualifier: string;
  readonly bht03: string;
  readonly segments: Seg[];
  /** Position in the set of each segment (ST = 1). */
  readonly positionOf: (seg: Seg) => number;
}

/** Parses strictly; throws node-x12's error on any envelope fault (counts, control numbers, ISA width). */
export function readRequest(payload: string): ReadRequest {
  const parsed = new X12Parser(true).parse(payload) as X12Interchange;
  const group = parsed.functionalGroups[0];
  const set = group?.transactions[0];
  if (!group || !set) throw new Error('no transaction set');
  const segments: Seg[] = set.segments.map((s: X12Segment) => ({
    tag: s.tag,
    elements: s.elements.map((e) => e.value),
  }));
  return {
    setId: set.header.valueOf(1) ?? '',
    version: set.header.valueOf(3) ?? '',
    interchangeControlNumber: (parsed.header.valueOf(13) ?? '').padStart(9, '0'),
    groupControlNumber: group.header.valueOf(6) ?? '',
    senderId: (parsed.header.valueOf(6) ?? '').trim(),
    senderQualifier: (parsed.header.valueOf(5) ?? '').trim(),
    bht03: segments.find((s) => s.tag === 'BHT')?.elements[2] ?? '',
    segments,
    positionOf: (seg) => segments.indexOf(seg) + 2,
  };
}

export const v = (seg: Seg | undefined, n: number): string => seg?.elements[n - 1] ?? '';

/** The request's HL levels: HL segment and the segments under it. */
export function levels(request: ReadRequest): { hl: Seg; level: string; segments: Seg[] }[] {
  const out: { hl: Seg; level: string; segments: Seg[] }[] = [];
  for (const seg of request.segments) {
    if (seg.tag === 'HL') out.push({ hl: seg, level: v(seg, 3), segments: [] });
    else out.at(-1)?.segments.push(seg);
  }
  return out;
}

export interface ReviewFacts {
  readonly memberId: string;
  readonly traceNumber: string;
  readonly traceOriginator: string;
  readonly certificationType: string;
  readonly serviceCodes: string[];
  readonly authorizationNumber?: string;
  readonly administrativeReference?: string;
}

export function reviewFacts(request: ReadRequest): ReviewFacts {
  const nm1Il = request.segments.find((s) => s.tag === 'NM1' && v(s, 1) === 'IL');
  const trn = request.segments.find((s) => s.tag === 'TRN');
  const um = request.segments.find((s) => s.tag === 'UM');
  const serviceCodes = request.segments
    .filter((s) => s.tag === 'SV1' || s.tag === 'SV2')
    .map((s) => (s.tag === 'SV1' ? v(s, 1) : v(s, 2)).split(':')[1] ?? '');
  const bb = request.segments.find((s) => s.tag === 'REF' && v(s, 1) === 'BB');
  const nt = request.segments.find((s) => s.tag === 'REF' && v(s, 1) === 'NT');
  return {
    memberId: v(nm1Il, 9),
    traceNumber: v(trn, 2),
    traceOriginator: v(trn, 3),
    certificationType: v(um, 2),
    serviceCodes,
    ...(bb ? { authorizationNumber: v(bb, 2) } : {}),
    ...(nt ? { administrativeReference: v(nt, 2) } : {}),
  };
}

// ─── writing ─────────────────────────────────────────────────────────────────────────────────────

export interface SimEnvelope {
  readonly senderId: string;
  readonly receiverId: string;
  readonly receiverQualifier: string;
  readonly controlNumber: number;
  readonly at: Date;
}

function stamp(at: Date) {
  const iso = at.toISOString();
  return {
    yymmdd: iso.slice(2, 10).replace(/-/g, ''),
    ccyymmdd: iso.slice(0, 10).replace(/-/g, ''),
    hhmm: iso.slice(11, 16).replace(':', ''),
  };
}

function interchangeHeader(envelope: SimEnvelope): {
  interchange: X12Interchange;
  stamp: ReturnType<typeof stamp>;
} {
  const s = stamp(envelope.at);
  const interchange = new X12Interchange({
    elementDelimiter: '*',
    segmentTerminator: '~',
    subElementDelimiter: ':',
    repetitionDelimiter: '^',
    endOfLine: '',
    format: false,
  });
  interchange.setHeader([
    '00',
    '',
    '00',
    '',
    'ZZ',
    envelope.senderId,
    envelope.receiverQualifier,
    envelope.receiverId,
    s.yymmdd,
    s.hhmm,
    '^',
    '00501',
    String(envelope.controlNumber).padStart(9, '0'),
    '0',
    'T',
    ':',
  ]);
  return { interchange, stamp: s };
}

export function writeSet(
  envelope: SimEnvelope,
  functionalId: string,
  setId: string,
  version: string,
  segments: Seg[],
): string {
  const { interchange, stamp: s } = interchangeHeader(envelope);
  const group = interchange.addFunctionalGroup();
  group.setHeader([
    functionalId,
    envelope.senderId,
    envelope.receiverId,
    s.ccyymmdd,
    s.hhmm,
    String(envelope.controlNumber),
    'X',
    version,
  ]);
  const set = group.addTransaction();
  set.setHeader([setId, '0001', version]);
  for (const seg of segments) {
    const elements = [...seg.elements];
    while (elements.length && elements.at(-1) === '') elements.pop();
    set.addSegment(seg.tag, elements);
  }
  return interchange.toString();
}

export function writeTa1(
  envelope: SimEnvelope,
  acknowledged: string,
  status: 'A' | 'R',
  note: string,
): string {
  const { stamp: s } = interchangeHeader(envelope);
  // node-x12 has no TA1 model (it sits outside any group): write the interchange by hand around it.
  const isa = `ISA*00*          *00*          *ZZ*${envelope.senderId.padEnd(15)}*${envelope.receiverQualifier}*${envelope.receiverId.padEnd(15)}*${s.yymmdd}*${s.hhmm}*^*00501*${String(envelope.controlNumber).padStart(9, '0')}*0*T*:~`;
  return `${isa}TA1*${acknowledged}*${s.yymmdd}*${s.hhmm}*${status}*${note}~IEA*0*${String(envelope.controlNumber).padStart(9, '0')}~`;
}

export interface ReviewAnswer {
  /** HCR01 for the event, or undefined for an AAA-only answer. */
  readonly action?: 'A1' | 'A3' | 'A4' | 'A6' | 'C';
  readonly certificationNumber?: string;
  readonly reason?: string;
  readonly administrativeReference?: string;
  readonly message?: string;
  readonly aaa?: { readonly code: string; readonly followUp: string; readonly loop: '2010C' | '2000E' };
  /** Per service line: HCR01 and, for A6, the reduced quantity. */
  readonly lines?: ReadonlyArray<{
    action: 'A1' | 'A3' | 'A6' | 'A4' | 'C';
    quantity?: number;
    reason?: string;
  }>;
  readonly period?: { start: string; end: string };
  /**
   * A4: the documents asked for (PWK01 report type, PWK06 attachment control number); default PWK*AS*EL; null: no
   * PWK at all (pended without asking for anything).
   */
  readonly paperwork?: { readonly reportType: string; readonly controlNumber?: string } | null;
}

/** A 278 response echoing the request's parties and services, with the payer's decision at both levels. */
export function write278Response(
  envelope: SimEnvelope,
  request: ReadRequest,
  answer: ReviewAnswer,
  responseVersion = '005010X217',
): string {
  const s = stamp(envelope.at);
  const out: Seg[] = [{ tag: 'BHT', elements: ['0007', '11', request.bht03, s.ccyymmdd, s.hhmm, '18'] }];
  let hl = 0;
  const parents: Record<string, number> = {};
  for (const level of levels(request)) {
    hl++;
    const parentLevel = { '21': '20', '22': '21', '23': '22', EV: parents['23'] ? '23' : '22', SS: 'EV' }[
      level.level
    ];
    const parent = parentLevel ? String(parents[parentLevel] ?? '') : '';
    parents[level.level] = hl;
    const hasChildren =
      level.level !== 'SS' &&
      !(level.level === 'EV' && !request.segments.some((x) => x.tag === 'HL' && v(x, 3) === 'SS'));
    out.push({ tag: 'HL', elements: [String(hl), parent, level.level, hasChildren ? '1' : '0'] });
    if (level.level === '20' || level.level === '21' || level.level === '22' || level.level === '23') {
      const nm1 = level.segments.find((x) => x.tag === 'NM1');
      if (nm1) out.push({ tag: 'NM1', elements: [...nm1.elements] });
      if (level.level === '22' && answer.aaa?.loop === '2010C')
        out.push({ tag: 'AAA', elements: ['N', '', answer.aaa.code, answer.aaa.followUp] });
      continue;
    }
    if (level.level === 'EV') {
      const trn = level.segments.find((x) => x.tag === 'TRN');
      out.push({ tag: 'TRN', elements: ['2', v(trn, 2), v(trn, 3)] });
      if (answer.aaa?.loop === '2000E')
        out.push({ tag: 'AAA', elements: ['N', '', answer.aaa.code, answer.aaa.followUp] });
      const um = level.segments.find((x) => x.tag === 'UM');
      if (um) out.push({ tag: 'UM', elements: um.elements.slice(0, 4) });
      if (answer.action)
        out.push({
          tag: 'HCR',
          elements: [answer.action, answer.certificationNumber ?? '', answer.reason ?? ''],
        });
      if (answer.administrativeReference)
        out.push({ tag: 'REF', elements: ['NT', answer.administrativeReference] });
      if (answer.period && (answer.action === 'A1' || answer.action === 'A6')) {
        out.push({ tag: 'DTP', elements: ['AAH', 'RD8', `${answer.period.start}-${answer.period.end}`] });
      }
      if (answer.action === 'A4' && answer.paperwork !== null)
        out.push({
          tag: 'PWK',
          elements: answer.paperwork?.controlNumber
            ? [answer.paperwork.reportType, 'EL', '', '', 'AC', answer.paperwork.controlNumber]
            : [answer.paperwork?.reportType ?? 'AS', 'EL'],
        });
      if (answer.message) out.push({ tag: 'MSG', elements: [answer.message] });
      continue;
    }
    // SS: one service line, in request order.
    const index = out.filter((x) => x.tag === 'HL' && v(x, 3) === 'SS').length - 1;
    const line = answer.lines?.[index] ?? (answer.action ? { action: answer.action } : undefined);
    const um = level.segments.find((x) => x.tag === 'UM');
    if (um) out.push({ tag: 'UM', elements: um.elements.slice(0, 3) });
    if (line && !answer.aaa)
      out.push({
        tag: 'HCR',
        elements: [
          line.action,
          line.action === 'A3' || line.action === 'A4' ? '' : (answer.certificationNumber ?? ''),
          line.reason ?? '',
        ],
      });
    const dtp = level.segments.find((x) => x.tag === 'DTP' && v(x, 1) === '472');
    if (dtp) out.push({ tag: 'DTP', elements: [...dtp.elements] });
    const sv = level.segments.find((x) => x.tag === 'SV1' || x.tag === 'SV2');
    if (sv) {
      const elements = [...sv.elements];
      if (line?.quantity !== undefined) {
        if (sv.tag === 'SV1') {
          elements[2] = elements[2] || 'UN';
          elements[3] = String(line.quantity);
        } else {
          elements[3] = elements[3] || 'UN';
          elements[4] = String(line.quantity);
        }
      }
      out.push({ tag: sv.tag, elements });
    }
    const hsd = level.segments.find((x) => x.tag === 'HSD');
    if (hsd)
      out.push({
        tag: 'HSD',
        elements: [v(hsd, 1), line?.quantity !== undefined ? String(line.quantity) : v(hsd, 2)],
      });
  }
  return writeSet(envelope, 'HI', '278', responseVersion, out);
}

/** The request's requested quantity of a service level (SV1/SV2 or HSD), for "modify". */
export function requestedQuantities(request: ReadRequest): number[] {
  return levels(request)
    .filter((l) => l.level === 'SS')
    .map((l) => {
      const sv = l.segments.find((x) => x.tag === 'SV1' || x.tag === 'SV2');
      const hsd = l.segments.find((x) => x.tag === 'HSD');
      const raw = sv?.tag === 'SV1' ? v(sv, 4) : sv?.tag === 'SV2' ? v(sv, 5) : '';
      return Number(raw || v(hsd, 2) || '1');
    });
}

/** A 271 echoing the 270's parties, with coverage by behaviour. */
export function write271(
  envelope: SimEnvelope,
  request: ReadRequest,
  answer: { status: 'active' | 'inactive' } | { aaa: { code: string; followUp: string } },
  askedServiceTypes: string[],
): string {
  const s = stamp(envelope.at);
  const out: Seg[] = [{ tag: 'BHT', elements: ['0022', '11', request.bht03, s.ccyymmdd, s.hhmm] }];
  const all = levels(request);
  const patientLevel = all.find((l) => l.level === '23') ?? all.find((l) => l.level === '22');
  for (const level of all) {
    out.push({ tag: 'HL', elements: [...level.hl.elements] });
    const trn = level.segments.find((x) => x.tag === 'TRN');
    if (trn) out.push({ tag: 'TRN', elements: ['2', v(trn, 2), v(trn, 3)] });
    const nm1 = level.segments.find((x) => x.tag === 'NM1');
    if (nm1) out.push({ tag: 'NM1', elements: [...nm1.elements] });
    if (level !== patientLevel) continue;
    if ('aaa' in answer) {
      out.push({ tag: 'AAA', elements: ['Y', '', answer.aaa.code, answer.aaa.followUp] });
      continue;
    }
    const dmg = level.segments.find((x) => x.tag === 'DMG');
    if (dmg) out.push({ tag: 'DMG', elements: [...dmg.elements] });
    out.push({ tag: 'DTP', elements: ['346', 'D8', '20250101'] });
    if (answer.status === 'inactive') {
      out.push({ tag: 'EB', elements: ['6', '', '30'] });
      continue;
    }
    out.push({ tag: 'EB', elements: ['1', 'IND', '30', 'HM', 'SIM GOLD PLAN'] });
    const others = askedServiceTypes.filter((t) => t !== '30');
    if (others.length)
      out.push({
        tag: 'EB',
        elements: ['1', 'IND', others.join('^'), 'HM', '', '', '', '', '', '', 'Y', 'Y'],
      });
  }
  return writeSet(envelope, 'HB', '271', '005010X279A1', out);
}

/** A 999 rejecting the set: IK3 names a segment (and IK4 an element) of the request. */
export function write999Reject(
  envelope: SimEnvelope,
  request: ReadRequest,
  groupControlNumber: string,
  failing: { segment: Seg; loop: string; element: number; elementRef: string },
): string {
  const position = request.positionOf(failing.segment);
  return writeSet(envelope, 'FA', '999', '005010X231A1', [
    { tag: 'AK1', elements: ['HI', groupControlNumber, request.version] },
    { tag: 'AK2', elements: ['278', '0001', request.version] },
    { tag: 'IK3', elements: [failing.segment.tag, String(position), failing.loop, '8'] },
    { tag: 'IK4', elements: [String(failing.element), failing.elementRef, '7'] },
    { tag: 'IK5', elements: ['R', '5'] },
    { tag: 'AK9', elements: ['R', '1', '1', '0'] },
  ]);
}

/** A 999 accepting a transaction set (a 275 with attachments, which has no business answer of its own). */
export function write999Accept(envelope: SimEnvelope, request: ReadRequest, functionalId: string): string {
  return writeSet(envelope, 'FA', '999', '005010X231A1', [
    { tag: 'AK1', elements: [functionalId, request.groupControlNumber, request.version] },
    { tag: 'AK2', elements: [request.setId, '0001', request.version] },
    { tag: 'IK5', elements: ['A'] },
    { tag: 'AK9', elements: ['A', '1', '1', '1'] },
  ]);
}
