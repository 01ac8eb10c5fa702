/**
 * The decision as a Da Vinci PAS 2.2.1 ClaimResponse — the ONE builder for every case, whatever channel decided
 * it (X12 278, PAS, portal) and whatever the order came as (HL7 v2, FHIR order, PAS Claim). It serves the
 * pa.claimresponse.v1 topic events and the `Claim/$submit` / `$inquire` answers (inside the PAS response Bundle,
 * pas-response-bundle.ts), and every result passes the PAS ClaimResponse profile (src/profiles) before it is
 * returned.
 *
 * - `request`: the EHR's Claim when the order came as a PAS Claim, else the data-absent-reason extension
 *   (`not-applicable`: there was no Claim; the order is `extension[event-basedOn]`).
 * - `identifier`: the Claim's identifier echoed (the EHR's for a PAS Claim, else the case trace we sent the payer),
 *   the case id, placer/filler order numbers. Items echo the Claim items' trace numbers (extension-itemTraceNumber).
 * - `outcome`: `complete` when adjudication is complete — a pended case is `complete` with review action A4, as
 *   the IG's pended example; `error` for a payer error (error[] with X12 901 codes, errorElement/errorPath/
 *   followupAction); `partial` when some items are decided and others are not (pended or errored).
 * - review action (X12 306) code, authorization number and decision reasons (X12 886 only: reasons from other
 *   systems stay in adjudication.reason and processNote) in item.adjudication.extension[reviewAction].
 * - `insurer`: the payer as the sender identified it (its system and value), else our directory id.
 * - HCPCS codings use the `http://` URI the PAS value sets list.
 *
 * Pure and deterministic: the id is the case id, `created` is the `at` given.
 * @see http://hl7.org/fhir/us/davinci-pas/StructureDefinition-profile-claimresponse.html
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
import { type AuthorizationDecision, CodeSystem, type Reason } from '../canonical/index.ts';
import { PasProfile, profileProblems, validateProfile } from '../profiles/index.ts';
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
import { identifierSystem } from './ids.ts';
import {
  claimTraceIdentifier,
  DATA_ABSENT_REASON,
  itemTraceIdentifiers,
  PasExtension,
  pasCoding,
  pasServiceSystems,
  X12System,
} from './pas-codes.ts';
import type { TenantSettings } from './types.generated.ts';

const V2_0203 = 'http://terminology.hl7.org/CodeSystem/v2-0203';
const ADJUDICATION = 'http://terminology.hl7.org/CodeSystem/adjudication';
const CLAIM_TYPE = 'http://terminology.hl7.org/CodeSystem/claim-type';
/** R4 core extension: the order (ServiceRequest, DeviceRequest …) this response is about. */
const EVENT_BASED_ON = 'http://hl7.org/fhir/StructureDefinition/event-basedOn';

export interface ClaimResponseInput {
  /** The case after the transition; it must carry a decision unless `decision` is given. */
  readonly caseRecord: OutboundCase;
  readonly tenant: Pick<TenantSettings, 'id' | 'fhir'>;
  /** The payer as the workflow resolved it; defaults to the decision's payer. */
  readonly payer?: PayerInfo;
  /** When the response is issued (ClaimResponse.created). */
  readonly at: Date;
  /** Answer with this decision instead of the case's (a synchronous `$submit` answer for a case still pending). */
  readonly decision?: AuthorizationDecision;
  /**
   * Inside a PAS response Bundle: the fullUrls of the Patient, insurer and requestor entries the ClaimResponse
   * refers to. Without them the references are logical (identifier only), for the topic event.
   */
  readonly references?: { readonly patient?: string; readonly insurer?: string; readonly requestor?: string };
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
  for (const reason of line.reasons.filter((r) => r.system === X12System.decisionReason))
    sub.push({ url: 'reasonCode', valueCodeableConcept: codeableReason(reason) });
  sub.push({
    url: PasExtension.reviewActionCode,
    valueCodeableConcept: {
      coding: [
        {
          system: X12System.reviewAction,
          code: line.reviewActionCode,
          ...(reviewActionDisplay[line.reviewActionCode]
            ? { display: reviewActionDisplay[line.reviewActionCode] }
            : {}),
        },
      ],
    },
  });
  return { url: PasExtension.reviewAction, extension: sub };
}

function item(
  line: LineView & { readonly traceNumbers: readonly Identifier[] },
  administrativeReference: string | undefined,
  issued: string,
): ClaimResponseItem {
  const extension: Extension[] = line.traceNumbers.map((t) => ({
    url: PasExtension.itemTraceNumber,
    valueIdentifier: { ...t },
  }));
  if (line.servicePeriod) {
    extension.push({ url: PasExtension.itemRequestedServiceDate, valuePeriod: { ...line.servicePeriod } });
  }
  if (isAuthorized(line.outcome)) {
    extension.push({ url: PasExtension.itemPreAuthIssueDate, valueDate: issued });
    if (line.authorizedPeriod) {
      extension.push({ url: PasExtension.itemPreAuthPeriod, valuePeriod: { ...line.authorizedPeriod } });
    }
    const detail: Extension[] = [];
    const code = pasCoding(line.code);
    // The authorized detail's code is bound (required) to the PAS service value set: a code from elsewhere (a
    // sender's local system) is left out rather than published in breach of the binding.
    if (pasServiceSystems.has(code.system)) {
      detail.push({ url: 'productOrServiceCode', valueCodeableConcept: { coding: [code] } });
    }
    if (line.authorizedQuantity) {
      detail.push({
        url: 'quantity',
        valueQuantity: {
          value: line.authorizedQuantity.value,
          ...(line.authorizedQuantity.unit ? { unit: line.authorizedQuantity.unit } : {}),
        },
      });
    }
    if (detail.length) extension.push({ url: PasExtension.itemAuthorizedDetail, extension: detail });
  }
  if (line.outcome === 'pended' && administrativeReference) {
    extension.push({ url: PasExtension.administrationReferenceNumber, valueString: administrativeReference });
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
  const open = lines.filter((l) => l.outcome === 'error' || l.outcome === 'pended');
  return open.length > 0 && open.length < lines.length ? 'partial' : 'complete';
}

/**
 * The payer errors as PAS ClaimResponse.error[]: X12 901 reject reasons (anything else becomes 901 `33`, input
 * errors, with the original text), each with the payer's errorElement / errorPath and the 889 follow-up action.
 */
function payerErrors(decision: AuthorizationDecision): ClaimResponseError[] {
  const followUp = decision.reasons.find((r) => r.system === X12System.followUpAction);
  const errors = decision.reasons.filter((r) => r.system !== X12System.followUpAction);
  const list = errors.length ? errors : [{ code: '33', text: 'The payer could not process the request' }];
  return list.map((r) => {
    const extension: Extension[] = [];
    if (followUp) {
      extension.push({
        url: PasExtension.errorFollowupAction,
        valueCodeableConcept: { coding: [{ system: X12System.followUpAction, code: followUp.code }] },
      });
    }
    // errorElement is complex: the X12 element in `error`, and optionally the processNote it relates to.
    if (r.element) {
      extension.push({
        url: PasExtension.errorElement,
        extension: [{ url: 'error', valueString: r.element }],
      });
    }
    if (r.path) extension.push({ url: PasExtension.errorPath, valueString: r.path });
    const code: CodeableConcept =
      r.system === X12System.rejectReason
        ? codeableReason(r)
        : {
            coding: [{ system: X12System.rejectReason, code: '33' }],
            text: [r.system ? `${r.system}|${r.code}` : r.code, r.text].filter(Boolean).join(': '),
          };
    return { ...(extension.length ? { extension } : {}), code };
  });
}

/** The data-absent-reason reference PAS wants when no Claim was sent (`request` is 1..1). */
const noClaim: ClaimResponse['request'] = {
  extension: [{ url: DATA_ABSENT_REASON, valueCode: 'not-applicable' }],
};

/** Builds the PAS ClaimResponse for a decided or pended case and validates it; throws OutboundBuildError. */
export function buildClaimResponse(input: ClaimResponseInput): ClaimResponse {
  const { caseRecord, tenant, at } = input;
  const decision = input.decision ?? requireDecision(caseRecord, 'ClaimResponse');
  const record = input.decision ? { ...caseRecord, decision } : caseRecord;
  const payer = resolvePayer(record, input.payer);
  const request = caseRecord.request;
  const order = request.orderReference ?? {};
  const issued = at.toISOString().slice(0, 10);
  const lines = lineViews(record, payer).map((l) => ({
    ...l,
    traceNumbers: itemTraceIdentifiers(
      tenant,
      caseRecord.id,
      request.serviceLines.find((s) => s.sequence === l.sequence) ?? l,
    ),
  }));

  const claimId = order.claimIdentifier;
  const identifier: Identifier[] = [
    claimId
      ? { system: claimId.system ?? identifierSystem(tenant, 'claim'), value: claimId.value }
      : claimTraceIdentifier(tenant, caseRecord.id),
    {
      use: 'official',
      type: { text: 'PA Gateway case id' },
      system: identifierSystem(tenant, 'case'),
      value: caseRecord.id,
    },
  ];
  if (order.placerOrderNumber && order.placerOrderNumber !== claimId?.value) {
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
  const claimRef = orderRef?.startsWith('Claim/') ? orderRef : undefined;
  if (orderRef && !claimRef) {
    extension.push({ url: EVENT_BASED_ON, valueReference: { reference: orderRef } });
  }

  const refs = input.references ?? {};
  const mrn = patientIdentifier(request);
  const patient: Reference<Patient> = {
    ...(refs.patient ? { reference: refs.patient } : {}),
    ...(mrn
      ? {
          identifier: {
            ...(mrn.type ? { type: { coding: [{ system: V2_0203, code: mrn.type }] } } : {}),
            system: mrn.system ?? identifierSystem(tenant, 'patient'),
            value: mrn.value,
          },
        }
      : refs.patient
        ? {}
        : { display: `patient of case ${caseRecord.id}` }),
  };

  const coverage = request.coverage;
  const insurer: Reference<Organization> = {
    ...(refs.insurer ? { reference: refs.insurer } : {}),
    identifier: coverage.payerIdSystem
      ? { system: coverage.payerIdSystem, value: coverage.payerId }
      : { system: identifierSystem(tenant, 'payer'), value: payer.id },
    ...(payer.name ? { display: payer.name } : {}),
  };

  const requestingNpi = request.requestingProvider?.npi;
  const requestor: ClaimResponse['requestor'] =
    refs.requestor || requestingNpi
      ? {
          ...(refs.requestor ? { reference: refs.requestor } : {}),
          ...(requestingNpi ? { identifier: { system: CodeSystem.NPI, value: requestingNpi } } : {}),
        }
      : undefined;

  const resource: ClaimResponse = {
    resourceType: 'ClaimResponse',
    id: caseRecord.id,
    meta: { profile: [PasProfile.claimResponse] },
    ...(extension.length ? { extension } : {}),
    identifier,
    status: 'active',
    type: { coding: [{ system: CLAIM_TYPE, code: tenant.fhir?.claimType ?? 'professional' }] },
    use: 'preauthorization',
    patient,
    created: at.toISOString(),
    insurer,
    ...(requestor ? { requestor } : {}),
    request: claimRef
      ? { reference: claimRef, ...(claimId ? { identifier: { ...identifier[0]! } } : {}) }
      : noClaim,
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
    ...(decision.outcome === 'error' ? { error: payerErrors(decision) } : {}),
  };

  const report = validateProfile(resource, PasProfile.claimResponse);
  if (!report.valid) {
    const problems = profileProblems(report);
    throw new OutboundBuildError(
      'PAGW_OUTBOUND_CLAIMRESPONSE_INVALID',
      `ClaimResponse for case ${caseRecord.id} fails the PAS ClaimResponse profile: ${problems
        .slice(0, 5)
        .map((p) => `${p.location}: ${p.message}`)
        .join('; ')}`,
      { problems },
    );
  }
  return resource;
}
