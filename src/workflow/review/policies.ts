/**
 * Review policies as data (review-policies/<tenant>.json, schemas/review-policies.json), evaluated. Pure:
 * the tenant's policy file and the derived facts go in; the rollout mode, the matching policy and the gate that
 * follows come out.
 *
 *   mode     the most careful rollout mode among the case's service lines (shadow > assistive > auto)
 *   policy   the first policy whose conditions all hold (file order)
 *   gate     shadow → a person submits (the policy's role, if one matched); a policy → its role, approvals,
 *            severity, expiry; else the payer's rule (a reviewer); else assistive → a reviewer; else none.
 */
import type { ReviewFacts } from './facts.ts';
import type { GateSpec } from './gate.ts';
import type { Condition, ReviewPolicy, ReviewPolicyFile, RolloutMode } from './types.generated.ts';

const HOUR = 3_600_000;
const modeRank: Record<RolloutMode, number> = { auto: 0, assistive: 1, shadow: 2 };

/** The rollout mode of a case: the most careful one among its lines' service categories. */
export function rolloutModeFor(
  file: ReviewPolicyFile | undefined,
  facts: Pick<ReviewFacts, 'serviceCategory'>,
): RolloutMode {
  if (!file) return 'auto';
  const byLine = file.rollout.serviceLines ?? {};
  const modes = facts.serviceCategory.map((c) => byLine[c]).filter((m): m is RolloutMode => m !== undefined);
  if (modes.length === 0) return file.rollout.default;
  return modes.reduce((a, b) => (modeRank[b] > modeRank[a] ? b : a));
}

/** Policy patterns are few and fixed (they come from the files): each is compiled once. */
const patterns = new Map<string, RegExp>();
function pattern(source: string): RegExp {
  let compiled = patterns.get(source);
  if (!compiled) {
    compiled = new RegExp(source);
    patterns.set(source, compiled);
  }
  return compiled;
}

function compare(
  operator: Condition['operator'],
  actual: string | number,
  expected: Condition['value'],
): boolean {
  switch (operator) {
    case 'equals':
      return typeof expected === 'number' ? Number(actual) === expected : String(actual) === String(expected);
    case 'in':
      return Array.isArray(expected) && expected.some((e) => String(e) === String(actual));
    case 'greater_than':
      return typeof actual === 'number' && typeof expected === 'number' && actual > expected;
    case 'less_than':
      return typeof actual === 'number' && typeof expected === 'number' && actual < expected;
    case 'regex':
      return typeof expected === 'string' && pattern(expected).test(String(actual));
  }
}

/** Whether a condition holds. A list fact holds when any of its values does; an unknown fact → `ifUnknown`. */
export function conditionHolds(condition: Condition, facts: ReviewFacts): boolean {
  const actual = facts[condition.fact];
  const values = Array.isArray(actual) ? actual : actual === undefined ? [] : [actual];
  if (values.length === 0) return condition.ifUnknown ?? false;
  return values.some((value) => compare(condition.operator, value, condition.value));
}

export function matchingPolicy(
  file: ReviewPolicyFile | undefined,
  facts: ReviewFacts,
): ReviewPolicy | undefined {
  return file?.policies.find((policy) => policy.when.every((c) => conditionHolds(c, facts)));
}

export interface GateInputs {
  readonly policies: ReviewPolicyFile | undefined;
  readonly facts: ReviewFacts;
  /** The payer's PA rule asks for a reviewer's approval (payers/*.json reviewPolicy). */
  readonly payerRuleReview: boolean;
  readonly payerRuleId?: string;
  readonly submissionKey: string;
  readonly at: Date;
}

/** The facts a gate records: everything but the lists that are empty. */
function recordedFacts(facts: ReviewFacts): Record<string, unknown> {
  return Object.fromEntries(Object.entries(facts).filter(([, v]) => !(Array.isArray(v) && v.length === 0)));
}

/** The gate a case needs before submission, or null to submit straight away. */
export function planGate(input: GateInputs): GateSpec | null {
  const { policies, facts, at } = input;
  const mode = rolloutModeFor(policies, facts);
  const policy = matchingPolicy(policies, facts);
  const common = {
    rolloutMode: mode,
    submissionKey: input.submissionKey,
    facts: recordedFacts(facts),
  };
  if (policy) {
    const expiry = policy.expiry;
    const spec: GateSpec = {
      ...common,
      reason: mode === 'shadow' ? 'shadow' : 'policy',
      policyId: policy.id,
      policyVersion: policies!.version,
      requiredRole: policy.require.role,
      approvalsRequired: policy.require.approvals ?? 1,
      severity: policy.severity ?? 'normal',
      expiresAt: expiry ? new Date(at.getTime() + expiry.hours * HOUR) : null,
      onExpiry: expiry?.then ?? null,
      escalateTo: expiry?.then === 'escalate' ? (expiry.escalateTo ?? 'medical_director') : null,
    };
    return spec;
  }
  const plain = { ...common, requiredRole: 'reviewer', approvalsRequired: 1 as const, severity: 'normal' };
  if (mode === 'shadow')
    return {
      ...plain,
      reason: 'shadow',
      policyId: 'rollout:shadow',
      policyVersion: policies?.version ?? null,
    };
  if (input.payerRuleReview) {
    return {
      ...plain,
      reason: 'payer_rule',
      policyId: input.payerRuleId ? `payer-rule:${input.payerRuleId}` : 'payer-rule',
      policyVersion: facts.ruleVersion,
    };
  }
  if (mode === 'assistive')
    return {
      ...plain,
      reason: 'assistive',
      policyId: 'rollout:assistive',
      policyVersion: policies?.version ?? null,
    };
  return null;
}
