/**
 * The case state machine. Pure: it says which event may move a case from which state to which, nothing else.
 * The store applies a transition (case row, case event, outbox rows, audit row) in one transaction.
 *
 *   received → validated → eligibility_checked → awaiting_review → submitted → pended → decided → delivered
 *   plus rejected, failed, cancelled and not_required.
 */
import { StateTransitionError } from '../errors/index.ts';

export const caseStates = [
  'received',
  'validated',
  'eligibility_checked',
  'awaiting_review',
  'submitted',
  'pended',
  'decided',
  'delivered',
  'rejected',
  'failed',
  'cancelled',
  'not_required',
] as const;
export type CaseState = (typeof caseStates)[number];

/** States a case never leaves. `failed` is not one of them: a failed case can be retried. */
export const terminalStates: ReadonlySet<CaseState> = new Set([
  'delivered',
  'rejected',
  'cancelled',
  'not_required',
]);

/** States in which a case is still being worked on (every state but the terminal ones). */
export const activeCaseStates: readonly CaseState[] = [
  'received',
  'validated',
  'eligibility_checked',
  'awaiting_review',
  'submitted',
  'pended',
  'failed',
];

/**
 * Event → the states it may start from, and where it leads. Events are named for what happened.
 * - review_approved / resubmitted both lead to `submitted`; the former from a review gate, the latter when the EHR
 *   changed an order the payer already holds (HL7 ORC-1 XO …; src/exceptions/order-changes.ts): from `submitted` or
 *   `pended`, or `failed` with a live submission at the payer. `submitted` means "to be sent": the submit step sends
 *   the change as an update of the live submission (X12 278 UM02 `S`, revised) — after a review gate when the
 *   changed request needs one (review_reopened) — and the payer's answer moves the case on as a submission's would.
 * - order_changed re-runs a case the payer does not hold yet with the changed request (a new version): routing,
 *   eligibility and review again from `validated`; an open gate is superseded (it was for the old request).
 * - review_escalated and changes_requested keep a case in review under a new gate (another role; an edited request
 *   with a new submission key): the version moves, so a screen showing the old gate is refused.
 * - criteria_answered keeps a drafted pharmacy request in review: a pharmacist supplied the evidence for criteria
 *   the record could not answer (its checklist changes, not what is authorized: the submission key stays).
 * - review_reopened sends an approved case back to review when the submission step finds the request no longer
 *   matches the key it was approved under (IDEMPOTENCY_KEY_MISMATCH).
 * - decision_updated records a payer's changed answer to a decided case (a later 278 inquiry that differs, a PAS
 *   notification whose $inquire does): the case stays where it is — decided, or delivered (terminal: like the appeal
 *   events it is recorded in place) — with the new decision, published like a decision.
 * - sla_warning and sla_breached keep a pended case pended: the payer's decision time (CMS-0057-F, from submission)
 *   is running out, or ran out. They move the version so the status event they publish orders after the others.
 * - information_requested keeps a pended case pended: a later status look (a 278 inquiry, a PAS $inquire or
 *   notification, a portal status page) asks for documents the case's decision did not ask for yet. It records the
 *   payer's new answer (published like the first pended one) and opens the documents task as a first answer asking
 *   for them does (src/workflow/information-requests.ts, src/exceptions/information-requests.ts).
 * - documents_sent keeps a pended case pended: the documents the payer asked for went to it (X12 275 …).
 * - appeal_submitted and appeal_decided keep a delivered case delivered: its denial was appealed, and the payer
 *   answered the appeal (the new decision replaces the case's; `first_outcome` keeps the original). A terminal state
 *   is never left; these are the only events that stay in one.
 */
export const caseTransitions = {
  validated: { from: ['received'], to: 'validated' },
  rejected: {
    from: ['received', 'validated', 'eligibility_checked', 'awaiting_review', 'submitted', 'pended'],
    to: 'rejected',
  },
  pa_not_required: { from: ['validated', 'eligibility_checked'], to: 'not_required' },
  eligibility_checked: { from: ['validated'], to: 'eligibility_checked' },
  review_requested: { from: ['eligibility_checked'], to: 'awaiting_review' },
  review_escalated: { from: ['awaiting_review'], to: 'awaiting_review' },
  changes_requested: { from: ['awaiting_review'], to: 'awaiting_review' },
  criteria_answered: { from: ['awaiting_review'], to: 'awaiting_review' },
  review_reopened: { from: ['submitted'], to: 'awaiting_review' },
  order_changed: { from: ['validated', 'eligibility_checked', 'awaiting_review', 'failed'], to: 'validated' },
  submitted: { from: ['eligibility_checked', 'awaiting_review'], to: 'submitted' },
  resubmitted: { from: ['failed', 'submitted', 'pended'], to: 'submitted' },
  pended: { from: ['submitted'], to: 'pended' },
  decided: { from: ['submitted', 'pended'], to: 'decided' },
  decision_updated: { from: ['decided', 'delivered'], to: 'unchanged' },
  sla_warning: { from: ['pended'], to: 'pended' },
  sla_breached: { from: ['pended'], to: 'pended' },
  information_requested: { from: ['pended'], to: 'pended' },
  documents_sent: { from: ['pended'], to: 'pended' },
  appeal_submitted: { from: ['delivered'], to: 'delivered' },
  appeal_decided: { from: ['delivered'], to: 'delivered' },
  delivered: { from: ['decided'], to: 'delivered' },
  failed: {
    from: ['validated', 'eligibility_checked', 'awaiting_review', 'submitted', 'pended'],
    to: 'failed',
  },
  retried: { from: ['failed'], to: 'validated' },
  cancelled: { from: activeCaseStates, to: 'cancelled' },
} as const satisfies Record<string, { from: readonly CaseState[]; to: CaseState | 'unchanged' }>;

export type CaseEventType = keyof typeof caseTransitions;
export const caseEventTypes = Object.keys(caseTransitions) as CaseEventType[];

export function canTransition(from: CaseState, event: CaseEventType): boolean {
  return (caseTransitions[event].from as readonly CaseState[]).includes(from);
}

/** The state a case moves to on `event`, or a StateTransitionError (PAGW_CASE_ILLEGAL_TRANSITION). */
export function nextCaseState(from: CaseState, event: CaseEventType): CaseState {
  const rule = caseTransitions[event];
  if (!rule) {
    throw new StateTransitionError('PAGW_CASE_ILLEGAL_TRANSITION', `Unknown case event '${String(event)}'`);
  }
  if (!canTransition(from, event)) {
    throw new StateTransitionError(
      'PAGW_CASE_ILLEGAL_TRANSITION',
      `Event '${event}' is not allowed in state '${from}' (allowed from: ${rule.from.join(', ')})`,
    );
  }
  // 'unchanged': an event recorded in place (decision_updated in decided or delivered).
  return rule.to === 'unchanged' ? from : rule.to;
}

export function isCaseState(value: string): value is CaseState {
  return (caseStates as readonly string[]).includes(value);
}
