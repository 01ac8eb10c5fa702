/**
 * Da Vinci PAS vocabulary shared by what we send to payers (connectors/pas) and what we answer EHRs with (the
 * ClaimResponse and the PAS response Bundle): extension URLs, X12 code systems as PAS binds them, code-system URIs
 * in the form the PAS value sets list, and the identifiers that tie a response to its request. Pure.
 * @see http://hl7.org/fhir/us/davinci-pas/STU2.2/
 */
import { CodeSystem, type Coding, type Identifier } from '../canonical/index.ts';
import { traceNumberFor } from '../workflow/case-workflow.ts';
import { identifierSystem } from './ids.ts';
import type { TenantSettings } from './types.generated.ts';

export const PAS_SD = 'http://hl7.org/fhir/us/davinci-pas/StructureDefinition';

/** PAS extension URLs the gateway writes or reads. */
export const PasExtension = {
  reviewAction: `${PAS_SD}/extension-reviewAction`,
  reviewActionCode: `${PAS_SD}/extension-reviewActionCode`,
  itemTraceNumber: `${PAS_SD}/extension-itemTraceNumber`,
  itemPreAuthIssueDate: `${PAS_SD}/extension-itemPreAuthIssueDate`,
  itemPreAuthPeriod: `${PAS_SD}/extension-itemPreAuthPeriod`,
  itemAuthorizedDetail: `${PAS_SD}/extension-itemAuthorizedDetail`,
  itemRequestedServiceDate: `${PAS_SD}/extension-itemRequestedServiceDate`,
  administrationReferenceNumber: `${PAS_SD}/extension-administrationReferenceNumber`,
  authorizationNumber: `${PAS_SD}/extension-authorizationNumber`,
  certificationType: `${PAS_SD}/extension-certificationType`,
  serviceItemRequestType: `${PAS_SD}/extension-serviceItemRequestType`,
  requestedService: `${PAS_SD}/extension-requestedService`,
  levelOfServiceCode: `${PAS_SD}/extension-levelOfServiceCode`,
  errorElement: `${PAS_SD}/extension-errorElement`,
  errorPath: `${PAS_SD}/extension-errorPath`,
  errorFollowupAction: `${PAS_SD}/extension-errorFollowupAction`,
  /** Claim update: how an item or supportingInfo entry changed since the prior version (PASInformationChangeMode). */
  infoChanged: `${PAS_SD}/extension-infoChanged`,
  /** Claim update: the entry is withdrawn (a modifier extension). */
  infoCancelled: `${PAS_SD}/modifierextension-infoCancelled`,
  serviceLineNumber: `${PAS_SD}/extension-serviceLineNumber`,
} as const;

/** X12 code systems as the PAS value sets bind them. */
export const X12System = {
  reviewAction: 'https://codesystem.x12.org/005010/306',
  /** HCR03 decision reasons: an external code list (886), PAS X12278ReviewDecisionReasonCode. */
  decisionReason: 'https://codesystem.x12.org/external/886',
  /** AAA03 reject reasons, PAS X12278RejectReasonCodes (ClaimResponse.error.code). */
  rejectReason: 'https://codesystem.x12.org/005010/901',
  /** AAA04 follow-up actions, PAS X12278FollowUpActionCodes. */
  followUpAction: 'https://codesystem.x12.org/005010/889',
  serviceType: 'https://codesystem.x12.org/005010/1365',
  certificationType: 'https://codesystem.x12.org/005010/1322',
  requestCategory: 'https://codesystem.x12.org/005010/1525',
  levelOfService: 'https://codesystem.x12.org/005010/1338',
} as const;

export const DATA_ABSENT_REASON = 'http://hl7.org/fhir/StructureDefinition/data-absent-reason';

/**
 * PAS lists HCPCS as `http://www.cms.gov/Medicare/Coding/HCPCSReleaseCodeSets` (X12278RequestedServiceType,
 * X12278RequestedServiceModifierType); the canonical model keeps the `https://` form CMS publishes. Outgoing PAS
 * codings use the value set's form.
 */
const pasSystemOf: Readonly<Record<string, string>> = {
  [CodeSystem.HCPCS]: 'http://www.cms.gov/Medicare/Coding/HCPCSReleaseCodeSets',
};

export function pasCoding(coding: Coding): Coding {
  const system = pasSystemOf[coding.system] ?? coding.system;
  return { system, code: coding.code, ...(coding.display ? { display: coding.display } : {}) };
}

/** Systems PAS accepts for a Claim item / authorized detail product or service (X12278RequestedServiceType). */
export const pasServiceSystems: ReadonlySet<string> = new Set([
  X12System.serviceType,
  CodeSystem.CPT,
  'http://www.cms.gov/Medicare/Coding/HCPCSReleaseCodeSets',
  'http://terminology.hl7.org/CodeSystem/icd9cm',
  CodeSystem.ICD10PCS,
  CodeSystem.NDC,
]);

/**
 * The identifier the case's Claim carries towards the payer (PAS Claim.identifier, X12 TRN02): the case's trace
 * number, the same for every attempt so the payer and our reconciliation recognise a repeat.
 */
export function claimTraceIdentifier(
  tenant: Pick<TenantSettings, 'id' | 'fhir'>,
  caseId: string,
): Required<Pick<Identifier, 'system' | 'value'>> {
  return { system: identifierSystem(tenant, 'trace'), value: traceNumberFor(caseId) };
}

/**
 * The trace numbers of a service line: the sender's own (PAS Claim.item extension-itemTraceNumber) when the order
 * came as PAS, else one of ours derived from the case trace and the line sequence.
 */
export function itemTraceIdentifiers(
  tenant: Pick<TenantSettings, 'id' | 'fhir'>,
  caseId: string,
  line: { readonly sequence: number; readonly traceNumbers?: readonly Identifier[] },
): Required<Pick<Identifier, 'system' | 'value'>>[] {
  const own = (line.traceNumbers ?? []).map((t) => ({
    system: t.system ?? identifierSystem(tenant, 'item-trace'),
    value: t.value,
  }));
  if (own.length > 0) return own;
  return [
    { system: identifierSystem(tenant, 'item-trace'), value: `${traceNumberFor(caseId)}-${line.sequence}` },
  ];
}
