/**
 * The PAS request Bundle built from the canonical request: Claim (use preauthorization, the PAS Claim profile's
 * required elements, item trace numbers, certification type, request type, requested-service references),
 * Patient, Coverage, insurer and requestor Organizations, one ServiceRequest / DeviceRequest / MedicationRequest
 * per line, and supporting documents by reference. Also the inquiry Bundle ($inquire) and the cancel update.
 * Every Bundle passes its PAS profile (src/profiles) before it is returned: a request we built wrongly is our
 * bug and is never sent (PAGW_PAS_REQUEST_INVALID, not retriable).
 * @see http://hl7.org/fhir/us/davinci-pas/StructureDefinition-profile-pas-request-bundle.html
 */
import type {
  Bundle,
  BundleEntry,
  Claim,
  ClaimItem,
  Coverage,
  DeviceRequest,
  Extension,
  MedicationRequest,
  Organization,
  Patient,
  Resource,
  ServiceRequest,
} from '@medplum/fhirtypes';
import { CodeSystem } from '../../src/canonical/index.ts';
import type { AuthorizationRequest, ServiceLine } from '../../src/canonical/types.generated.ts';
import {
  claimTraceIdentifier,
  DATA_ABSENT_REASON,
  itemTraceIdentifiers,
  PAS_SD,
  PasExtension,
  pasCoding,
  pasServiceSystems,
  X12System,
} from '../../src/outbound/index.ts';
import { PasProfile, profileProblems, validateProfile } from '../../src/profiles/index.ts';
import { deterministicUuid } from '../../src/store/ids.ts';
import { PasError } from './errors.ts';

export interface PasBuildContext {
  readonly tenant: string;
  readonly caseId: string;
  readonly at: Date;
  /** The payer as the directory names it (insurer Organization). */
  readonly payer: { readonly id: string; readonly name?: string; readonly channelPayerId?: string };
}

const V2_0203 = 'http://terminology.hl7.org/CodeSystem/v2-0203';
const PASTEMP = 'http://hl7.org/fhir/us/davinci-pas/CodeSystem/PASTempCodes';
const PLACE_OF_SERVICE =
  'https://www.cms.gov/Medicare/Coding/place-of-service-codes/Place_of_Service_Code_Set';
const SUBSCRIBER_RELATIONSHIP = 'http://terminology.hl7.org/CodeSystem/subscriber-relationship';

export const urn = (ctx: PasBuildContext, what: string) =>
  `urn:uuid:${deterministicUuid('pas-request', ctx.caseId, what)}`;
const idOf = (fullUrl: string) => fullUrl.slice('urn:uuid:'.length);

/** Service codes (HCPCS E/K/L: durable equipment, orthotics, prosthetics) that PAS sends as a DeviceRequest. */
function requestKind(line: ServiceLine): 'MedicationRequest' | 'DeviceRequest' | 'ServiceRequest' {
  if (line.code.system === CodeSystem.NDC || line.code.system === CodeSystem.RXNORM)
    return 'MedicationRequest';
  if (line.code.system === CodeSystem.HCPCS && /^[EKL]/i.test(line.code.code)) return 'DeviceRequest';
  return 'ServiceRequest';
}

/**
 * A code from outside the PAS service value set (LOINC, a sender's local system) cannot be sent as one: PAS lists
 * data-absent-reason `not-applicable` for that, and the original code goes along as text.
 */
const notApplicable = {
  system: 'http://terminology.hl7.org/CodeSystem/data-absent-reason',
  code: 'not-applicable',
};
const describeCode = (line: ServiceLine) =>
  `${line.code.display ?? line.description ?? ''} (${line.code.system}|${line.code.code})`.trim();

/** The line's product or service as PAS accepts it: HCPCS as http://, other systems by the value set. */
function serviceCoding(line: ServiceLine) {
  const candidates = [line.code, ...(line.alternateCodes ?? [])].map(pasCoding);
  return candidates.find((c) => pasServiceSystems.has(c.system));
}

function patientOf(request: AuthorizationRequest, ctx: PasBuildContext, fullUrl: string): Patient {
  const p = request.patient;
  const identifiers = p.identifiers.filter((i) => i.type !== 'SS' && i.type !== 'SB');
  const name = p.name?.family || p.name?.given?.length ? p.name : undefined;
  return {
    resourceType: 'Patient',
    id: idOf(fullUrl),
    meta: { profile: [PasProfile.beneficiary] },
    identifier: (identifiers.length ? identifiers : [{ value: request.coverage.memberId, type: 'MB' }]).map(
      (i) => ({
        ...(i.type ? { type: { coding: [{ system: V2_0203, code: i.type }] } } : {}),
        system: i.system ?? `urn:pagw:${ctx.tenant}:patient`,
        value: i.value,
      }),
    ),
    name: [
      name
        ? {
            ...(name.family ? { family: name.family } : {}),
            ...(name.given?.length ? { given: [...name.given] } : {}),
          }
        : { extension: [{ url: DATA_ABSENT_REASON, valueCode: 'unknown' }] },
    ],
    gender: p.sex ?? 'unknown',
    ...(p.birthDate && /^\d{4}-\d{2}-\d{2}$/.test(p.birthDate) ? { birthDate: p.birthDate } : {}),
    ...(p.address?.line?.length || p.address?.city
      ? {
          address: [
            {
              ...(p.address.line?.length ? { line: [...p.address.line] } : {}),
              ...(p.address.city ? { city: p.address.city } : {}),
              ...(p.address.state ? { state: p.address.state } : {}),
              ...(p.address.postalCode ? { postalCode: p.address.postalCode } : {}),
            },
          ],
        }
      : {}),
  };
}

function insurerOf(request: AuthorizationRequest, ctx: PasBuildContext, fullUrl: string): Organization {
  const coverage = request.coverage;
  const identifier = coverage.payerIdSystem
    ? { system: coverage.payerIdSystem, value: coverage.payerId }
    : { system: `urn:pagw:${ctx.tenant}:payer`, value: ctx.payer.channelPayerId ?? ctx.payer.id };
  return {
    resourceType: 'Organization',
    id: idOf(fullUrl),
    meta: { profile: [PasProfile.insurer] },
    identifier: [identifier],
    active: true,
    name: ctx.payer.name ?? coverage.payerName ?? ctx.payer.id,
  };
}

function requestorOf(request: AuthorizationRequest, fullUrl: string): Organization {
  const provider = request.requestingProvider;
  const personal = [provider?.name?.given?.join(' '), provider?.name?.family].filter(Boolean).join(' ');
  return {
    resourceType: 'Organization',
    id: idOf(fullUrl),
    meta: { profile: [PasProfile.requestor] },
    ...(provider?.npi ? { identifier: [{ system: CodeSystem.NPI, value: provider.npi }] } : {}),
    active: true,
    name: provider?.organizationName ?? (personal || 'Requesting provider'),
  };
}

/** X12 1069 individual relationship codes (INS02). */
const x12Relationship: Record<string, string> = {
  self: '18',
  spouse: '01',
  child: '19',
  other: 'G8',
  unknown: '21',
};

/** The subscriber when it is not the patient: a Patient entry from coverage.subscriber, known by the member id. */
function subscriberOf(request: AuthorizationRequest, ctx: PasBuildContext, fullUrl: string): Patient {
  const s = request.coverage.subscriber;
  const name = s?.name?.family || s?.name?.given?.length ? s.name : undefined;
  return {
    resourceType: 'Patient',
    id: idOf(fullUrl),
    meta: { profile: [PasProfile.subscriber] },
    identifier: [
      {
        type: { coding: [{ system: V2_0203, code: 'MB' }] },
        system: `urn:pagw:${ctx.tenant}:member-id`,
        value: request.coverage.memberId,
      },
    ],
    name: [
      name
        ? {
            ...(name.family ? { family: name.family } : {}),
            ...(name.given?.length ? { given: [...name.given] } : {}),
          }
        : { extension: [{ url: DATA_ABSENT_REASON, valueCode: 'unknown' }] },
    ],
    gender: s?.sex ?? 'unknown',
    ...(s?.birthDate && /^\d{4}-\d{2}-\d{2}$/.test(s.birthDate) ? { birthDate: s.birthDate } : {}),
  };
}

function coverageOf(
  request: AuthorizationRequest,
  refs: { patient: string; insurer: string; subscriber: string },
  fullUrl: string,
): Coverage {
  const c = request.coverage;
  const classes = [
    ...(c.groupNumber ? [{ type: 'group', value: c.groupNumber, name: c.groupName }] : []),
    ...(c.planCode ? [{ type: 'plan', value: c.planCode, name: c.planName }] : []),
  ];
  return {
    resourceType: 'Coverage',
    id: idOf(fullUrl),
    meta: { profile: [PasProfile.coverage] },
    identifier: [
      {
        type: { coding: [{ system: V2_0203, code: 'MB' }] },
        system: 'urn:pagw:member-id',
        value: c.memberId,
      },
    ],
    status: 'active',
    subscriberId: c.memberId,
    beneficiary: { reference: refs.patient },
    // FHIR's code and the X12 INS02 code beside it, as the IG's Coverage example does (self = 18).
    relationship: {
      coding: [
        {
          system: SUBSCRIBER_RELATIONSHIP,
          code: c.relationshipToSubscriber === 'unknown' ? 'other' : c.relationshipToSubscriber,
        },
        {
          system: 'https://codesystem.x12.org/005010/1069',
          code: x12Relationship[c.relationshipToSubscriber],
        },
      ],
    },
    // The subscriber is the patient when self; otherwise the subscriber's own entry (PAS self-beneficiary rule).
    subscriber: { reference: c.relationshipToSubscriber === 'self' ? refs.patient : refs.subscriber },
    ...(c.period ? { period: { ...c.period } } : {}),
    payor: [{ reference: refs.insurer }],
    ...(classes.length
      ? {
          class: classes.map((k) => ({
            type: {
              coding: [{ system: 'http://terminology.hl7.org/CodeSystem/coverage-class', code: k.type }],
            },
            value: k.value,
            ...(k.name ? { name: k.name } : {}),
          })),
        }
      : {}),
  };
}

/**
 * A prescription's dispense request: the quantity, and for a pharmacy's prescription (issue #15) its days supply
 * (NCPDP 405-D5) and refills (415-DF) — what the payer's drug review weighs besides the NDC.
 */
function dispenseRequestOf(line: ServiceLine): Pick<MedicationRequest, 'dispenseRequest'> {
  const rx = line.prescription;
  const request: NonNullable<MedicationRequest['dispenseRequest']> = {
    ...(line.quantity ? { quantity: { value: line.quantity.value } } : {}),
    ...(rx?.daysSupply !== undefined
      ? {
          expectedSupplyDuration: {
            value: rx.daysSupply,
            unit: 'days',
            system: 'http://unitsofmeasure.org',
            code: 'd',
          },
        }
      : {}),
    ...(rx?.refills !== undefined ? { numberOfRepeatsAllowed: rx.refills } : {}),
  };
  return Object.keys(request).length ? { dispenseRequest: request } : {};
}

function orderOf(
  line: ServiceLine,
  refs: { patient: string; requestor: string },
  urgent: boolean,
  fullUrl: string,
): ServiceRequest | DeviceRequest | MedicationRequest {
  const code = serviceCoding(line) ?? notApplicable;
  const common = {
    id: idOf(fullUrl),
    subject: { reference: refs.patient },
    requester: { reference: refs.requestor },
  };
  const occurrence = line.servicePeriod ? { occurrencePeriod: { ...line.servicePeriod } } : {};
  // What every kind of request states alike: an active order, urgent when expedited, and what is ordered.
  const ordered = {
    status: 'active',
    intent: 'order',
    ...(urgent ? { priority: 'urgent' as const } : {}),
  } as const;
  const concept = { coding: [code], ...(code === notApplicable ? { text: describeCode(line) } : {}) };
  switch (requestKind(line)) {
    case 'MedicationRequest':
      return {
        resourceType: 'MedicationRequest',
        ...common,
        meta: { profile: [`${PAS_SD}/profile-medicationrequest`] },
        ...ordered,
        medicationCodeableConcept: concept,
        ...dispenseRequestOf(line),
      };
    case 'DeviceRequest':
      return {
        resourceType: 'DeviceRequest',
        ...common,
        meta: { profile: [`${PAS_SD}/profile-devicerequest`] },
        ...ordered,
        codeCodeableConcept: concept,
        ...occurrence,
      };
    default:
      return {
        resourceType: 'ServiceRequest',
        ...common,
        meta: { profile: [`${PAS_SD}/profile-servicerequest`] },
        ...ordered,
        code: concept,
        ...(line.quantity
          ? {
              quantityQuantity: {
                value: line.quantity.value,
                ...(line.quantity.unit ? { unit: line.quantity.unit } : {}),
              },
            }
          : {}),
        ...occurrence,
      };
  }
}

function claimItem(
  line: ServiceLine,
  ctx: PasBuildContext,
  orderRef: string,
  certificationType: 'I' | '3',
): ClaimItem {
  const code = serviceCoding(line);
  const extension: Extension[] = [
    ...itemTraceIdentifiers({ id: ctx.tenant }, ctx.caseId, line).map((t) => ({
      url: PasExtension.itemTraceNumber,
      valueIdentifier: t,
    })),
    {
      url: PasExtension.serviceItemRequestType,
      valueCodeableConcept: { coding: [{ system: X12System.requestCategory, code: 'HS' }] },
    },
    {
      url: PasExtension.certificationType,
      valueCodeableConcept: { coding: [{ system: X12System.certificationType, code: certificationType }] },
    },
    { url: PasExtension.requestedService, valueReference: { reference: orderRef } },
  ];
  const category =
    line.category?.system === X12System.serviceType
      ? { system: X12System.serviceType, code: line.category.code }
      : { system: X12System.serviceType, code: '1' };
  return {
    extension,
    sequence: line.sequence,
    category: { coding: [category] },
    productOrService: code ? { coding: [code] } : { coding: [notApplicable], text: describeCode(line) },
    ...(line.modifiers?.length
      ? { modifier: line.modifiers.map((m) => ({ coding: [{ system: CodeSystem.CPT, code: m }] })) }
      : {}),
    ...(line.servicePeriod ? { servicedPeriod: { ...line.servicePeriod } } : {}),
    locationCodeableConcept: { coding: [{ system: PLACE_OF_SERVICE, code: line.placeOfService ?? '11' }] },
    ...(line.quantity ? { quantity: { value: line.quantity.value } } : {}),
  };
}

const diagnosisSystems = new Set([CodeSystem.ICD10CM, 'http://terminology.hl7.org/CodeSystem/icd9cm']);

interface Built {
  readonly bundle: Bundle;
  readonly claim: Claim;
}

function build(
  request: AuthorizationRequest,
  ctx: PasBuildContext,
  kind: 'submit' | 'cancel' | 'inquiry',
): Built {
  const urls = {
    claim: urn(ctx, `claim-${kind}`),
    patient: urn(ctx, 'patient'),
    insurer: urn(ctx, 'insurer'),
    requestor: urn(ctx, 'requestor'),
    coverage: urn(ctx, 'coverage'),
    subscriber: urn(ctx, 'subscriber'),
  };
  const urgent = request.urgency === 'expedited';
  const lines = [...request.serviceLines].sort((a, b) => a.sequence - b.sequence);
  const orders =
    kind === 'inquiry' ? [] : lines.map((l) => ({ url: urn(ctx, `order-${l.sequence}`), line: l }));
  const trace = claimTraceIdentifier({ id: ctx.tenant }, ctx.caseId);
  const supporting = (request.supportingDocuments ?? []).map((doc, i) => ({
    sequence: i + 1,
    extension: [
      {
        url: `${PAS_SD}/extension-documentInformation`,
        extension: [
          {
            url: 'reportTypeCode',
            valueCodeableConcept: {
              coding: [{ system: 'https://codesystem.x12.org/005010/755', code: 'OZ' }],
            },
          },
          {
            url: 'transmissionMethod',
            valueCodeableConcept: {
              coding: [{ system: 'https://codesystem.x12.org/005010/756', code: 'EL' }],
            },
          },
          ...(doc.title ? [{ url: 'description', valueString: doc.title }] : []),
        ],
      },
    ],
    category: { coding: [{ system: PASTEMP, code: 'additionalInformation' }] },
    valueReference: { reference: doc.reference },
  }));
  const notes = (request.notes ?? []).map((text, i) => ({
    sequence: supporting.length + i + 1,
    category: { coding: [{ system: PASTEMP, code: 'freeFormMessage' }] },
    valueString: text,
  }));
  const diagnoses = request.diagnoses.filter((d) => diagnosisSystems.has(d.code.system));
  const claim: Claim = {
    resourceType: 'Claim',
    id: idOf(urls.claim),
    meta: {
      profile: [
        kind === 'inquiry'
          ? PasProfile.claimInquiry
          : kind === 'cancel'
            ? PasProfile.claimUpdate
            : PasProfile.claim,
      ],
    },
    identifier: [kind === 'cancel' ? { ...trace, value: `${trace.value}-C` } : trace],
    status: 'active',
    type: {
      coding: [
        {
          system: 'http://terminology.hl7.org/CodeSystem/claim-type',
          code: lines.some((l) => l.placeOfService === '21') ? 'institutional' : 'professional',
        },
      ],
    },
    use: 'preauthorization',
    patient: { reference: urls.patient },
    created: ctx.at.toISOString(),
    insurer: { reference: urls.insurer },
    provider: { reference: urls.requestor },
    priority: {
      coding: [
        { system: 'http://terminology.hl7.org/CodeSystem/processpriority', code: urgent ? 'stat' : 'normal' },
      ],
    },
    // A whole cancellation says so on the Claim as well as on every item (PAS "Updating Authorization Requests").
    ...(kind === 'cancel'
      ? {
          extension: [
            {
              url: PasExtension.certificationType,
              valueCodeableConcept: { coding: [{ system: X12System.certificationType, code: '3' }] },
            },
          ],
          related: [
            {
              claim: { identifier: trace },
              relationship: {
                coding: [
                  {
                    system: 'http://terminology.hl7.org/CodeSystem/ex-relatedclaimrelationship',
                    code: 'prior',
                  },
                ],
              },
            },
          ],
        }
      : {}),
    ...(supporting.length || notes.length ? { supportingInfo: [...supporting, ...notes] } : {}),
    ...(diagnoses.length
      ? {
          diagnosis: diagnoses.map((d, i) => ({
            sequence: i + 1,
            diagnosisCodeableConcept: { coding: [{ system: d.code.system, code: d.code.code }] },
          })),
        }
      : {}),
    insurance: [{ sequence: 1, focal: true, coverage: { reference: urls.coverage } }],
    item: lines.map((l) =>
      kind === 'inquiry'
        ? {
            sequence: l.sequence,
            productOrService: claimItem(l, ctx, '', 'I').productOrService,
            extension: itemTraceIdentifiers({ id: ctx.tenant }, ctx.caseId, l).map((t) => ({
              url: PasExtension.itemTraceNumber,
              valueIdentifier: t,
            })),
          }
        : claimItem(l, ctx, orders.find((o) => o.line === l)!.url, kind === 'cancel' ? '3' : 'I'),
    ),
  };
  const resources: [string, Resource][] = [
    [urls.claim, claim],
    [urls.patient, patientOf(request, ctx, urls.patient)],
    [urls.coverage, coverageOf(request, urls, urls.coverage)],
    ...(request.coverage.relationshipToSubscriber === 'self'
      ? []
      : [[urls.subscriber, subscriberOf(request, ctx, urls.subscriber)] as [string, Resource]]),
    [urls.insurer, insurerOf(request, ctx, urls.insurer)],
    [urls.requestor, requestorOf(request, urls.requestor)],
    ...orders.map((o) => [o.url, orderOf(o.line, urls, urgent, o.url)] as [string, Resource]),
  ];
  const entry: BundleEntry[] = resources.map(([fullUrl, resource]) => ({ fullUrl, resource }));
  const bundle: Bundle = {
    resourceType: 'Bundle',
    meta: { profile: [kind === 'inquiry' ? PasProfile.inquiryRequestBundle : PasProfile.requestBundle] },
    identifier: {
      system: `urn:pagw:${ctx.tenant}:pas-request`,
      value: `${ctx.caseId}/${kind}/${ctx.at.getTime()}`,
    },
    type: 'collection',
    timestamp: ctx.at.toISOString(),
    entry,
  };
  const profile = kind === 'inquiry' ? PasProfile.inquiryRequestBundle : PasProfile.requestBundle;
  const report = validateProfile(bundle, profile);
  if (!report.valid) {
    const problems = profileProblems(report);
    throw new PasError(
      'PAGW_PAS_REQUEST_INVALID',
      `The PAS ${kind} Bundle for case ${ctx.caseId} fails ${profile}: ${problems
        .slice(0, 3)
        .map((p) => `${p.location}: ${p.message}`)
        .join('; ')}`,
      { problems },
    );
  }
  return { bundle, claim };
}

/** The request Bundle and its Claim as a new submission would carry them (the base of a claim update). */
export function buildPasRequestParts(request: AuthorizationRequest, ctx: PasBuildContext): Built {
  return build(request, ctx, 'submit');
}

/** The `Claim/$submit` request Bundle, validated against the PAS request-bundle profile. */
export function buildPasRequestBundle(request: AuthorizationRequest, ctx: PasBuildContext): Bundle {
  return build(request, ctx, 'submit').bundle;
}

/** A cancellation: an update Claim (related to the original by its identifier) with certification type 3. */
export function buildPasCancelBundle(request: AuthorizationRequest, ctx: PasBuildContext): Bundle {
  return build(request, ctx, 'cancel').bundle;
}

/** The `Claim/$inquire` Bundle: an inquiry Claim carrying the original identifier and item trace numbers. */
export function buildPasInquiryBundle(request: AuthorizationRequest, ctx: PasBuildContext): Bundle {
  return build(request, ctx, 'inquiry').bundle;
}
