/**
 * The case as it will be after a transition, computed before transitionCase writes it, so the outbound messages
 * can go into that same transaction's outbox. Mirrors src/store/cases.ts: state from the state machine, version + 1,
 * patched columns replaced, updatedAt = at. Pure.
 */
import type { CasePatch, CaseRecord } from '../store/cases.ts';
import { type CaseEventType, nextCaseState } from '../workflow/case-state-machine.ts';

export function caseAfterTransition(
  before: CaseRecord,
  event: CaseEventType,
  patch: CasePatch | undefined,
  at: Date,
): CaseRecord {
  const after: CaseRecord = {
    ...before,
    state: nextCaseState(before.state, event),
    version: before.version + 1,
    updatedAt: at,
  };
  if (patch?.decision !== undefined) after.decision = patch.decision;
  if (patch?.payerId !== undefined) after.payerId = patch.payerId;
  if (patch?.channel !== undefined) after.channel = patch.channel;
  if (patch?.ruleVersion !== undefined) after.ruleVersion = patch.ruleVersion;
  if (patch?.slaDueAt !== undefined) after.slaDueAt = patch.slaDueAt;
  return after;
}
