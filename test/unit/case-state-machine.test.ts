import { describe, expect, it } from 'vitest';
import { StateTransitionError } from '../../src/errors/index.ts';
import {
  type CaseEventType,
  type CaseState,
  caseEventTypes,
  caseStates,
  nextCaseState,
  terminalStates,
} from '../../src/workflow/case-state-machine.ts';

/** The full transition table, written out independently of the implementation's data structure. */
const expectedLegal: Record<string, CaseState> = {
  'received/validated': 'validated',
  'received/rejected': 'rejected',
  'received/cancelled': 'cancelled',
  'validated/eligibility_checked': 'eligibility_checked',
  'validated/pa_not_required': 'not_required',
  'validated/rejected': 'rejected',
  'validated/failed': 'failed',
  'validated/cancelled': 'cancelled',
  'eligibility_checked/review_requested': 'awaiting_review',
  'eligibility_checked/submitted': 'submitted',
  'eligibility_checked/pa_not_required': 'not_required',
  'eligibility_checked/rejected': 'rejected',
  'eligibility_checked/failed': 'failed',
  'eligibility_checked/cancelled': 'cancelled',
  'awaiting_review/submitted': 'submitted',
  'awaiting_review/review_escalated': 'awaiting_review',
  'awaiting_review/changes_requested': 'awaiting_review',
  'awaiting_review/criteria_answered': 'awaiting_review',
  'submitted/review_reopened': 'awaiting_review',
  'awaiting_review/rejected': 'rejected',
  'awaiting_review/failed': 'failed',
  'awaiting_review/cancelled': 'cancelled',
  'submitted/pended': 'pended',
  'submitted/decided': 'decided',
  'submitted/rejected': 'rejected',
  'submitted/failed': 'failed',
  'submitted/cancelled': 'cancelled',
  'pended/decided': 'decided',
  'pended/rejected': 'rejected',
  'pended/failed': 'failed',
  'pended/cancelled': 'cancelled',
  'pended/sla_warning': 'pended',
  'pended/sla_breached': 'pended',
  'pended/information_requested': 'pended',
  'pended/documents_sent': 'pended',
  'delivered/appeal_submitted': 'delivered',
  'delivered/appeal_decided': 'delivered',
  'decided/decision_updated': 'decided',
  'delivered/decision_updated': 'delivered',
  'decided/delivered': 'delivered',
  'failed/resubmitted': 'submitted',
  // A changed order from the EHR: re-run before the payer has it, sent to the payer as an update once it does.
  'validated/order_changed': 'validated',
  'eligibility_checked/order_changed': 'validated',
  'awaiting_review/order_changed': 'validated',
  'failed/order_changed': 'validated',
  'submitted/resubmitted': 'submitted',
  'pended/resubmitted': 'submitted',
  'failed/retried': 'validated',
  'failed/cancelled': 'cancelled',
};

const allPairs = caseStates.flatMap((state) =>
  caseEventTypes.map((event) => [state, event] as [CaseState, CaseEventType]),
);

describe('case state machine', () => {
  it.each(allPairs.filter(([s, e]) => `${s}/${e}` in expectedLegal))('%s --%s--> allowed', (state, event) => {
    expect(nextCaseState(state, event)).toBe(expectedLegal[`${state}/${event}`]);
  });

  it.each(allPairs.filter(([s, e]) => !(`${s}/${e}` in expectedLegal)))(
    '%s --%s--> refused with a typed error',
    (state, event) => {
      expect(() => nextCaseState(state, event)).toThrow(StateTransitionError);
      try {
        nextCaseState(state, event);
      } catch (error) {
        expect((error as StateTransitionError).code).toBe('PAGW_CASE_ILLEGAL_TRANSITION');
        expect((error as StateTransitionError).message).toContain(
          `'${event}' is not allowed in state '${state}'`,
        );
      }
    },
  );

  it('leaves terminal states by no event at all (an appeal is recorded in place)', () => {
    for (const state of terminalStates) {
      const exits = caseEventTypes.filter(
        (event) => `${state}/${event}` in expectedLegal && expectedLegal[`${state}/${event}`] !== state,
      );
      expect(exits, state).toEqual([]);
    }
  });

  it('reaches every state from received', () => {
    const reached = new Set<CaseState>(['received']);
    let grew = true;
    while (grew) {
      grew = false;
      for (const [state, event] of allPairs) {
        if (!reached.has(state)) continue;
        try {
          const to = nextCaseState(state, event);
          if (!reached.has(to)) {
            reached.add(to);
            grew = true;
          }
        } catch {}
      }
    }
    expect([...reached].sort()).toEqual([...caseStates].sort());
  });
});
