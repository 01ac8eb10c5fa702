/**
 * Reads a 271 Health Care Eligibility Benefit Response into coverage status, plan dates, benefits with the
 * authorization-required indicator (EB11) per service type, and AAA rejections at every level.
 *
 * Loops: 2000A/2100A information source (payer), 2000B/2100B information receiver (provider),
 * 2000C/2100C subscriber, 2000D/2100D dependent, 2110C/2110D eligibility or benefit information (EB),
 * 2120C/2120D benefit related entity (LS…LE).
 * @see ASC X12N 005010X279A1 Health Care Eligibility Benefit Inquiry and Response (270/271), section 2.4 (271)
 */
import type { Period } from '../../../src/canonical/types.generated.ts';
import { activeBenefitCodes, benefitCodes, codeTable, inactiveBenefitCodes } from '../code-lists.ts';
import type { X12Diagnostic } from '../diagnostics.ts';
import type { Segment, TransactionSet, X12Document } from '../reader.ts';
import {
  buildHlTree,
  type Entity,
  type EntityName,
  el,
  type HlNode,
  type RequestRejection,
  readAaa,
  readEntity,
  SetContext,
  splitEntities,
} from '../transaction.ts';
import { type TransactionRef, transactionRef } from '../transaction-ref.ts';

export interface EligibilityParty {
  readonly entityCode: string;
  readonly name?: EntityName;
  readonly organizationName?: string;
  readonly idQualifier?: string;
  readonly id?: string;
}

export interface EligibilityMember extends EligibilityParty {
  readonly birthDate?: string;
  readonly sex?: 'male' | 'female' | 'unknown';
}

export interface Benefit {
  /** EB01, element 1390 (1 active … 6 inactive, B co-payment, P disclaimer …). */
  readonly code: string;
  readonly meaning?: string;
  readonly loop: string;
  readonly coverageLevel?: string;
  /** EB03 service type codes (element 1365), repetitions split. */
  readonly serviceTypes: string[];
  readonly insuranceType?: string;
  readonly planDescription?: string;
  readonly timePeriod?: string;
  readonly amount?: number;
  readonly percent?: number;
  readonly quantityQualifier?: string;
  readonly quantity?: number;
  /** EB11: true Y (authorization required), false N, undefined U or absent. */
  readonly authorizationRequired?: boolean;
  /** EB12: Y in network, N out of network, W not applicable, U unknown. */
  readonly inNetwork?: string;
  readonly procedure?: { qualifier: string; code: string };
  readonly dates: { qualifier: string; period: Period }[];
  readonly messages: string[];
}

export type CoverageStatus = 'active' | 'inactive' | 'unknown';

export interface EligibilityResponse {
  readonly kind: '271';
  readonly transaction: TransactionRef;
  readonly payer?: EligibilityParty;
  readonly receiver?: EligibilityParty;
  readonly subscriber?: EligibilityMember;
  readonly dependent?: EligibilityMember;
  /** TRN02 of the subscriber/dependent level (TRN01 2 echoes ours, 1 is the payer's own). */
  readonly traceNumbers: { type: string; number: string; originator?: string }[];
  /** Coverage of the patient (the dependent when there is one): EB01 1-5 active, 6-8 inactive. */
  readonly coverage: CoverageStatus;
  /** `rejected` when AAA rejections stand and no coverage could be read. */
  readonly status: CoverageStatus | 'rejected';
  readonly planName?: string;
  readonly planPeriod?: Period;
  readonly eligibilityPeriod?: Period;
  readonly dates: { qualifier: string; period: Period; loop: string }[];
  readonly benefits: Benefit[];
  /** EB11 per service type, from the patient's benefits: the payer's "authorization required" flag. */
  readonly authorizationRequired: { serviceType: string; required: boolean; benefitCode: string }[];
  readonly rejections: RequestRejection[];
  readonly diagnostics: X12Diagnostic[];
}

const loops271: Record<string, string> = codeTable({
  '20': '2000A',
  '21': '2000B',
  '22': '2000C',
  '23': '2000D',
});

function party(entity: Entity | undefined): EligibilityParty | undefined {
  if (!entity) return undefined;
  return {
    entityCode: entity.code,
    ...(entity.name ? { name: entity.name } : {}),
    ...(entity.organizationName ? { organizationName: entity.organizationName } : {}),
    ...(entity.idQualifier ? { idQualifier: entity.idQualifier } : {}),
    ...(entity.id ? { id: entity.id } : {}),
  };
}

function member(entity: Entity | undefined): EligibilityMember | undefined {
  const base = party(entity);
  if (!base || !entity) return undefined;
  return {
    ...base,
    ...(entity.birthDate ? { birthDate: entity.birthDate } : {}),
    ...(entity.sex ? { sex: entity.sex } : {}),
  };
}

function numberOf(value: string): number | undefined {
  if (value === '' || !/^-?\d*\.?\d+$/.test(value)) return undefined;
  return Number(value);
}

interface LevelRead {
  entity?: Entity;
  benefits: Benefit[];
  dates: { qualifier: string; period: Period; loop: string }[];
  rejections: RequestRejection[];
  traces: { type: string; number: string; originator?: string }[];
}

function readLevel(ctx: SetContext, node: HlNode, entityLoop: string, benefitLoop: string): LevelRead {
  const { head, groups } = splitEntities(node.segments);
  const read: LevelRead = { benefits: [], dates: [], rejections: [], traces: [] };
  for (const segment of head) {
    if (segment.tag === 'TRN') {
      read.traces.push({
        type: el(segment, 1),
        number: el(segment, 2),
        ...(el(segment, 3) ? { originator: el(segment, 3) } : {}),
      });
    } else if (segment.tag === 'AAA') read.rejections.push(readAaa(segment, node.loop));
  }
  const first = groups[0];
  if (!first) return read;
  read.entity = readEntity(ctx, first.nm1, first.rest, entityLoop);
  let benefit: { eb: Segment; dates: Benefit['dates']; messages: string[] } | undefined;
  const flush = () => {
    if (!benefit) return;
    read.benefits.push(readBenefit(ctx, benefit.eb, benefit.dates, benefit.messages, benefitLoop));
    benefit = undefined;
  };
  let depth = 0;
  for (const segment of first.rest) {
    if (segment.tag === 'LS') depth++;
    if (segment.tag === 'LE') {
      depth = Math.max(0, depth - 1);
      continue;
    }
    if (depth > 0) continue;
    if (segment.tag === 'EB') {
      flush();
      benefit = { eb: segment, dates: [], messages: [] };
      continue;
    }
    const loop = benefit ? benefitLoop : entityLoop;
    if (segment.tag === 'AAA') read.rejections.push(readAaa(segment, loop));
    else if (segment.tag === 'DTP') {
      const period = ctx.dtpPeriod(segment, loop);
      if (!period) continue;
      if (benefit) benefit.dates.push({ qualifier: el(segment, 1), period });
      else read.dates.push({ qualifier: el(segment, 1), period, loop });
    } else if (segment.tag === 'MSG' && benefit) benefit.messages.push(el(segment, 1));
  }
  flush();
  return read;
}

function readBenefit(
  ctx: SetContext,
  eb: Segment,
  dates: Benefit['dates'],
  messages: string[],
  loop: string,
): Benefit {
  const code = el(eb, 1);
  const meaning = benefitCodes[code];
  if (!meaning)
    ctx.add('warning', 'EB01_UNKNOWN', 'EB01 is not an eligibility or benefit information code', eb, 1, loop);
  const eb11 = el(eb, 11);
  const amount = numberOf(el(eb, 7));
  const percent = numberOf(el(eb, 8));
  const quantity = numberOf(el(eb, 10));
  const procedureParts = el(eb, 13) ? ctx.components(el(eb, 13)) : [];
  return {
    code,
    ...(meaning ? { meaning } : {}),
    loop,
    ...(el(eb, 2) ? { coverageLevel: el(eb, 2) } : {}),
    serviceTypes: ctx.repetitions(el(eb, 3)),
    ...(el(eb, 4) ? { insuranceType: el(eb, 4) } : {}),
    ...(el(eb, 5) ? { planDescription: el(eb, 5) } : {}),
    ...(el(eb, 6) ? { timePeriod: el(eb, 6) } : {}),
    ...(amount !== undefined ? { amount } : {}),
    ...(percent !== undefined ? { percent } : {}),
    ...(el(eb, 9) ? { quantityQualifier: el(eb, 9) } : {}),
    ...(quantity !== undefined ? { quantity } : {}),
    ...(eb11 === 'Y'
      ? { authorizationRequired: true }
      : eb11 === 'N'
        ? { authorizationRequired: false }
        : {}),
    ...(el(eb, 12) ? { inNetwork: el(eb, 12) } : {}),
    ...(procedureParts.length >= 2
      ? { procedure: { qualifier: procedureParts[0]!, code: procedureParts[1]! } }
      : {}),
    dates,
    messages,
  };
}

function coverageOf(benefits: readonly Benefit[]): CoverageStatus {
  // The plan-level answer (service type 30, or no service type) decides; otherwise any active line does.
  const planLevel = benefits.filter(
    (b) =>
      (activeBenefitCodes.has(b.code) || inactiveBenefitCodes.has(b.code)) &&
      (b.serviceTypes.length === 0 || b.serviceTypes.includes('30')),
  );
  const decisive = planLevel.length > 0 ? planLevel : benefits;
  if (decisive.some((b) => activeBenefitCodes.has(b.code))) return 'active';
  if (decisive.some((b) => inactiveBenefitCodes.has(b.code))) return 'inactive';
  return 'unknown';
}

function periodFromDates(
  dates: readonly { qualifier: string; period: Period }[],
  single: string,
  begin: string,
  end: string,
): Period | undefined {
  const whole = dates.find((d) => d.qualifier === single);
  if (whole) return whole.period;
  const start = dates.find((d) => d.qualifier === begin)?.period.start;
  const stop = dates.find((d) => d.qualifier === end)?.period.end;
  if (!start && !stop) return undefined;
  return { ...(start ? { start } : {}), ...(stop ? { end: stop } : {}) };
}

export function read271(doc: X12Document, set: TransactionSet): EligibilityResponse {
  const ctx: SetContext = new SetContext(doc, set);
  if (set.version.startsWith('004010')) {
    ctx.add(
      'info',
      'VERSION_4010',
      'A 4010 (004010X092A1) 271 read with the 005010X279A1 reader',
      set.header,
      3,
    );
  } else if (set.version !== '005010X279A1') {
    ctx.add('warning', 'VERSION', 'The set is not 005010X279A1; read as if it were', set.header, 3);
  }
  const bht = set.segments[0];
  if (bht?.tag !== 'BHT')
    ctx.fail('PAGW_X12_MISSING_SEGMENT', 'The 271 has no BHT after ST', bht ?? set.header);
  if (!['0022'].includes(el(bht, 1)))
    ctx.add(
      'warning',
      'BHT01',
      'BHT01 should be 0022 (information source, receiver, subscriber, dependent)',
      bht,
      1,
    );
  if (el(bht, 2) !== '11') ctx.add('warning', 'BHT02', 'BHT02 should be 11 (response)', bht, 2);

  const tree = buildHlTree(ctx, (level) => loops271[level] ?? `HL${level}`);
  const source = tree.nodes.find((n) => n.level === '20');
  if (!source)
    ctx.fail(
      'PAGW_X12_MISSING_SEGMENT',
      'The 271 has no information source level (HL03 20)',
      bht,
      undefined,
      '2000A',
    );
  const receiverNode = tree.nodes.find((n) => n.level === '21');
  const subscriberNode = tree.nodes.find((n) => n.level === '22');
  const dependentNode = tree.nodes.find((n) => n.level === '23');

  const sourceRead = readLevel(ctx, source, '2100A', '2110A');
  const receiverRead = receiverNode ? readLevel(ctx, receiverNode, '2100B', '2110B') : undefined;
  const subscriberRead = subscriberNode ? readLevel(ctx, subscriberNode, '2100C', '2110C') : undefined;
  const dependentRead = dependentNode ? readLevel(ctx, dependentNode, '2100D', '2110D') : undefined;

  const patient = dependentRead?.benefits.length ? dependentRead : (subscriberRead ?? dependentRead);
  const benefits = [...(subscriberRead?.benefits ?? []), ...(dependentRead?.benefits ?? [])];
  const patientBenefits = patient?.benefits ?? [];
  const coverage = coverageOf(patientBenefits);
  const rejections = [sourceRead, receiverRead, subscriberRead, dependentRead].flatMap(
    (r) => r?.rejections ?? [],
  );
  const dates = [...(subscriberRead?.dates ?? []), ...(dependentRead?.dates ?? [])];
  const patientDates = patient?.dates ?? dates;
  const planPeriod =
    periodFromDates(patientDates, '291', '346', '347') ?? periodFromDates(dates, '291', '346', '347');
  const eligibilityPeriod =
    periodFromDates(patientDates, '307', '356', '357') ?? periodFromDates(dates, '307', '356', '357');
  const planName = patientBenefits.find(
    (b) => activeBenefitCodes.has(b.code) && b.planDescription,
  )?.planDescription;

  const authorizationRequired: EligibilityResponse['authorizationRequired'] = [];
  for (const b of patientBenefits) {
    if (b.authorizationRequired === undefined) continue;
    for (const serviceType of b.serviceTypes.length ? b.serviceTypes : ['30']) {
      authorizationRequired.push({ serviceType, required: b.authorizationRequired, benefitCode: b.code });
    }
  }

  const payerParty = party(sourceRead.entity);
  const receiverParty = party(receiverRead?.entity);
  const subscriber = member(subscriberRead?.entity);
  const dependent = member(dependentRead?.entity);
  return {
    kind: '271',
    transaction: transactionRef(set),
    ...(payerParty ? { payer: payerParty } : {}),
    ...(receiverParty ? { receiver: receiverParty } : {}),
    ...(subscriber ? { subscriber } : {}),
    ...(dependent ? { dependent } : {}),
    traceNumbers: [...(subscriberRead?.traces ?? []), ...(dependentRead?.traces ?? [])],
    coverage,
    status: coverage === 'unknown' && rejections.length > 0 ? 'rejected' : coverage,
    ...(planName ? { planName } : {}),
    ...(planPeriod ? { planPeriod } : {}),
    ...(eligibilityPeriod ? { eligibilityPeriod } : {}),
    dates,
    benefits,
    authorizationRequired,
    rejections,
    diagnostics: ctx.diagnostics,
  };
}
