/**
 * The PAS request Bundle built from the canonical request: Claim (use preauthorization, the PAS Claim profile's
 * required elements, item trace numbers, certification type, request type, requested-service references),
 * Patient, Coverage, insurer and requestor Organizations, one ServiceRequest / DeviceRequest / MedicationRequest
 * per line, and supporting documents by reference. Also the inquiry Bundle ($inquire) and the cancel update.
 * Every Bundle passes its PAS profile (src/profiles) before it is returned: a request we built wrongly is our
 * bug and is never sent (PAGW_PAS_REQUEST_INVALID, not retriable).
 *
 * This file assembles and validates the Bundle; its parts live beside it: build-context.ts (the build context, entry
 * URLs and ids), request-parties.ts (Patient, subscriber, Coverage, insurer and requestor) and request-lines.ts (one
 * order and one Claim item per service line).
 * @see http://hl7.org/fhir/us/davinci-pas/StructureDefinition-profile-pas-request-bundle.html
 */
import type { Bundle, BundleEntry, Claim, Resource } from '@medplum/fhirtypes';
import { CodeSystem } from '../../src/canonical/index.ts';
import type { AuthorizationRequest } from '../../src/canonical/types.generated.ts';
import {
  claimTraceIdentifier,
  itemTraceIdentifiers,
  PAS_SD,
  PasExtension,
  X12System,
} from '../../src/outbound/index.ts';
import { PasProfile, profileProblems, validateProfile } from '../../src/profiles/index.ts';
import { idOf, type PasBuildContext, urn } from './build-context.ts';
import { PasError } from './errors.ts';
import { claimItem, orderOf } from './request-lines.ts';
import { coverageOf, insurerOf, patientOf, requestorOf, subscriberOf } from './request-parties.ts';

export { type PasBuildContext, urn } from './build-context.ts';

const PASTEMP = 'http://hl7.org/fhir/us/davinci-pas/CodeSystem/PASTempCodes';

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
