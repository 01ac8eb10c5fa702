/**
 * The review gate, decided: whether a case that passed eligibility goes straight to the payer or stops for a
 * person, and what that person must be (role, how many, by when). Pure: the tenant's review policies, the
 * payer's rule and the derived facts go in; a gate spec (or "submit") comes out. The case advancer records the
 * spec as a review_gates row with the case's `review_requested` event.
 */

import type { RolloutMode } from './types.generated.ts';

export type { RolloutMode } from './types.generated.ts';

/** Why a gate opened. */
export type GateReason =
  | 'policy'
  | 'payer_rule'
  | 'assistive'
  | 'shadow'
  | 'escalation'
  | 'changes'
  | 'key_mismatch'
  /** The EHR changed the order after it was submitted, and the changed request needs a review (order-changes). */
  | 'order_changed';

export interface GateSpec {
  readonly reason: GateReason;
  readonly rolloutMode: RolloutMode;
  /** The submission key of the request as it stands when the gate opens: what an approval binds to. */
  readonly submissionKey: string;
  readonly policyId?: string | null;
  readonly policyVersion?: string | null;
  /** The role a decider must hold (`reviewer` = any reviewing role). */
  readonly requiredRole: string;
  /** Distinct people who must approve (1 or 2). */
  readonly approvalsRequired: 1 | 2;
  readonly severity: string;
  readonly expiresAt?: Date | null;
  /** At expiry: reject the case, or escalate it to `escalateTo`. */
  readonly onExpiry?: 'reject' | 'escalate' | null;
  readonly escalateTo?: string | null;
  /** The derived facts the decision was made on (codes, amounts, classes: no PHI). */
  readonly facts?: Record<string, unknown>;
}

/** Roles that decide review gates. `reviewer` at a gate means any of them. */
export const reviewerRoles = ['reviewer', 'utilization_reviewer', 'medical_director', 'pharmacist'] as const;
export type ReviewerRole = (typeof reviewerRoles)[number];

/**
 * Whether a person holding `roles` may decide a gate requiring `required`. A licensed role (medical director,
 * pharmacist, utilization reviewer) must be held as such: `admin` runs the gateway but is no licence. A plain
 * `reviewer` gate takes any reviewing role, or admin.
 */
export function mayDecide(roles: readonly string[], required: string): boolean {
  if (required === 'reviewer')
    return roles.includes('admin') || roles.some((r) => (reviewerRoles as readonly string[]).includes(r));
  return roles.includes(required);
}

/** The role a person decided as at a gate: the required one, or their first reviewing role (admin last). */
export function decidingRole(roles: readonly string[], required: string): string {
  if (required !== 'reviewer') return required;
  return roles.find((r) => (reviewerRoles as readonly string[]).includes(r)) ?? 'admin';
}

const severityRank: Record<string, number> = { low: 0, normal: 1, high: 2, critical: 3 };

export function severityAtLeast(a: string, b: string): string {
  return (severityRank[a] ?? 1) >= (severityRank[b] ?? 1) ? a : b;
}
