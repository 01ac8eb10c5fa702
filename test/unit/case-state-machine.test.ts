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
  'decided/decision_updated': 'decided',
  'decided/delivered': 'delivered',
  'failed/resubmitted': 'submitted',
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

  it('leaves terminal states by no event at all', () => {
    for (const state of terminalStates) {
      const exits = caseEventTypes.filter((event) => `${state}/${event}` in expectedLegal);
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
