/**
 * HL7 v2 acknowledgments (original mode), built from the inbound result after it committed:
 * - AA: accepted (warnings, if any, as ERR segments with severity W);
 * - AR: refused for reasons unrelated to the content (not HL7, unsupported message type or version) or
 *   because the gateway failed internally — the sender may resend;
 * - AE: the content is wrong (missing coverage, missing member id, bad code) — resending unchanged won't help.
 * One ERR per problem: ERR-1 (v2.3/2.4 style ELD), ERR-2 location (ERL), ERR-3 HL7 table 0357 code, ERR-4
 * severity, ERR-5 the gateway's error code, ERR-8 the reason. The ACK uses the message's own delimiters.
 * @see HL7 v2.5.1 sections 2.9 (acknowledgment rules), 2.15.5 (ERR), 2.15.8 (MSA)
 */
import { hl7ConditionCode, type MappingProblem } from '../../mapping/index.ts';
import type { InboundResult } from '../accept.ts';

const refusedOutright = new Set([
  'PAGW_MAP_UNREADABLE',
  'PAGW_MAP_UNSUPPORTED_MESSAGE',
  'PAGW_MAP_UNSUPPORTED_VERSION',
]);

const conditionText: Record<number, string> = {
  100: 'Segment sequence error',
  101: 'Required field missing',
  102: 'Data type error',
  103: 'Table value not found',
  104: 'Value too long',
  200: 'Unsupported message type',
  201: 'Unsupported event code',
  203: 'Unsupported version id',
  207: 'Application internal error',
};

interface Delimiters {
  field: string;
  component: string;
  repetition: string;
  escape: string;
  subcomponent: string;
}

interface OriginalHeader {
  delimiters: Delimiters;
  fields: string[];
}

const standard: Delimiters = { field: '|', component: '^', repetition: '~', escape: '\\', subcomponent: '&' };

/** The original MSH, read leniently: whatever can be read of it, standard delimiters otherwise. */
function readOriginalHeader(raw: Buffer): OriginalHeader {
  const text = raw
    .toString('latin1', 0, Math.min(raw.length, 4096))
    .replace(/^[\uFEFF\s\v]+|^\xEF\xBB\xBF/g, '');
  const start = text.indexOf('MSH');
  if (start < 0) return { delimiters: standard, fields: [] };
  const line = text.slice(start).split(/\r\n|\r|\n/)[0] ?? '';
  const field = line[3];
  const enc = line.slice(4, 8);
  const candidate: Delimiters = {
    field: field ?? '|',
    component: enc[0] ?? '^',
    repetition: enc[1] ?? '~',
    escape: enc[2] ?? '\\',
    subcomponent: enc[3] ?? '&',
  };
  const all = Object.values(candidate);
  const valid = enc.length === 4 && new Set(all).size === 5 && all.every((c) => !/[A-Za-z0-9\s]/.test(c));
  const delimiters = valid ? candidate : standard;
  const fields = valid ? line.split(delimiters.field) : line.split('|');
  // fields[n - 1] is MSH-n for n >= 2.
  return { delimiters, fields };
}

function escapeText(text: string, d: Delimiters): string {
  let out = '';
  for (const ch of text) {
    if (ch === d.escape) out += `${d.escape}E${d.escape}`;
    else if (ch === d.field) out += `${d.escape}F${d.escape}`;
    else if (ch === d.component) out += `${d.escape}S${d.escape}`;
    else if (ch === d.subcomponent) out += `${d.escape}T${d.escape}`;
    else if (ch === d.repetition) out += `${d.escape}R${d.escape}`;
    else if (ch === '\r' || ch === '\n') out += ' ';
    else out += ch;
  }
  return out;
}

/** A field of the original MSH, stripped of anything that could break the ACK's structure. */
function original(header: OriginalHeader, n: number): string {
  const value = header.fields[n - 1] ?? '';
  const framing = new Set(['\r', '\n', '\u000b', '\u001c', '\u0000']);
  return [...value].filter((ch) => !framing.has(ch)).join('');
}

function timestamp(at: Date): string {
  const p = (n: number, w = 2) => String(n).padStart(w, '0');
  return `${p(at.getUTCFullYear(), 4)}${p(at.getUTCMonth() + 1)}${p(at.getUTCDate())}${p(at.getUTCHours())}${p(at.getUTCMinutes())}${p(at.getUTCSeconds())}+0000`;
}

export type AckCode = 'AA' | 'AE' | 'AR';

export function ackCodeFor(result: Pick<InboundResult, 'outcome' | 'errorCode'>): AckCode {
  if (result.outcome === 'accepted') return 'AA';
  if (!result.errorCode || refusedOutright.has(result.errorCode) || result.errorCode === 'PAGW_INTERNAL')
    return 'AR';
  return 'AE';
}

function errSegment(problem: MappingProblem, severity: 'E' | 'W', version: string, d: Delimiters): string {
  const code = hl7ConditionCode(problem);
  const c = d.component;
  const where = problem.hl7;
  const erl = where
    ? [
        where.segment,
        where.sequence ?? 1,
        where.field ?? '',
        where.repetition ?? '',
        where.component ?? '',
        where.subcomponent ?? '',
      ]
        .join(c)
        .replace(new RegExp(`${c.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}+$`), '')
    : '';
  const condition = `${code}${c}${escapeText(conditionText[code] ?? 'Error', d)}${c}HL70357`;
  const legacy =
    /^2\.[34]/.test(version) && where
      ? `${where.segment}${c}${where.sequence ?? 1}${c}${where.field ?? ''}${c}${condition.split(c).join(d.subcomponent)}`
      : '';
  const fields = [
    'ERR',
    legacy,
    erl,
    condition,
    severity,
    `${escapeText(problem.code, d)}${c}${c}PAGW`,
    '',
    '',
    escapeText(`${problem.location}: ${problem.message}`, d),
  ];
  return fields.join(d.field);
}

let counter = 0;

/**
 * The ACK for an inbound HL7 v2 message. `raw` is the message as received (its MSH gives the delimiters,
 * the addresses to swap, the trigger event, MSH-10 and the version); `result` what the gateway did with it.
 */
export function buildAck(raw: Buffer, result: InboundResult, at: Date = new Date()): string {
  const header = readOriginalHeader(raw);
  const d = header.delimiters;
  const code = ackCodeFor(result);
  const version = original(header, 12).split(d.component)[0] || '2.5.1';
  const trigger = original(header, 9).split(d.component)[1] ?? '';
  counter = (counter + 1) % 1_000_000;
  const controlId = `ACK${at.getTime().toString(36).toUpperCase()}${String(counter).padStart(6, '0')}`;
  const msh = [
    'MSH',
    `${d.component}${d.repetition}${d.escape}${d.subcomponent}`,
    original(header, 5),
    original(header, 6),
    original(header, 3),
    original(header, 4),
    timestamp(at),
    '',
    `ACK${d.component}${trigger}${d.component}ACK`,
    controlId,
    original(header, 11) || 'P',
    version,
  ].join(d.field);
  const errors = result.problems;
  const summary =
    code === 'AA'
      ? result.duplicate
        ? 'duplicate: already accepted'
        : `accepted: ${result.caseIds.length} case(s)`
      : (errors[0] ? `${errors[0].location}: ${errors[0].message}` : (result.errorCode ?? 'refused')).slice(
          0,
          80,
        );
  const msa = ['MSA', code, original(header, 10), escapeText(summary, d)].join(d.field);
  const segments = [msh, msa];
  for (const problem of errors) segments.push(errSegment(problem, 'E', version, d));
  for (const warning of result.warnings) segments.push(errSegment(warning, 'W', version, d));
  return `${segments.join('\r')}\r`;
}

/** An ACK for a frame the gateway failed to record (nothing committed): AR, 207 — the sender resends later. */
export function buildTransportNack(raw: Buffer | undefined, reason: string, at: Date = new Date()): string {
  return buildAck(raw ?? Buffer.alloc(0), refusal('PAGW_INTERNAL', reason), at);
}

/**
 * The ACK for a frame over the size limit: AE (resending the same frame cannot help), ERR-3 104 "value too
 * long", ERR-5 PAGW_INBOUND_TOO_LARGE, ERR-8 the limit and the size seen. `head` is the frame's first bytes,
 * so the ACK names MSH-10 in the sender's own delimiters.
 */
export function buildTooLargeAck(head: Buffer, bytes: number, limit: number, at: Date = new Date()): string {
  return buildAck(
    head,
    refusal(
      'PAGW_INBOUND_TOO_LARGE',
      `the message exceeds the limit of ${limit} bytes (at least ${bytes} bytes received): split it or raise mllp.maxMessageBytes`,
    ),
    at,
  );
}

function refusal(code: 'PAGW_INTERNAL' | 'PAGW_INBOUND_TOO_LARGE', reason: string): InboundResult {
  return {
    outcome: 'rejected',
    duplicate: false,
    format: 'hl7v2',
    messageKey: '',
    sender: '',
    caseIds: [],
    errorCode: code,
    problems: [{ code, severity: 'error', location: 'MSH', message: reason, hl7: { segment: 'MSH' } }],
    warnings: [],
  };
}
