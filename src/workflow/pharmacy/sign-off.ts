/**
 * A drafted pharmacy request always stops for a pharmacist before it goes to the payer (issue #15): whatever the
 * tenant's review policies say, the gate of such a case requires at least the `pharmacist` role — a gate asking for
 * a plain `reviewer` becomes a pharmacist's, one asking for more (a medical director) stays as it is, and no gate
 * becomes one. The gate records the checklist's summary and the criteria it could not decide, so the reviewer (and
 * the audit) sees what is unknown. Pure.
 *
 * The unknown and unmet criteria are listed on the gate (`facts.draft.unknown` / `notMet`, criterion ids); unknown
 * ones also open a `criteria_unknown` task (./unknown-criteria.ts) that must be resolved before approval.
 */
import type { AuthorizationRequest } from '../../canonical/index.ts';
import type { GateSpec } from '../review/gate.ts';

export const PHARMACIST_SIGN_OFF_POLICY = 'pharmacy:pharmacist-sign-off';

/** A request drafted from a pharmacy PA flag (src/workflow/pharmacy/draft.ts). */
export function isDraftedPharmacyRequest(request: AuthorizationRequest): boolean {
  return (
    request.coverage.pharmacyBenefit !== undefined &&
    request.serviceLines.some((l) => l.prescription !== undefined) &&
    request.idempotencyKey.startsWith('pharmacy:')
  );
}

/** How sure the draft is: the share of criteria met (0–1); undefined without a checklist. For review facts. */
export function draftConfidenceOf(request: AuthorizationRequest): number | undefined {
  const checklist = request.clinicalCriteria;
  if (!checklist || checklist.items.length === 0) return undefined;
  return Math.round((checklist.summary.met / checklist.items.length) * 100) / 100;
}

function draftFacts(request: AuthorizationRequest): Record<string, unknown> {
  const checklist = request.clinicalCriteria;
  if (!checklist) return { draft: { criteriaId: null, note: 'no criteria on file for this drug' } };
  return {
    draft: {
      criteriaId: checklist.criteriaId,
      version: checklist.version,
      ...checklist.summary,
      unknown: checklist.items.filter((i) => i.status === 'unknown').map((i) => i.id),
      notMet: checklist.items.filter((i) => i.status === 'not_met').map((i) => i.id),
    },
  };
}

/** The gate a drafted pharmacy request needs, given the one the policies chose (or null). Other requests: as is. */
export function withPharmacistSignOff(
  gate: GateSpec | null,
  request: AuthorizationRequest,
  submissionKey: string,
): GateSpec | null {
  if (!isDraftedPharmacyRequest(request)) return gate;
  const facts = { ...(gate?.facts ?? {}), ...draftFacts(request) };
  const open = request.clinicalCriteria
    ? request.clinicalCriteria.summary.notMet + request.clinicalCriteria.summary.unknown
    : 1;
  if (gate === null)
    return {
      reason: 'policy',
      rolloutMode: 'auto',
      submissionKey,
      policyId: PHARMACIST_SIGN_OFF_POLICY,
      policyVersion: request.clinicalCriteria?.version ?? null,
      requiredRole: 'pharmacist',
      approvalsRequired: 1,
      severity: open > 0 ? 'high' : 'normal',
      facts,
    };
  return {
    ...gate,
    requiredRole: gate.requiredRole === 'reviewer' ? 'pharmacist' : gate.requiredRole,
    facts,
  };
}
