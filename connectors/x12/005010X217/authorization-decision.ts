/**
 * A 278 response as the canonical AuthorizationDecision: the outcome of each HCR01 review action (A1 approved,
 * A2/A6 modified, A3 denied, A4/CT pended, C cancelled), event-level (2000E) over service-level (2000F) decisions,
 * certification numbers (HCR02, REF*BB), reasons (HCR03), certified periods and quantities, and the documents a
 * pended review asks for (PWK). Its own module: it reads only the ServicesReview, never the segments.
 *
 * @see ASC X12N 005010X217, loops 2000E/2000F, HCR, REF, DTP, HSD, PWK, MSG
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
import { codeTable, reportTypeCodes, x12CodeSystem } from '../code-lists.ts';
import type { ReviewDecisionSegment, ReviewLevel, ServicesReview } from './services-review.ts';

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
