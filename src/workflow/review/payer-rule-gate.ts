/**
 * The review gate of a case when no review policies are wired (src/wiring): the payer's rule asks for a reviewer's
 * approval, else none. Pure. Used by the case advancer (src/workers/case-advancer.ts).
 */
import type { Routing } from '../case-workflow.ts';
import type { GateSpec } from './gate.ts';

/** The gate when no review policies are wired: the payer's rule asks for a reviewer's approval. */
export function payerRuleGate(
  routing: Extract<Routing, { kind: 'routed' }>,
  submissionKey: string,
): GateSpec | null {
  if (!routing.reviewRequired) return null;
  return {
    reason: 'payer_rule',
    rolloutMode: 'auto',
    submissionKey,
    policyId: routing.ruleId ? `payer-rule:${routing.ruleId}` : 'payer-rule',
    policyVersion: routing.ruleVersion,
    requiredRole: 'reviewer',
    approvalsRequired: 1,
    severity: 'normal',
  };
}
