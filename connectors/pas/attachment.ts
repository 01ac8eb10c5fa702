/**
 * Documents a payer asked for on a pended PAS request, sent the way PAS 2.2.1 specifies: "Request for Additional
 * Information" (additionalinfo.html) — the payer's request (X12 PWK / LOINC, in the PAS response as a
 * CommunicationRequest) is answered with the CDex `$submit-attachment` operation at the payer's endpoint, NOT with a
 * Claim update ("When either code is present, the provider system uses the $submit-attachment operation to return
 * the information to the endpoint provided in payer-url"; the PAS CommunicationRequest medium code `CDEX` reads "via
 * a CDex Submit-Attachment operation"). The endpoint is the channel's `attachmentUrl`, else `<baseUrl>/$submit-attachment`
 * (pasAttachmentUrl): payers may host the operation apart from their PAS base.
 *
 * The Parameters follow the published OperationDefinition exactly — names are case-sensitive and the Parameters
 * profile slices them closed by name, so `trackingId` is not `TrackingId` to a conformant payer:
 *   OperationDefinition http://hl7.org/fhir/us/davinci-cdex/OperationDefinition/submit-attachment, version 2.1.0
 *   (Da Vinci CDex 2.1.0, STU2.1 — the version PAS 2.2.1 depends on); input Parameters profile
 *   http://hl7.org/fhir/us/davinci-cdex/StructureDefinition/cdex-parameters-submit-attachment (declared in meta.profile).
 *   TrackingId 1..1 Identifier — the payer's re-association tracking control number (CommunicationRequest identifier /
 *     PWK06), else our Claim identifier;
 *   AttachTo 1..1 code (claim | preauthorization) — `preauthorization`;
 *   PayerId 0..1, OrganizationId 0..1, ProviderId 0..1, MemberId 1..1 (Identifier) — we send PayerId always, the NPI
 *     ones when the request has a requesting NPI;
 *   ServiceDate 0..1 dateTime — the earliest service start of the request, when it has one;
 *   Attachment 1..* with parts LineItem 0..* string (Claim item sequences), Code 0..1 CodeableConcept (the X12 755
 *     report type asked for), Content 1..1 Resource (here a PAS DocumentReference with the bytes inline: the PAS
 *     profile forbids a url and requires data);
 *   Final 0..1 boolean — false while more documents of the same sending follow (absent means final).
 * The DocumentReference passes its PAS profile before it is returned, else PAGW_PAS_REQUEST_INVALID.
 * @see http://hl7.org/fhir/us/davinci-pas/STU2.2/additionalinfo.html
 * @see http://hl7.org/fhir/us/davinci-cdex/STU2.1/OperationDefinition-submit-attachment.html
 */
import type { DocumentReference, Identifier, Parameters, ParametersParameter } from '@medplum/fhirtypes';
import { CodeSystem } from '../../src/canonical/index.ts';
import type { AuthorizationRequest } from '../../src/canonical/types.generated.ts';
import { claimTraceIdentifier } from '../../src/outbound/index.ts';
import { PasProfile, profileProblems, validateProfile } from '../../src/profiles/index.ts';
import { deterministicUuid } from '../../src/store/ids.ts';
import type { PayerAttachment } from '../../src/workflow/ports/payer-connector.ts';
import type { PasChannel } from '../../src/workflow/rules/types.generated.ts';
import { PasError } from './errors.ts';
import type { PasBuildContext } from './request-bundle.ts';

const REPORT_TYPE = 'https://codesystem.x12.org/005010/755';

/** The CDex 2.1.0 Parameters profile of `$submit-attachment`'s input. */
export const CDEX_SUBMIT_ATTACHMENT_PARAMETERS =
  'http://hl7.org/fhir/us/davinci-cdex/StructureDefinition/cdex-parameters-submit-attachment';

/** Where the payer takes `$submit-attachment`: its own attachment endpoint, else the operation at its PAS base. */
export function pasAttachmentUrl(channel: Pick<PasChannel, 'baseUrl' | 'attachmentUrl'>): string {
  return channel.attachmentUrl ?? `${channel.baseUrl.replace(/\/+$/, '')}/$submit-attachment`;
}
const LOINC = 'http://loinc.org';

/** X12 755 report types with the LOINC document type that says the same (US Core DocumentReference.type). */
const documentTypeOf: Readonly<Record<string, { code: string; display: string }>> = {
  '09': { code: '11506-3', display: 'Progress note' },
  OB: { code: '11504-8', display: 'Surgical operation note' },
  DS: { code: '18842-5', display: 'Discharge summary' },
  CT: { code: '34109-9', display: 'Note' },
};
const anyNote = { code: '34109-9', display: 'Note' };

export interface AttachmentTarget {
  /** The Claim item sequences the document supports (every line of the request when the payer named none). */
  readonly lines: readonly number[];
  /** False while more documents of the same sending follow (CDex `Final`); true for the last one. */
  readonly final: boolean;
}

/** The `$submit-attachment` Parameters for one document. */
export function buildPasAttachmentParameters(
  request: AuthorizationRequest,
  ctx: PasBuildContext,
  document: PayerAttachment,
  target: AttachmentTarget,
): Parameters {
  const coverage = request.coverage;
  const member: Identifier = { system: 'urn:pagw:member-id', value: coverage.memberId };
  const payer: Identifier = coverage.payerIdSystem
    ? { system: coverage.payerIdSystem, value: coverage.payerId }
    : { system: `urn:pagw:${ctx.tenant}:payer`, value: ctx.payer.channelPayerId ?? ctx.payer.id };
  const npi = request.requestingProvider?.npi;
  const trace = claimTraceIdentifier({ id: ctx.tenant }, ctx.caseId);
  const type = documentTypeOf[document.reportType] ?? anyNote;
  const doc: DocumentReference = {
    resourceType: 'DocumentReference',
    id: deterministicUuid('pas-attachment', ctx.caseId, document.documentId),
    meta: { profile: [PasProfile.documentReference] },
    identifier: [{ system: 'urn:ietf:rfc:3986', value: `urn:uuid:${document.documentId}` }],
    status: 'current',
    type: { coding: [{ system: LOINC, ...type }] },
    category: [
      {
        coding: [
          {
            system: 'http://hl7.org/fhir/us/core/CodeSystem/us-core-documentreference-category',
            code: 'clinical-note',
          },
        ],
      },
    ],
    subject: { identifier: member },
    date: ctx.at.toISOString(),
    content: [
      { attachment: { contentType: document.contentType, data: document.content.toString('base64') } },
    ],
  };
  const report = validateProfile(doc, PasProfile.documentReference);
  if (!report.valid) {
    const problems = profileProblems(report);
    throw new PasError(
      'PAGW_PAS_REQUEST_INVALID',
      `The PAS attachment for case ${ctx.caseId} fails ${PasProfile.documentReference}: ${problems
        .slice(0, 3)
        .map((p) => `${p.location}: ${p.message}`)
        .join('; ')}`,
      { problems },
    );
  }
  const serviceDate = request.serviceLines
    .map((l) => l.servicePeriod?.start)
    .filter((d): d is string => d !== undefined)
    .sort()[0];
  const parameter: ParametersParameter[] = [
    {
      name: 'TrackingId',
      valueIdentifier: document.controlNumber ? { value: document.controlNumber } : trace,
    },
    { name: 'AttachTo', valueCode: 'preauthorization' },
    { name: 'PayerId', valueIdentifier: payer },
    ...(npi
      ? [
          { name: 'OrganizationId', valueIdentifier: { system: CodeSystem.NPI, value: npi } },
          { name: 'ProviderId', valueIdentifier: { system: CodeSystem.NPI, value: npi } },
        ]
      : []),
    { name: 'MemberId', valueIdentifier: member },
    ...(serviceDate ? [{ name: 'ServiceDate', valueDateTime: serviceDate }] : []),
    {
      name: 'Attachment',
      part: [
        ...target.lines.map((line) => ({ name: 'LineItem', valueString: String(line) })),
        {
          name: 'Code',
          // The report type the payer asked for (X12 755), and — CDex binds Code extensibly to LOINC — the LOINC
          // document type that says the same.
          valueCodeableConcept: {
            coding: [
              { system: REPORT_TYPE, code: document.reportType },
              { system: LOINC, ...type },
            ],
          },
        },
        { name: 'Content', resource: doc },
      ],
    },
    { name: 'Final', valueBoolean: target.final },
  ];
  return { resourceType: 'Parameters', meta: { profile: [CDEX_SUBMIT_ATTACHMENT_PARAMETERS] }, parameter };
}
