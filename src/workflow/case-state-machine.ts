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
 * - review_approved / resubmitted both lead to `submitted`; the former from a review gate, the latter
 *   from `failed` after reconciliation with the payer showed no live submission.
 * - decision_updated keeps a decided case decided when the payer revises its answer (a PAS update, a later 278).
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
  submitted: { from: ['eligibility_checked', 'awaiting_review'], to: 'submitted' },
  resubmitted: { from: ['failed'], to: 'submitted' },
  pended: { from: ['submitted'], to: 'pended' },
  decided: { from: ['submitted', 'pended'], to: 'decided' },
  decision_updated: { from: ['decided'], to: 'decided' },
  delivered: { from: ['decided'], to: 'delivered' },
  failed: {
    from: ['validated', 'eligibility_checked', 'awaiting_review', 'submitted', 'pended'],
    to: 'failed',
  },
  retried: { from: ['failed'], to: 'validated' },
  cancelled: { from: activeCaseStates, to: 'cancelled' },
} as const satisfies Record<string, { from: readonly CaseState[]; to: CaseState }>;

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
  return rule.to;
}

export function isCaseState(value: string): value is CaseState {
  return (caseStates as readonly string[]).includes(value);
}
