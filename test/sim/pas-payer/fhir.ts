/**
 * What the simulated PAS payer reads from a request Bundle and writes back: written from the Da Vinci PAS 2.2.1
 * IG (its example response bundles), independently of the gateway's own builders.
 */
import { randomUUID } from 'node:crypto';

// biome-ignore lint/suspicious/noExplicitAny: loose FHIR JSON in a simulator that reads what clients send
type Json = Record<string, any>;

const PAS = 'http://hl7.org/fhir/us/davinci-pas/StructureDefinition';
const X12 = 'https://codesystem.x12.org/005010';

export interface ReadClaim {
  /** `system|value` of Claim.identifier[0]: the payer's dedupe key. */
  readonly key: string;
  readonly identifier: { system?: string; value: string };
  readonly memberId: string;
  readonly serviceCodes: string[];
  readonly items: {
    sequence: number;
    code: { system?: string; code: string };
    quantity?: number;
    traceNumbers: Json[];
  }[];
  /** The requesting organization's NPI (the PAS subscription filter `orgIdentifier`). */
  readonly orgIdentifier?: string;
  readonly patient?: Json;
  readonly insurer?: Json;
  readonly requestor?: Json;
  /** A cancellation (a Claim update with certification type 3): the `system|value` key of the Claim it cancels. */
  readonly cancels?: string;
  /** A Claim update that changes a request: the `system|value` key of the prior Claim it relates to. */
  readonly updates?: string;
  /** A Claim update's item flags, as sent (infoChanged, infoCancelled). */
  readonly changes?: { sequence: number; change?: string; cancelled: boolean }[];
}

export class BadRequest extends Error {
  constructor(
    message: string,
    readonly expression: string,
  ) {
    super(message);
  }
}

/** The Bundle of a $submit / $inquire body: the Bundle itself, or Parameters with parameter `resource`. */
export function bundleOf(body: Json): Json {
  if (body?.resourceType === 'Bundle') return body;
  if (body?.resourceType === 'Parameters') {
    const p = (body.parameter ?? []).find((x: Json) => x.resource?.resourceType === 'Bundle');
    if (p) return p.resource;
  }
  throw new BadRequest('expected a Bundle, or Parameters holding one', 'Bundle');
}

function resolve(bundle: Json, reference: string | undefined): Json | undefined {
  if (!reference) return undefined;
  const entry = (bundle.entry ?? []).find(
    (e: Json) =>
      e.fullUrl === reference ||
      e.fullUrl?.endsWith(`/${reference}`) ||
      `${e.resource?.resourceType}/${e.resource?.id}` === reference,
  );
  return entry?.resource;
}

export function readClaim(bundle: Json): ReadClaim {
  if (bundle.type !== 'collection')
    throw new BadRequest('a PAS request Bundle is a collection', 'Bundle.type');
  const claim = bundle.entry?.[0]?.resource;
  if (claim?.resourceType !== 'Claim')
    throw new BadRequest('the first entry must be the Claim', 'Bundle.entry[0]');
  const id = claim.identifier?.[0];
  if (!id?.value) throw new BadRequest('the Claim has no identifier', 'Bundle.entry[0].resource.identifier');
  const coverage = resolve(bundle, claim.insurance?.[0]?.coverage?.reference);
  const requestor = resolve(bundle, claim.provider?.reference);
  const items = (claim.item ?? [])
    .filter(
      (item: Json) =>
        !(item.modifierExtension ?? []).some(
          (e: Json) => e.url === `${PAS}/modifierextension-infoCancelled` && e.valueBoolean === true,
        ),
    )
    .map((item: Json) => ({
      sequence: item.sequence,
      code: {
        system: item.productOrService?.coding?.[0]?.system,
        code: item.productOrService?.coding?.[0]?.code ?? '',
      },
      quantity: item.quantity?.value,
      traceNumbers: (item.extension ?? [])
        .filter((e: Json) => e.url === `${PAS}/extension-itemTraceNumber`)
        .map((e: Json) => e.valueIdentifier),
    }));
  // The prior Claim by identifier, or by reference to the Claim the update Bundle includes (PAS spec-72).
  const relatedClaim = claim.related?.[0]?.claim;
  const related = relatedClaim?.identifier ?? resolve(bundle, relatedClaim?.reference)?.identifier?.[0];
  const certification = (list: Json[] | undefined) =>
    (list ?? []).find((e: Json) => e.url === `${PAS}/extension-certificationType`)?.valueCodeableConcept
      ?.coding?.[0]?.code;
  const cancelled = (item: Json) =>
    (item.modifierExtension ?? []).some(
      (e: Json) => e.url === `${PAS}/modifierextension-infoCancelled` && e.valueBoolean === true,
    );
  const cancelling =
    certification(claim.extension) === '3' ||
    (claim.item ?? []).every((item: Json) => certification(item.extension) === '3');
  const relatedKey = related?.value ? `${related.system ?? ''}|${related.value}` : undefined;
  const changes = relatedKey
    ? (claim.item ?? []).map((item: Json) => ({
        sequence: item.sequence,
        change: (item.extension ?? []).find((e: Json) => e.url === `${PAS}/extension-infoChanged`)?.valueCode,
        cancelled: cancelled(item),
      }))
    : undefined;
  return {
    ...(relatedKey && cancelling ? { cancels: relatedKey } : {}),
    ...(relatedKey && !cancelling ? { updates: relatedKey, changes } : {}),
    key: `${id.system ?? ''}|${id.value}`,
    identifier: { ...(id.system ? { system: id.system } : {}), value: id.value },
    memberId: coverage?.subscriberId ?? coverage?.identifier?.[0]?.value ?? '',
    serviceCodes: items.map((i: { code: { code: string } }) => i.code.code),
    items,
    orgIdentifier: (requestor?.identifier ?? []).find(
      (i: Json) => i.system === 'http://hl7.org/fhir/sid/us-npi',
    )?.value,
    patient: resolve(bundle, claim.patient?.reference),
    insurer: resolve(bundle, claim.insurer?.reference),
    requestor,
  };
}

export interface ItemAnswer {
  readonly action: 'A1' | 'A2' | 'A3' | 'A4' | 'A6' | 'C';
  readonly quantity?: number;
}

export interface Answer {
  readonly outcome: 'complete' | 'error';
  readonly certificationNumber?: string;
  readonly administrationReferenceNumber?: string;
  readonly reason?: string;
  readonly items: readonly ItemAnswer[];
  readonly errors?: readonly { code: string; element?: string; path?: string; followUp?: string }[];
  /** Pended for documents: what to send (X12 755 report type) under which tracking control number (PWK06). */
  readonly documents?: { readonly controlNumber: string; readonly reportType: string; readonly text: string };
}

const day = (d: Date) => d.toISOString().slice(0, 10);

/** A PAS response Bundle (ClaimResponse first) for a claim, as the IG's example response bundles are shaped. */
export function responseBundle(claim: ReadClaim, answer: Answer, options: { inquiry?: boolean } = {}): Json {
  const now = new Date();
  const url = () => `urn:uuid:${randomUUID()}`;
  const urls = { claimResponse: url(), patient: url(), insurer: url(), requestor: url() };
  const period = { start: day(now), end: day(new Date(now.getTime() + 90 * 86_400_000)) };
  const items = (answer.outcome === 'error' ? [] : claim.items).map((item, i) => {
    const a = answer.items[i] ?? answer.items[0]!;
    const authorized = a.action === 'A1' || a.action === 'A2' || a.action === 'A6';
    const extension: Json[] = item.traceNumbers.map((t) => ({
      url: `${PAS}/extension-itemTraceNumber`,
      valueIdentifier: t,
    }));
    if (authorized) {
      extension.push({ url: `${PAS}/extension-itemPreAuthIssueDate`, valueDate: day(now) });
      extension.push({ url: `${PAS}/extension-itemPreAuthPeriod`, valuePeriod: period });
      const quantity = a.quantity ?? item.quantity;
      if (quantity !== undefined) {
        extension.push({
          url: `${PAS}/extension-itemAuthorizedDetail`,
          extension: [{ url: 'quantity', valueQuantity: { value: quantity } }],
        });
      }
    }
    if (a.action === 'A4' && answer.administrationReferenceNumber) {
      extension.push({
        url: `${PAS}/extension-administrationReferenceNumber`,
        valueString: answer.administrationReferenceNumber,
      });
    }
    const review: Json[] = [];
    if (authorized && answer.certificationNumber)
      review.push({ url: 'number', valueString: answer.certificationNumber });
    if (answer.reason && (a.action === 'A3' || a.action === 'A6' || a.action === 'A4')) {
      review.push({
        url: 'reasonCode',
        valueCodeableConcept: {
          coding: [{ system: 'https://codesystem.x12.org/external/886', code: answer.reason }],
        },
      });
    }
    review.push({
      url: `${PAS}/extension-reviewActionCode`,
      valueCodeableConcept: { coding: [{ system: `${X12}/306`, code: a.action }] },
    });
    return {
      extension,
      itemSequence: item.sequence,
      adjudication: [
        {
          extension: [{ url: `${PAS}/extension-reviewAction`, extension: review }],
          category: {
            coding: [{ system: 'http://terminology.hl7.org/CodeSystem/adjudication', code: 'submitted' }],
          },
        },
      ],
    };
  });
  const claimResponse: Json = {
    resourceType: 'ClaimResponse',
    id: randomUUID(),
    meta: { profile: [`${PAS}/profile-claim${options.inquiry ? 'inquiryresponse' : 'response'}`] },
    identifier: [{ system: claim.identifier.system ?? 'urn:pas-sim:claim', value: claim.identifier.value }],
    status: 'active',
    type: { coding: [{ system: 'http://terminology.hl7.org/CodeSystem/claim-type', code: 'professional' }] },
    use: 'preauthorization',
    patient: { reference: urls.patient },
    created: now.toISOString(),
    insurer: { reference: urls.insurer },
    ...(claim.requestor ? { requestor: { reference: urls.requestor } } : {}),
    request: { identifier: claim.identifier },
    outcome: answer.outcome,
    ...(answer.outcome === 'error'
      ? {
          error: (answer.errors ?? []).map((e) => ({
            extension: [
              ...(e.followUp
                ? [
                    {
                      url: `${PAS}/extension-errorFollowupAction`,
                      valueCodeableConcept: { coding: [{ system: `${X12}/889`, code: e.followUp }] },
                    },
                  ]
                : []),
              ...(e.element
                ? [
                    {
                      url: `${PAS}/extension-errorElement`,
                      extension: [{ url: 'error', valueString: e.element }],
                    },
                  ]
                : []),
              ...(e.path ? [{ url: `${PAS}/extension-errorPath`, valueString: e.path }] : []),
            ],
            code: { coding: [{ system: `${X12}/901`, code: e.code }] },
          })),
        }
      : { item: items }),
  };
  const entry: Json[] = [{ fullUrl: urls.claimResponse, resource: claimResponse }];
  if (answer.documents) {
    // The payer's request for additional information (X12 PWK): a PAS CommunicationRequest the ClaimResponse names.
    const fullUrl = url();
    claimResponse.communicationRequest = [{ reference: fullUrl }];
    entry.push({
      fullUrl,
      resource: {
        resourceType: 'CommunicationRequest',
        id: randomUUID(),
        meta: { profile: [`${PAS}/profile-communicationrequest`] },
        identifier: [{ system: 'urn:pas-sim:attachment-control', value: answer.documents.controlNumber }],
        status: 'active',
        category: [{ coding: [{ system: `${X12}/755`, code: answer.documents.reportType }] }],
        medium: [
          {
            // PASCommunicationRequestMedium: CDEX, "via a CDex Submit-Attachment operation".
            coding: [{ system: 'http://hl7.org/fhir/us/davinci-pas/CodeSystem/PASTempCodes', code: 'CDEX' }],
          },
        ],
        payload: [{ contentString: answer.documents.text }],
      },
    });
  }
  if (claim.patient) entry.push({ fullUrl: urls.patient, resource: claim.patient });
  if (claim.insurer) entry.push({ fullUrl: urls.insurer, resource: claim.insurer });
  if (claim.requestor) entry.push({ fullUrl: urls.requestor, resource: claim.requestor });
  return {
    resourceType: 'Bundle',
    meta: { profile: [`${PAS}/profile-pas-${options.inquiry ? 'inquiry-response' : 'response'}-bundle`] },
    identifier: { system: 'urn:pas-sim:response', value: randomUUID() },
    type: 'collection',
    timestamp: now.toISOString(),
    entry,
  };
}

export function operationOutcome(
  issues: readonly { severity?: string; code: string; text: string; expression?: string }[],
): Json {
  return {
    resourceType: 'OperationOutcome',
    issue: issues.map((i) => ({
      severity: i.severity ?? 'error',
      code: i.code,
      details: { text: i.text },
      ...(i.expression ? { expression: [i.expression] } : {}),
    })),
  };
}

/** An R4 Subscriptions Backport event notification (Bundle type history), full-resource when asked. */
export function notificationBundle(
  subscription: { id: string; payload: string },
  eventNumber: number,
  response: Json,
): Json {
  const focus = `urn:uuid:${randomUUID()}`;
  return {
    resourceType: 'Bundle',
    type: 'history',
    timestamp: new Date().toISOString(),
    entry: [
      {
        fullUrl: `urn:uuid:${randomUUID()}`,
        resource: {
          resourceType: 'Parameters',
          parameter: [
            { name: 'subscription', valueReference: { reference: `Subscription/${subscription.id}` } },
            {
              name: 'topic',
              valueCanonical: 'http://hl7.org/fhir/us/davinci-pas/SubscriptionTopic/PASSubscriptionTopic',
            },
            { name: 'status', valueCode: 'active' },
            { name: 'type', valueCode: 'event-notification' },
            { name: 'events-since-subscription-start', valueString: String(eventNumber) },
            {
              name: 'notification-event',
              part: [
                { name: 'event-number', valueString: String(eventNumber) },
                { name: 'timestamp', valueInstant: new Date().toISOString() },
                { name: 'focus', valueReference: { reference: focus } },
              ],
            },
          ],
        },
        request: { method: 'GET', url: `Subscription/${subscription.id}/$status` },
        response: { status: '200' },
      },
      ...(subscription.payload === 'full-resource' ? [{ fullUrl: focus, resource: response }] : []),
    ],
  };
}
