/**
 * The decision as a FHIR R4 ClaimResponse shaped like Da Vinci PAS, for EHRs (pa.claimresponse.v1).
 *
 * Where PAS puts things (the IG's own examples, /work/shared/corpus/pas/SOURCES.md):
 * - the X12 306 review action and the authorization number sit in
 *   item.adjudication.extension[reviewAction] (sub-extensions reviewActionCode and number);
 * - a pended item carries extension-administrationReferenceNumber instead of a number;
 * - item extensions itemPreAuthIssueDate, itemPreAuthPeriod and itemAuthorizedDetail (code, quantity) say what was
 *   authorized, for how long and how much.
 * We also fill the R4 base elements PAS leaves empty (preAuthRef, preAuthPeriod, disposition) so a plain FHIR
 * client reads the answer without knowing PAS. meta.profile is NOT set: this is validated against the R4 base
 * definitions, not the PAS profiles, so claiming conformance would be a promise we have not checked.
 *
 * Pure and deterministic: the id is the case id, `created` is the `at` given, identifiers come from the case.
 * @see http://hl7.org/fhir/us/davinci-pas/StructureDefinition-profile-claimresponse.html
 * @see http://hl7.org/fhir/R4/claimresponse.html
 */
import type {
  ClaimResponse,
  ClaimResponseError,
  ClaimResponseItem,
  CodeableConcept,
  Extension,
  Identifier,
  Organization,
  Patient,
  Reference,
} from '@medplum/fhirtypes';
import { CodeSystem, type Reason } from '../canonical/index.ts';
import {
  isAuthorized,
  type LineView,
  lineViews,
  type OutboundCase,
  type PayerInfo,
  patientIdentifier,
  requireDecision,
  resolvePayer,
  reviewActionDisplay,
} from './case-view.ts';
import { OutboundBuildError } from './errors.ts';
import { r4Problems } from './fhir-r4.ts';
import { identifierSystem } from './ids.ts';
import type { TenantSettings } from './types.generated.ts';

const PAS = 'http://hl7.org/fhir/us/davinci-pas/StructureDefinition';
const V2_0203 = 'http://terminology.hl7.org/CodeSystem/v2-0203';
const ADJUDICATION = 'http://terminology.hl7.org/CodeSystem/adjudication';
const CLAIM_TYPE = 'http://terminology.hl7.org/CodeSystem/claim-type';
/** R4 core extension: the order (ServiceRequest, DeviceRequest …) this response is about. */
const EVENT_BASED_ON = 'http://hl7.org/fhir/StructureDefinition/event-basedOn';

export interface ClaimResponseInput {
  /** The case after the transition; it must carry a decision. */
  readonly caseRecord: OutboundCase;
  readonly tenant: Pick<TenantSettings, 'id' | 'fhir'>;
  /** The payer as the workflow resolved it; defaults to the decision's payer. */
  readonly payer?: PayerInfo;
  /** When the response is issued (ClaimResponse.created). */
  readonly at: Date;
}

const dispositions: Record<string, string> = {
  approved: 'Approved',
  modified: 'Approved with changes',
  denied: 'Denied',
  pended: 'Pended: the payer has not decided yet',
  cancelled: 'Cancelled',
  error: 'The payer could not process the request',
};

function codeableReason(reason: Reason): CodeableConcept {
  return {
    coding: [{ ...(reason.system ? { system: reason.system } : {}), code: reason.code }],
    ...(reason.text ? { text: reason.text } : {}),
  };
}

function reviewActionExtension(line: LineView): Extension | undefined {
  if (!line.reviewActionCode) return undefined;
  const sub: Extension[] = [];
  if (line.certificationNumber && isAuthorized(line.outcome)) {
    sub.push({ url: 'number', valueString: line.certificationNumber });
  }
  for (const reason of line.reasons)
    sub.push({ url: 'reasonCode', valueCodeableConcept: codeableReason(reason) });
  sub.push({
    url: `${PAS}/extension-reviewActionCode`,
    valueCodeableConcept: {
      coding: [
        {
          system: CodeSystem.X12_REVIEW_ACTION,
          code: line.reviewActionCode,
          ...(reviewActionDisplay[line.reviewActionCode]
            ? { display: reviewActionDisplay[line.reviewActionCode] }
            : {}),
        },
      ],
    },
  });
  return { url: `${PAS}/extension-reviewAction`, extension: sub };
}

function item(
  line: LineView,
  administrativeReference: string | undefined,
  issued: string,
): ClaimResponseItem {
  const extension: Extension[] = [];
  if (line.servicePeriod) {
    extension.push({
      url: `${PAS}/extension-itemRequestedServiceDate`,
      valuePeriod: { ...line.servicePeriod },
    });
  }
  if (isAuthorized(line.outcome)) {
    extension.push({ url: `${PAS}/extension-itemPreAuthIssueDate`, valueDate: issued });
    if (line.authorizedPeriod) {
      extension.push({
        url: `${PAS}/extension-itemPreAuthPeriod`,
        valuePeriod: { ...line.authorizedPeriod },
      });
    }
    const detail: Extension[] = [
      { url: 'productOrServiceCode', valueCodeableConcept: { coding: [{ ...line.code }] } },
    ];
    if (line.authorizedQuantity) {
      detail.push({
        url: 'quantity',
        valueQuantity: {
          value: line.authorizedQuantity.value,
          ...(line.authorizedQuantity.unit ? { unit: line.authorizedQuantity.unit } : {}),
        },
      });
    }
    extension.push({ url: `${PAS}/extension-itemAuthorizedDetail`, extension: detail });
  }
  if (line.outcome === 'pended' && administrativeReference) {
    extension.push({
      url: `${PAS}/extension-administrationReferenceNumber`,
      valueString: administrativeReference,
    });
  }
  const reviewAction = reviewActionExtension(line);
  const firstReason = line.reasons[0];
  return {
    ...(extension.length ? { extension } : {}),
    itemSequence: line.sequence,
    adjudication: [
      {
        ...(reviewAction ? { extension: [reviewAction] } : {}),
        category: { coding: [{ system: ADJUDICATION, code: 'submitted' }] },
        ...(firstReason ? { reason: codeableReason(firstReason) } : {}),
      },
    ],
  };
}

function remittanceOutcome(outcome: string, lines: readonly LineView[]): ClaimResponse['outcome'] {
  if (outcome === 'error') return 'error';
  if (outcome === 'pended') return 'queued';
  if (lines.some((l) => l.outcome === 'error')) return 'partial';
  return 'complete';
}

/** Builds the ClaimResponse for a decided or pended case and validates it (R4); throws OutboundBuildError. */
export function buildClaimResponse(input: ClaimResponseInput): ClaimResponse {
  const { caseRecord, tenant, at } = input;
  const decision = requireDecision(caseRecord, 'ClaimResponse');
  const payer = resolvePayer(caseRecord, input.payer);
  const request = caseRecord.request;
  const order = request.orderReference ?? {};
  const lines = lineViews(caseRecord, payer);
  const issued = at.toISOString().slice(0, 10);

  const identifier: Identifier[] = [
    {
      use: 'official',
      type: { text: 'PA Gateway case id' },
      system: identifierSystem(tenant, 'case'),
      value: caseRecord.id,
    },
  ];
  if (order.placerOrderNumber) {
    identifier.push({
      type: { coding: [{ system: V2_0203, code: 'PLAC', display: 'Placer Identifier' }] },
      system: identifierSystem(tenant, 'placer-order'),
      value: order.placerOrderNumber,
    });
  }
  if (order.fillerOrderNumber) {
    identifier.push({
      type: { coding: [{ system: V2_0203, code: 'FILL', display: 'Filler Identifier' }] },
      system: identifierSystem(tenant, 'filler-order'),
      value: order.fillerOrderNumber,
    });
  }

  const extension: Extension[] = [];
  const orderRef = order.resourceReference;
  if (orderRef && !orderRef.startsWith('Claim/')) {
    extension.push({ url: EVENT_BASED_ON, valueReference: { reference: orderRef } });
  }

  const mrn = patientIdentifier(request);
  const patient: Reference<Patient> = mrn
    ? {
        identifier: {
          ...(mrn.type ? { type: { coding: [{ system: V2_0203, code: mrn.type }] } } : {}),
          ...(mrn.system ? { system: mrn.system } : {}),
          value: mrn.value,
        },
      }
    : { display: 'patient of case ' + caseRecord.id };

  const insurer: Reference<Organization> = {
    identifier: {
      system: request.coverage.payerIdSystem ?? identifierSystem(tenant, 'payer'),
      value: payer.id,
    },
    ...(payer.name ? { display: payer.name } : {}),
  };

  const requestingNpi = request.requestingProvider?.npi;
  const errors: ClaimResponseError[] =
    decision.outcome === 'error'
      ? (decision.reasons.length ? decision.reasons : [{ code: 'error', text: 'payer error' }]).map((r) => ({
          code: codeableReason(r),
        }))
      : [];

  const resource: ClaimResponse = {
    resourceType: 'ClaimResponse',
    id: caseRecord.id,
    ...(extension.length ? { extension } : {}),
    identifier,
    status: 'active',
    type: { coding: [{ system: CLAIM_TYPE, code: tenant.fhir?.claimType ?? 'professional' }] },
    use: 'preauthorization',
    patient,
    created: at.toISOString(),
    insurer,
    ...(requestingNpi ? { requestor: { identifier: { system: CodeSystem.NPI, value: requestingNpi } } } : {}),
    ...(orderRef?.startsWith('Claim/') ? { request: { reference: orderRef } } : {}),
    outcome: remittanceOutcome(decision.outcome, lines),
    disposition: dispositions[decision.outcome] ?? decision.outcome,
    ...(decision.certificationNumber && isAuthorized(decision.outcome)
      ? { preAuthRef: decision.certificationNumber }
      : {}),
    ...(decision.authorizedPeriod && isAuthorized(decision.outcome)
      ? { preAuthPeriod: { ...decision.authorizedPeriod } }
      : {}),
    ...(decision.outcome === 'error'
      ? {}
      : { item: lines.map((l) => item(l, decision.administrativeReference, issued)) }),
    ...(decision.messages?.length
      ? {
          processNote: decision.messages.map((text, i) => ({
            number: i + 1,
            type: 'display' as const,
            text,
          })),
        }
      : {}),
    ...(errors.length ? { error: errors } : {}),
  };

  const problems = r4Problems(resource);
  if (problems.length > 0) {
    throw new OutboundBuildError(
      'PAGW_OUTBOUND_CLAIMRESPONSE_INVALID',
      `ClaimResponse for case ${caseRecord.id} is not valid FHIR R4: ${problems
        .slice(0, 5)
        .map((p) => `${p.location}: ${p.message}`)
        .join('; ')}`,
      { problems },
    );
  }
  return resource;
}
