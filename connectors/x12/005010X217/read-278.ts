/**
 * Reads a 278 Health Care Services Review — request (BHT02 13) or response (BHT02 11) — into its parties,
 * the patient event (2000E) and the services (2000F): UM review information, HCR decisions, REF numbers,
 * DTP periods, HI diagnoses, HSD quantities, SV1/SV2/SV3 procedures, PWK and MSG. A response also yields a
 * canonical AuthorizationDecision (see toAuthorizationDecision), with decisions at event and service level.
 * 278 inquiries and their responses (005010X215) share the layout and are read here too.
 *
 * Loops: 2000A/2010A UMO, 2000B/2010B requester, 2000C/2010C subscriber, 2000D/2010D dependent,
 * 2000E patient event (2010EA providers), 2000F service (2010F providers).
 *
 * This file reads the transaction set (BHT, the HL tree, which levels there are) and is the entry point; its
 * parts: services-review.ts (what a 278 reads to, re-exported here), read-parties.ts (2000A–2000D),
 * read-review-level.ts (2000E/2000F), read-procedure.ts (SV1/SV2/SV3) and authorization-decision.ts (a response
 * as the canonical AuthorizationDecision, re-exported here).
 *
 * @see ASC X12N 005010X217 Health Care Services Review — Request for Review and Response (278)
 */
import { codeTable } from '../code-lists.ts';
import type { TransactionSet, X12Document } from '../reader.ts';
import { buildHlTree, el, type RequestRejection, SetContext } from '../transaction.ts';
import { transactionRef } from '../transaction-ref.ts';
import { readPartyLevel } from './read-parties.ts';
import { readReviewLevel } from './read-review-level.ts';
import type { ServicesReview } from './services-review.ts';

export { type DecisionContext, toAuthorizationDecision } from './authorization-decision.ts';
export type {
  ReviewDecisionSegment,
  ReviewLevel,
  ReviewParty,
  ReviewProcedure,
  ServicesReview,
} from './services-review.ts';

const loops278: Record<string, string> = codeTable({
  '20': '2000A',
  '21': '2000B',
  '22': '2000C',
  '23': '2000D',
  EV: '2000E',
  SS: '2000F',
});

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
