/**
 * Reads a 278 Health Care Services Review — request (BHT02 13) or response (BHT02 11) — into its parties,
 * the patient event (2000E) and the services (2000F): UM review information, HCR decisions, REF numbers,
 * DTP periods, HI diagnoses, HSD quantities, SV1/SV2/SV3 procedures, PWK and MSG. A response also yields a
 * canonical AuthorizationDecision (see toAuthorizationDecision), with decisions at event and service level.
 * 278 inquiries and their responses (005010X215) share the layout and are read here too.
 *
 * Loops: 2000A/2010A UMO, 2000B/2010B requester, 2000C/2010C subscriber, 2000D/2010D dependent,
 * 2000E patient event (2010EA providers), 2000F service (2010F providers).
 * @see ASC X12N 005010X217 Health Care Services Review — Request for Review and Response (278)
 */
import type {
  AuthorizationDecision,
  Coding,
  LineDecision,
  Outcome,
  Period,
  Quantity,
  Reason,
  ReviewActionCode,
  ServiceLine,
} from '../../../src/canonical/types.generated.ts';
import { codeTable, reportTypeCodes, reviewActionCodes, x12CodeSystem } from '../code-lists.ts';
import type { X12Diagnostic } from '../diagnostics.ts';
import type { Segment, TransactionSet, X12Document } from '../reader.ts';
import {
  buildHlTree,
  diagnosisQualifiers,
  type Entity,
  type EntityName,
  el,
  type HlNode,
  icdWithDot,
  procedureSystem,
  type RequestRejection,
  readAaa,
  readEntity,
  SetContext,
  splitEntities,
} from '../transaction.ts';
import { type TransactionRef, transactionRef } from '../transaction-ref.ts';

export interface ReviewParty {
  readonly loop: string;
  readonly entityCode: string;
  readonly name?: EntityName;
  readonly organizationName?: string;
  readonly idQualifier?: string;
  readonly id?: string;
  readonly taxonomy?: string;
  readonly providerRole?: string;
  readonly birthDate?: string;
  readonly sex?: 'male' | 'female' | 'unknown';
  readonly relationship?: string;
  readonly address?: Entity['address'];
}

export interface ReviewDecisionSegment {
  /** HCR01, element 306. */
  readonly action: string;
  readonly actionText?: string;
  /** HCR02. */
  readonly certificationNumber?: string;
  /** HCR03 (code source 886). */
  readonly reason?: string;
  /** HCR04: second surgical opinion required. */
  readonly secondOpinion?: string;
}

export interface ReviewProcedure {
  readonly segment: 'SV1' | 'SV2' | 'SV3';
  readonly qualifier: string;
  readonly code: string;
  readonly system?: string;
  readonly modifiers: string[];
  readonly revenueCode?: string;
  readonly quantity?: number;
  readonly unit?: string;
}

export interface ReviewLevel {
  readonly loop: '2000E' | '2000F';
  readonly hlId: string;
  readonly traceNumbers: { type: string; number: string; originator?: string }[];
  readonly rejections: RequestRejection[];
  /** UM01 request category (AR admission, HS health services, SC specialty care). */
  readonly requestCategory?: string;
  /** UM02 certification type (I initial, 3 cancel, 4 extension, S revised …). */
  readonly certificationType?: string;
  /** UM03 service type (element 1365). */
  readonly serviceType?: string;
  /** UM04: facility code and its qualifier (B place of service, A bill type). */
  readonly facility?: { code: string; qualifier?: string };
  /** UM06 level of service (03 emergency, E elective, U urgent). */
  readonly levelOfService?: string;
  readonly review?: ReviewDecisionSegment;
  readonly references: { qualifier: string; value: string }[];
  /** REF*BB authorization number. */
  readonly authorizationNumber?: string;
  /** REF*NT administrative reference (pended cases). */
  readonly administrativeReference?: string;
  readonly periods: {
    event?: Period;
    admission?: Period;
    discharge?: Period;
    service?: Period;
    issue?: Period;
    effective?: Period;
    expiration?: Period;
  };
  readonly diagnoses: { qualifier: string; code: string; system: string; principal: boolean }[];
  /** HSD01/HSD02 (VS visits, DY days, UN units …). */
  readonly quantity?: { qualifier: string; value: number };
  readonly procedure?: ReviewProcedure;
  readonly paperwork: { reportType: string; transmission: string; controlNumber?: string }[];
  readonly messages: string[];
  readonly providers: ReviewParty[];
}

export interface ServicesReview {
  readonly kind: '278-request' | '278-response';
  readonly transaction: TransactionRef;
  /** BHT03: the submitter's reference, echoed in the response. */
  readonly reference: string;
  /** BHT04 as an ISO date. */
  readonly date?: string;
  readonly umo?: ReviewParty;
  readonly requester?: ReviewParty;
  readonly subscriber?: ReviewParty;
  readonly dependent?: ReviewParty;
  readonly rejections: RequestRejection[];
  readonly event?: ReviewLevel;
  readonly services: ReviewLevel[];
  /** TRN02 of the patient event: our trace number, echoed with TRN01 2 in a response. */
  readonly traceNumbers: string[];
  readonly diagnostics: X12Diagnostic[];
}

const loops278: Record<string, string> = codeTable({
  '20': '2000A',
  '21': '2000B',
  '22': '2000C',
  '23': '2000D',
  EV: '2000E',
  SS: '2000F',
});
const entityLoops: Record<string, string> = codeTable({
  '2000A': '2010A',
  '2000B': '2010B',
  '2000C': '2010C',
  '2000D': '2010D',
  '2000E': '2010EA',
  '2000F': '2010F',
});

function toParty(entity: Entity): ReviewParty {
  return {
    loop: entity.loop,
    entityCode: entity.code,
    ...(entity.name ? { name: entity.name } : {}),
    ...(entity.organizationName ? { organizationName: entity.organizationName } : {}),
    ...(entity.idQualifier ? { idQualifier: entity.idQualifier } : {}),
    ...(entity.id ? { id: entity.id } : {}),
    ...(entity.taxonomy ? { taxonomy: entity.taxonomy } : {}),
    ...(entity.providerRole ? { providerRole: entity.providerRole } : {}),
    ...(entity.birthDate ? { birthDate: entity.birthDate } : {}),
    ...(entity.sex ? { sex: entity.sex } : {}),
    ...(entity.relationship ? { relationship: entity.relationship } : {}),
    ...(entity.address ? { address: entity.address } : {}),
  };
}

function readPartyLevel(
  ctx: SetContext,
  node: HlNode,
): { party?: ReviewParty; rejections: RequestRejection[] } {
  const { head, groups } = splitEntities(node.segments);
  const rejections = head.filter((s) => s.tag === 'AAA').map((s) => readAaa(s, node.loop));
  const first = groups[0];
  if (!first) return { rejections };
  const loop = entityLoops[node.loop] ?? node.loop;
  const entity = readEntity(ctx, first.nm1, first.rest, loop);
  for (const s of first.rest) if (s.tag === 'AAA') rejections.push(readAaa(s, loop));
  return { party: toParty(entity), rejections };
}

function numberOf(value: string): number | undefined {
  return value !== '' && /^\d*\.?\d+$/.test(value) ? Number(value) : undefined;
}

const periodByQualifier: Record<string, keyof ReviewLevel['periods']> = codeTable({
  AAH: 'event',
  '435': 'admission',
  '096': 'discharge',
  '472': 'service',
  '102': 'issue',
  '007': 'effective',
  '036': 'expiration',
});

/** SV101-2 / SV202-2 / SV301-2: AN 1/48. */
const procedureCodeMax = 48;
/** PWK01 (X12 755) is two characters; the decision schema takes a code of up to 64. */
const reportTypeMax = 64;

function readProcedure(ctx: SetContext, segment: Segment, loop: string): ReviewProcedure | undefined {
  const tag = segment.tag as 'SV1' | 'SV2' | 'SV3';
  const compositeAt = tag === 'SV2' ? 2 : 1;
  const composite = el(segment, compositeAt);
  if (composite === '') {
    if (tag === 'SV2' && el(segment, 1)) {
      return {
        segment: tag,
        qualifier: '',
        code: '',
        modifiers: [],
        revenueCode: el(segment, 1),
        ...quantityOf(segment, tag),
      };
    }
    ctx.add('warning', 'PROCEDURE_MISSING', `${tag} has no procedure composite`, segment, compositeAt, loop);
    return undefined;
  }
  const [qualifier = '', code = '', ...rest] = ctx.components(composite);
  const modifiers = rest.slice(0, 4).filter((m) => m !== '');
  // The TR3 allows 1-48 characters (SV101-2 and peers); a longer or blank code is no code the canonical model
  // can carry, so the line keeps no coding rather than a value that fails the decision schema.
  const usable = code.trim() !== '' && code.length <= procedureCodeMax;
  if (!usable && code !== '') {
    ctx.add(
      'warning',
      'PROCEDURE_CODE_LENGTH',
      `${tag} procedure code is blank or longer than ${procedureCodeMax} characters; read without a code system`,
      segment,
      compositeAt,
      loop,
    );
  }
  const system = usable ? procedureSystem(qualifier, code) : undefined;
  return {
    segment: tag,
    qualifier,
    code,
    ...(system ? { system } : {}),
    modifiers,
    ...(tag === 'SV2' && el(segment, 1) ? { revenueCode: el(segment, 1) } : {}),
    ...quantityOf(segment, tag),
  };
}

function quantityOf(segment: Segment, tag: 'SV1' | 'SV2' | 'SV3'): { quantity?: number; unit?: string } {
  // SV1: SV103 unit, SV104 quantity. SV2: SV204 unit, SV205 quantity. SV3 carries no quantity here.
  const [unitAt, quantityAt] = tag === 'SV1' ? [3, 4] : tag === 'SV2' ? [4, 5] : [0, 0];
  if (!unitAt) return {};
  const quantity = numberOf(el(segment, quantityAt));
  const unit = el(segment, unitAt);
  return { ...(quantity !== undefined ? { quantity } : {}), ...(unit ? { unit } : {}) };
}

function readReviewLevel(ctx: SetContext, node: HlNode): ReviewLevel {
  const loop = node.loop as '2000E' | '2000F';
  const { head, groups } = splitEntities(node.segments);
  const level: {
    -readonly [K in keyof ReviewLevel]: ReviewLevel[K];
  } = {
    loop,
    hlId: node.id,
    traceNumbers: [],
    rejections: [],
    references: [],
    periods: {},
    diagnoses: [],
    paperwork: [],
    messages: [],
    providers: [],
  };
  for (const segment of head) {
    switch (segment.tag) {
      case 'TRN':
        level.traceNumbers.push({
          type: el(segment, 1),
          number: el(segment, 2),
          ...(el(segment, 3) ? { originator: el(segment, 3) } : {}),
        });
        break;
      case 'AAA':
        level.rejections.push(readAaa(segment, loop));
        break;
      case 'UM': {
        if (el(segment, 1)) level.requestCategory = el(segment, 1);
        if (el(segment, 2)) level.certificationType = el(segment, 2);
        if (el(segment, 3)) level.serviceType = ctx.repetitions(el(segment, 3))[0] ?? el(segment, 3);
        if (el(segment, 4)) {
          const [code = '', qualifier] = ctx.components(el(segment, 4));
          level.facility = { code, ...(qualifier ? { qualifier } : {}) };
        }
        if (el(segment, 6)) level.levelOfService = el(segment, 6);
        break;
      }
      case 'HCR': {
        const action = el(segment, 1);
        const actionText = reviewActionCodes[action];
        if (!actionText)
          ctx.add(
            'warning',
            'HCR01_UNKNOWN',
            'HCR01 is not a review action code (element 306)',
            segment,
            1,
            loop,
          );
        level.review = {
          action,
          ...(actionText ? { actionText } : {}),
          ...(el(segment, 2) ? { certificationNumber: el(segment, 2) } : {}),
          ...(el(segment, 3) ? { reason: el(segment, 3) } : {}),
          ...(el(segment, 4) ? { secondOpinion: el(segment, 4) } : {}),
        };
        break;
      }
      case 'REF': {
        const ref = { qualifier: el(segment, 1), value: el(segment, 2) };
        level.references.push(ref);
        if (ref.qualifier === 'BB') level.authorizationNumber = ref.value;
        if (ref.qualifier === 'NT') level.administrativeReference = ref.value;
        break;
      }
      case 'DTP': {
        const key = periodByQualifier[el(segment, 1)];
        const period = ctx.dtpPeriod(segment, loop);
        if (key && period) level.periods[key] = period;
        break;
      }
      case 'HI':
        for (let i = 1; i <= segment.elements.length; i++) {
          const value = el(segment, i);
          if (value === '') continue;
          const [qualifier = '', code = ''] = ctx.components(value);
          const known = diagnosisQualifiers[qualifier];
          if (!known) {
            ctx.add(
              'warning',
              'HI_QUALIFIER',
              'HI composite qualifier is not an ICD diagnosis qualifier',
              segment,
              i,
              loop,
            );
            continue;
          }
          level.diagnoses.push({
            qualifier,
            code: icdWithDot(code, known.system),
            system: known.system,
            principal: known.principal,
          });
        }
        break;
      case 'HSD': {
        const value = numberOf(el(segment, 2));
        if (el(segment, 1) && value !== undefined) level.quantity = { qualifier: el(segment, 1), value };
        break;
      }
      case 'SV1':
      case 'SV2':
      case 'SV3': {
        const procedure = readProcedure(ctx, segment, loop);
        if (procedure) level.procedure = procedure;
        break;
      }
      case 'PWK': {
        // PWK01 is a two-character report type code (X12 755); a blank or overlong one is no code the decision can
        // carry: the request still makes the case wait for documents, but is listed without a kind (warned) rather
        // than failing the decision schema (a fuzz finding).
        const reportType = el(segment, 1);
        const usableType = reportType.trim() !== '' && reportType.length <= reportTypeMax;
        if (!usableType && reportType !== '') {
          ctx.add(
            'warning',
            'PAPERWORK_REPORT_TYPE',
            `PWK01 report type is blank or longer than ${reportTypeMax} characters; the document asked for is not named`,
            segment,
            1,
            loop,
          );
        }
        level.paperwork.push({
          reportType: usableType ? reportType : '',
          transmission: el(segment, 2),
          // PWK05 AC: PWK06 is the attachment control number the documents are sent under (a 275's TRN02).
          ...(el(segment, 5) === 'AC' && el(segment, 6) ? { controlNumber: el(segment, 6) } : {}),
        });
        break;
      }
      case 'MSG':
        if (el(segment, 1)) level.messages.push(el(segment, 1));
        break;
    }
  }
  const providerLoop = entityLoops[loop] ?? loop;
  for (const group of groups) {
    const entity = readEntity(ctx, group.nm1, group.rest, providerLoop);
    level.providers.push(toParty(entity));
    for (const s of group.rest) if (s.tag === 'AAA') level.rejections.push(readAaa(s, providerLoop));
  }
  return level;
}

export function read278(doc: X12Document, set: TransactionSet): ServicesReview {
  const ctx: SetContext = new SetContext(doc, set);
  if (!['005010X217', '005010X215'].includes(set.version)) {
    ctx.add(
      'warning',
      'VERSION',
      'ST03/GS08 is neither 005010X217 nor 005010X215; read as 005010X217',
      set.header,
      3,
    );
  }
  if (set.group.version && set.group.version !== set.version && set.header.elements[2]) {
    ctx.add(
      'warning',
      'GS08_MISMATCH',
      'GS08 names another implementation guide than ST03',
      set.group.header ?? set.header,
      8,
    );
  }
  if (set.interchange.isa.version !== '00501') {
    ctx.add(
      'warning',
      'ISA12_VERSION',
      'ISA12 is not 00501 around a 5010 transaction set',
      set.interchange.header,
      12,
    );
  }
  const bht = set.segments[0];
  if (bht?.tag !== 'BHT')
    ctx.fail('PAGW_X12_MISSING_SEGMENT', 'The 278 has no BHT after ST', bht ?? set.header);
  const purpose = el(bht, 2);
  const tree = buildHlTree(ctx, (level) => loops278[level] ?? `HL${level}`);
  const hasHcr = set.segments.some((s) => s.tag === 'HCR');
  const isResponse = purpose === '11' || (purpose !== '13' && hasHcr);
  if (purpose !== '11' && purpose !== '13') {
    ctx.add('warning', 'BHT02', 'BHT02 is neither 13 (request) nor 11 (response)', bht, 2);
  }

  const byLevel = (level: string) => tree.nodes.find((n) => n.level === level);
  const rejections: RequestRejection[] = [];
  const party = (level: string) => {
    const node = byLevel(level);
    if (!node) return undefined;
    const read = readPartyLevel(ctx, node);
    rejections.push(...read.rejections);
    return read.party;
  };
  const umo = party('20');
  if (!byLevel('20'))
    ctx.fail('PAGW_X12_MISSING_SEGMENT', 'The 278 has no UMO level (HL03 20)', bht, undefined, '2000A');
  const requester = party('21');
  const subscriber = party('22');
  const dependent = party('23');
  const eventNode = byLevel('EV');
  const event = eventNode ? readReviewLevel(ctx, eventNode) : undefined;
  const services = tree.nodes.filter((n) => n.level === 'SS').map((n) => readReviewLevel(ctx, n));
  rejections.push(...(event?.rejections ?? []), ...services.flatMap((s) => s.rejections));
  if (!event && rejections.length === 0) {
    ctx.fail(
      'PAGW_X12_MISSING_SEGMENT',
      'The 278 has neither a patient event level (HL03 EV) nor an AAA rejection',
      bht,
      undefined,
      '2000E',
    );
  }
  const date = ctx.date(el(bht, 4), bht, 4);
  return {
    kind: isResponse ? '278-response' : '278-request',
    transaction: transactionRef(set),
    reference: el(bht, 3),
    ...(date ? { date } : {}),
    ...(umo ? { umo } : {}),
    ...(requester ? { requester } : {}),
    ...(subscriber ? { subscriber } : {}),
    ...(dependent ? { dependent } : {}),
    rejections,
    ...(event ? { event } : {}),
    services,
    traceNumbers: (event?.traceNumbers ?? []).map((t) => t.number),
    diagnostics: ctx.diagnostics,
  };
}

// ─── Response → canonical AuthorizationDecision ──────────────────────────────────────────────────

const outcomeOfAction: Record<string, Outcome> = codeTable({
  A1: 'approved',
  A2: 'modified',
  A3: 'denied',
  A4: 'pended',
  A6: 'modified',
  C: 'cancelled',
  CT: 'pended',
  NA: 'approved',
});
const knownActions = new Set<string>(Object.keys(outcomeOfAction));

function combine(outcomes: readonly Outcome[]): Outcome {
  if (outcomes.length === 0) return 'error';
  if (outcomes.includes('pended')) return 'pended';
  const unique = new Set(outcomes);
  return unique.size === 1 ? outcomes[0]! : 'modified';
}

function reasonOf(review: ReviewDecisionSegment | undefined): Reason[] {
  return review?.reason ? [{ system: x12CodeSystem.decisionReason, code: review.reason }] : [];
}

function certifiedPeriod(level: ReviewLevel): Period | undefined {
  const { effective, expiration, event, service } = level.periods;
  if (effective || expiration) {
    const start = effective?.start;
    const end = expiration?.end ?? expiration?.start;
    return { ...(start ? { start } : {}), ...(end ? { end } : {}) };
  }
  return event ?? service;
}

function lineQuantity(level: ReviewLevel): Quantity | undefined {
  const p = level.procedure;
  if (p?.quantity !== undefined && p.quantity > 0)
    return { value: p.quantity, ...(p.unit ? { unit: p.unit } : {}) };
  if (level.quantity && level.quantity.value > 0)
    return { value: level.quantity.value, unit: level.quantity.qualifier };
  return undefined;
}

export interface DecisionContext {
  /** The request's lines, to give each service decision the sequence of the line it answers. */
  readonly requestLines?: readonly ServiceLine[];
  /** When the decision was received (the clock); defaults to BHT04. */
  readonly decidedAt?: string;
  readonly rawMessageRef?: string;
  /** Payer id to report when the UMO (2010A NM109) is absent. */
  readonly payerId?: string;
}

/**
 * The canonical decision of a 278 response, or undefined when the response carries no HCR (AAA-only
 * rejections are not decisions). Event-level HCR sets the overall outcome; without it the service-level
 * outcomes are combined (any pended → pended, all equal → that, mixed → modified).
 */
export function toAuthorizationDecision(
  response: ServicesReview,
  context: DecisionContext = {},
): AuthorizationDecision | undefined {
  const { event, services } = response;
  const reviewed = services.filter((s) => s.review);
  if (!event?.review && reviewed.length === 0) return undefined;
  const actionOutcome = (level: ReviewLevel): Outcome | undefined =>
    level.review ? (outcomeOfAction[level.review.action] ?? 'error') : undefined;

  const unmatched = [...(context.requestLines ?? [])];
  const lines: LineDecision[] = [];
  services.forEach((service, index) => {
    let sequence = index + 1;
    const code = service.procedure;
    if (unmatched.length > 0) {
      const at = unmatched.findIndex((l) => code && l.code.code === code.code);
      const line = at >= 0 ? unmatched.splice(at, 1)[0]! : unmatched.shift()!;
      sequence = line.sequence;
    }
    const outcome = actionOutcome(service) ?? (event?.review ? actionOutcome(event)! : 'error');
    const coding: Coding | undefined =
      code?.system && code.code ? { system: code.system, code: code.code } : undefined;
    // Only a certification authorizes anything: denied or pended lines carry no authorized quantity or period.
    const authorizes = outcome === 'approved' || outcome === 'modified';
    const quantity = authorizes ? lineQuantity(service) : undefined;
    const period = authorizes ? certifiedPeriod(service) : undefined;
    const reasons = reasonOf(service.review);
    const action = service.review?.action ?? event?.review?.action;
    lines.push({
      sequence,
      outcome,
      ...(action && knownActions.has(action) ? { reviewActionCode: action as ReviewActionCode } : {}),
      ...(coding ? { code: coding } : {}),
      ...(service.review?.certificationNumber || service.authorizationNumber
        ? { certificationNumber: service.review?.certificationNumber ?? service.authorizationNumber }
        : {}),
      ...(quantity ? { authorizedQuantity: quantity } : {}),
      ...(period ? { authorizedPeriod: period } : {}),
      ...(reasons.length ? { reasons } : {}),
    });
  });

  const eventOutcome = event ? actionOutcome(event) : undefined;
  const outcome = eventOutcome ?? combine(lines.map((l) => l.outcome));
  const action = event?.review?.action ?? (reviewed.length === 1 ? reviewed[0]!.review!.action : undefined);
  const certificationNumber =
    event?.review?.certificationNumber ??
    event?.authorizationNumber ??
    reviewed.find((s) => s.review?.certificationNumber)?.review?.certificationNumber;
  const administrativeReference =
    event?.administrativeReference ??
    services.find((s) => s.administrativeReference)?.administrativeReference;
  const reasons: Reason[] = [];
  const seen = new Set<string>();
  for (const r of [...reasonOf(event?.review), ...services.flatMap((s) => reasonOf(s.review))]) {
    if (seen.has(r.code)) continue;
    seen.add(r.code);
    reasons.push(r);
  }
  const messages = [...(event?.messages ?? []), ...services.flatMap((s) => s.messages)];
  if (event?.quantity) {
    messages.push(`Event level (2000E HSD): ${event.quantity.value} ${event.quantity.qualifier}`);
  }
  const requested = [...(event?.paperwork ?? []), ...services.flatMap((s) => s.paperwork)];
  const paperwork = requested.length > 0;
  const documentsRequested = requested
    .filter((p) => p.reportType)
    .map((p) => ({
      type: {
        system: x12CodeSystem.reportType,
        code: p.reportType,
        ...(reportTypeCodes[p.reportType] ? { display: reportTypeCodes[p.reportType] } : {}),
      },
      ...(p.transmission ? { transmission: p.transmission } : {}),
      ...(p.controlNumber ? { attachmentControlNumber: p.controlNumber } : {}),
    }));
  const followUp: AuthorizationDecision['followUp'] =
    action === 'CT' ? 'contact_payer' : outcome === 'pended' && paperwork ? 'send_documentation' : 'none';
  const authorizedPeriod = event ? certifiedPeriod(event) : undefined;
  const decidedAt = context.decidedAt ?? response.date;
  const payerId = response.umo?.id ?? context.payerId;
  return {
    outcome,
    ...(action && knownActions.has(action) ? { reviewActionCode: action as ReviewActionCode } : {}),
    ...(certificationNumber ? { certificationNumber } : {}),
    ...(administrativeReference ? { administrativeReference } : {}),
    payer: {
      id: payerId ?? 'unknown',
      ...(response.umo?.organizationName ? { name: response.umo.organizationName } : {}),
    },
    channel: 'x12',
    ...(authorizedPeriod && outcome !== 'denied' && outcome !== 'pended' ? { authorizedPeriod } : {}),
    lines,
    reasons,
    ...(messages.length ? { messages } : {}),
    followUp,
    ...(outcome === 'pended' && documentsRequested.length ? { documentsRequested } : {}),
    decidedAt: decidedAt ?? '1970-01-01',
    ...(context.rawMessageRef ? { rawMessageRef: context.rawMessageRef } : {}),
  };
}
