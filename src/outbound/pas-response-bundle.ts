/**
 * The PAS response Bundle an EHR gets from `Claim/$submit` and `Claim/$inquire`: type collection, an identifier
 * and timestamp, the ClaimResponse FIRST (buildClaimResponse, the one builder), then the Patient, the insurer
 * and the requestor it refers to, each with a fullUrl. It passes the PAS response-bundle profile (and, through
 * the references, the Beneficiary, Insurer and Requestor profiles) before it is returned.
 *
 * Deterministic: fullUrls are `urn:uuid:` ids derived from the case id, so the same case answered twice at the
 * same version gives the same Bundle.
 * @see http://hl7.org/fhir/us/davinci-pas/StructureDefinition-profile-pas-response-bundle.html
 */
import type {
  Bundle,
  BundleEntry,
  ClaimResponse,
  HumanName,
  Organization,
  Patient,
} from '@medplum/fhirtypes';
import { type AuthorizationDecision, CodeSystem } from '../canonical/index.ts';
import { PasProfile, profileProblems, validateProfile } from '../profiles/index.ts';
import { deterministicUuid } from '../store/ids.ts';
import { type OutboundCase, type PayerInfo, resolvePayer } from './case-view.ts';
import { buildClaimResponse } from './claim-response.ts';
import { OutboundBuildError } from './errors.ts';
import { identifierSystem } from './ids.ts';
import { DATA_ABSENT_REASON, PAS_SD } from './pas-codes.ts';
import type { TenantSettings } from './types.generated.ts';

export interface PasResponseBundleInput {
  readonly caseRecord: OutboundCase;
  readonly tenant: Pick<TenantSettings, 'id' | 'fhir'>;
  readonly payer?: PayerInfo;
  readonly at: Date;
  /** Answer with this decision instead of the case's (see pendingDecision). */
  readonly decision?: AuthorizationDecision;
  /** `inquiry`: the answer to `Claim/$inquire` (PAS inquiry response bundle); default `submit`. */
  readonly kind?: 'submit' | 'inquiry';
}

/**
 * What an EHR is told about a case the payer has not answered yet (a `$submit` past its synchronous deadline,
 * an inquiry before the payer decided): pended, review action A4, the case id as the reference to ask again with.
 */
export function pendingDecision(
  caseRecord: OutboundCase,
  payer: PayerInfo,
  at: Date,
  channel: AuthorizationDecision['channel'] = 'pas',
): AuthorizationDecision {
  return {
    outcome: 'pended',
    reviewActionCode: 'A4',
    administrativeReference: caseRecord.id,
    payer: { id: payer.id, ...(payer.name ? { name: payer.name } : {}) },
    channel,
    lines: caseRecord.request.serviceLines.map((l) => ({
      sequence: l.sequence,
      outcome: 'pended' as const,
      reviewActionCode: 'A4' as const,
    })),
    reasons: [],
    messages: ['The request is with the payer; ask again with Claim/$inquire or subscribe for the decision'],
    decidedAt: at.toISOString(),
  };
}

const V2_0203 = 'http://terminology.hl7.org/CodeSystem/v2-0203';

function uuidFor(caseId: string, what: string): string {
  return `urn:uuid:${deterministicUuid('pas-response', caseId, what)}`;
}

function absentName(): HumanName {
  return { extension: [{ url: DATA_ABSENT_REASON, valueCode: 'unknown' }] };
}

function patientOf(caseRecord: OutboundCase, tenant: PasResponseBundleInput['tenant']): Patient {
  const p = caseRecord.request.patient;
  // Social security numbers never leave in an answer; the EHR knows the patient by its own identifiers.
  const identifiers = p.identifiers.filter((i) => i.type !== 'SS' && i.type !== 'SB');
  const name = p.name?.family || p.name?.given?.length ? p.name : undefined;
  return {
    resourceType: 'Patient',
    id: deterministicUuid('pas-response', caseRecord.id, 'patient'),
    meta: { profile: [`${PAS_SD}/profile-beneficiary`] },
    identifier: (identifiers.length
      ? identifiers
      : [{ value: caseRecord.request.coverage.memberId, type: 'MB' }]
    ).map((i) => ({
      ...(i.type ? { type: { coding: [{ system: V2_0203, code: i.type }] } } : {}),
      system: i.system ?? identifierSystem(tenant, 'patient'),
      value: i.value,
    })),
    name: [
      name
        ? {
            ...(name.family ? { family: name.family } : {}),
            ...(name.given?.length ? { given: [...name.given] } : {}),
          }
        : absentName(),
    ],
    gender: p.sex ?? 'unknown',
    // PAS requires full dates (FullDateRule); a partial birth date (1980, 1980-04) is left out.
    ...(p.birthDate && /^\d{4}-\d{2}-\d{2}$/.test(p.birthDate) ? { birthDate: p.birthDate } : {}),
  };
}

function insurerOf(
  caseRecord: OutboundCase,
  payer: PayerInfo,
  tenant: PasResponseBundleInput['tenant'],
): Organization {
  const coverage = caseRecord.request.coverage;
  return {
    resourceType: 'Organization',
    id: deterministicUuid('pas-response', caseRecord.id, 'insurer'),
    meta: { profile: [PasProfile.insurer] },
    identifier: [
      coverage.payerIdSystem
        ? { system: coverage.payerIdSystem, value: coverage.payerId }
        : { system: identifierSystem(tenant, 'payer'), value: payer.id },
    ],
    active: true,
    name: payer.name ?? coverage.payerName ?? payer.id,
  };
}

/**
 * The requesting provider as a PAS Requestor Organization. PAS lets ClaimResponse.requestor point at an
 * Organization or a PractitionerRole only, and a US Core PractitionerRole needs a telecom or endpoint the canonical
 * model does not carry: an individual provider stays a logical reference by NPI, with no entry.
 */
function requestorOf(caseRecord: OutboundCase): Organization | undefined {
  const provider = caseRecord.request.requestingProvider;
  if (!provider?.organizationName) return undefined;
  return {
    resourceType: 'Organization',
    id: deterministicUuid('pas-response', caseRecord.id, 'requestor'),
    meta: { profile: [PasProfile.requestor] },
    ...(provider.npi ? { identifier: [{ system: CodeSystem.NPI, value: provider.npi }] } : {}),
    active: true,
    name: provider.organizationName,
  };
}

/** Builds the PAS response Bundle for a case and validates it; throws OutboundBuildError. */
export function buildPasResponseBundle(input: PasResponseBundleInput): Bundle {
  const { caseRecord, tenant, at } = input;
  const payer = resolvePayer(caseRecord, input.payer);
  const patient = patientOf(caseRecord, tenant);
  const insurer = insurerOf(caseRecord, payer, tenant);
  const requestor = requestorOf(caseRecord);
  const urls = {
    claimResponse: uuidFor(caseRecord.id, 'claimresponse'),
    patient: uuidFor(caseRecord.id, 'patient'),
    insurer: uuidFor(caseRecord.id, 'insurer'),
    requestor: uuidFor(caseRecord.id, 'requestor'),
  };
  const claimResponse: ClaimResponse = buildClaimResponse({
    caseRecord,
    tenant,
    ...(input.payer ? { payer: input.payer } : {}),
    at,
    ...(input.decision ? { decision: input.decision } : {}),
    references: {
      patient: urls.patient,
      insurer: urls.insurer,
      ...(requestor ? { requestor: urls.requestor } : {}),
    },
  });
  const entry: BundleEntry[] = [
    { fullUrl: urls.claimResponse, resource: claimResponse },
    { fullUrl: urls.patient, resource: patient },
    { fullUrl: urls.insurer, resource: insurer },
    ...(requestor ? [{ fullUrl: urls.requestor, resource: requestor }] : []),
  ];
  const profile = input.kind === 'inquiry' ? PasProfile.inquiryResponseBundle : PasProfile.responseBundle;
  const bundle: Bundle = {
    resourceType: 'Bundle',
    id: deterministicUuid('pas-response', caseRecord.id, String(caseRecord.version), input.kind ?? 'submit'),
    meta: { profile: [profile] },
    identifier: {
      system: identifierSystem(tenant, 'pas-response'),
      value: `${caseRecord.id}/${caseRecord.version}`,
    },
    type: 'collection',
    timestamp: at.toISOString(),
    entry,
  };
  const report = validateProfile(bundle, profile);
  if (!report.valid) {
    const problems = profileProblems(report);
    throw new OutboundBuildError(
      'PAGW_OUTBOUND_PAS_BUNDLE_INVALID',
      `PAS response Bundle for case ${caseRecord.id} fails ${profile}: ${problems
        .slice(0, 5)
        .map((p) => `${p.location}: ${p.message}`)
        .join('; ')}`,
      { problems },
    );
  }
  return bundle;
}
