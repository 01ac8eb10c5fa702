/**
 * What a review decision must repeat and how it is read: the actions, the reject reasons, the binding check
 * (case version, patient, services), and the gate specs a decision reopens. Used by review-decisions.ts.
 */
import type { Problem } from '../errors/index.ts';
import type { CaseRecord, GateRecord } from '../store/index.ts';
import type { GateSpec } from '../workflow/review/gate.ts';
import { submissionKeyPattern } from '../workflow/review/submission-key.ts';

export const reviewActions = [
  'approve',
  'reject',
  'request_changes',
  'escalate',
  'submitted_externally',
] as const;
export type ReviewAction = (typeof reviewActions)[number];

/** Reasons a reviewer may give for a rejection: codes only, never free text. */
export const rejectReasonCodes = [
  'not_medically_necessary',
  'incomplete_documentation',
  'wrong_patient',
  'wrong_service',
  'duplicate_order',
  'coverage_issue',
  'cheaper_alternative',
  'other',
] as const;

export interface ReviewBody {
  action: ReviewAction;
  submissionKey?: unknown;
  caseVersion?: unknown;
  patientIdentifier?: { system?: unknown; value?: unknown };
  serviceCodes?: Array<{ system?: unknown; code?: unknown }>;
  reasonCode?: unknown;
  changes?: unknown;
  escalateTo?: unknown;
  draftAccepted?: unknown;
}

/** The gate of a case awaiting review that has none recorded (a case from before gates were recorded). */
export function implicitGate(record: CaseRecord, key: string): GateSpec {
  return {
    reason: 'payer_rule',
    rolloutMode: 'auto',
    submissionKey: key,
    policyId: 'payer-rule',
    policyVersion: record.ruleVersion,
    requiredRole: 'reviewer',
    approvalsRequired: 1,
    severity: 'normal',
  };
}

function codeKey(system: unknown, code: unknown): string {
  return `${String(system)}|${String(code)}`;
}

/** What in the decision does not repeat the case's version, one of its patient identifiers and its services. */
export function bindingProblems(record: CaseRecord, body: ReviewBody): Problem[] {
  const problems: Problem[] = [];
  if (body.caseVersion !== record.version) {
    problems.push({
      location: 'caseVersion',
      message: `the case is at version ${record.version}; reload it and review again`,
    });
  }
  const id = body.patientIdentifier;
  const patientMatches =
    typeof id?.value === 'string' &&
    record.request.patient.identifiers.some(
      (known) => known.value === id.value && (id.system === undefined || id.system === known.system),
    );
  if (!patientMatches)
    problems.push({ location: 'patientIdentifier', message: 'does not identify this case’s patient' });
  const asked = new Set(record.request.serviceLines.map((l) => codeKey(l.code.system, l.code.code)));
  const given = new Set(
    (Array.isArray(body.serviceCodes) ? body.serviceCodes : []).map((c) => codeKey(c?.system, c?.code)),
  );
  if (asked.size !== given.size || [...asked].some((k) => !given.has(k))) {
    problems.push({ location: 'serviceCodes', message: 'must list exactly the services of this case' });
  }
  return problems;
}

/** A caller's key as the audit may hold it: only a well-formed key (anything else could carry anything). */
export function auditableKey(value: unknown): string {
  if (value === undefined) return 'absent';
  return typeof value === 'string' && submissionKeyPattern.test(value) ? value : 'malformed';
}

export function gateSpecOf(gate: GateRecord): GateSpec {
  return {
    reason: gate.reason,
    rolloutMode: gate.rolloutMode,
    submissionKey: gate.submissionKey,
    policyId: gate.policyId ?? null,
    policyVersion: gate.policyVersion ?? null,
    requiredRole: gate.requiredRole,
    approvalsRequired: gate.approvalsRequired,
    severity: gate.severity,
    expiresAt: gate.expiresAt ?? null,
    onExpiry: gate.onExpiry ?? null,
    escalateTo: gate.escalateTo ?? null,
    facts: gate.facts ?? {},
  };
}
