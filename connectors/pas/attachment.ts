/**
 * Documents a payer asked for on a pended PAS request, sent the way PAS 2.2.1 specifies: "Request for Additional
 * Information" (additionalinfo.html) — the payer's request (X12 PWK / LOINC, in the PAS response as a
 * CommunicationRequest) is answered with the CDex `$submit-attachment` operation at the payer's endpoint, NOT with a
 * Claim update ("When either code is present, the provider system uses the $submit-attachment operation to return
 * the information to the endpoint provided in payer-url"; the PAS CommunicationRequest medium code `CDEX` reads "via
 * a CDex Submit-Attachment operation"). The endpoint is `<baseUrl>/$submit-attachment`. The operation's Parameters (Da Vinci CDex 2.1.0, which PAS
 * 2.2.1 depends on): trackingId (the payer's re-association tracking control number: the CommunicationRequest
 * identifier / PWK06, else our Claim identifier), attachTo `preauthorization`, payerId, organizationId, providerId,
 * memberId, and one `attachment` per document (lineItem per Claim item sequence, code = the X12 755 report type asked
 * for, content = a PAS DocumentReference with the bytes inline: the PAS profile forbids a url and requires data).
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
import { PasError } from './errors.ts';
import type { PasBuildContext } from './request-bundle.ts';

const REPORT_TYPE = 'https://codesystem.x12.org/005010/755';
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
  const parameter: ParametersParameter[] = [
    {
      name: 'trackingId',
      valueIdentifier: document.controlNumber ? { value: document.controlNumber } : trace,
    },
    { name: 'attachTo', valueCode: 'preauthorization' },
    { name: 'payerId', valueIdentifier: payer },
    ...(npi
      ? [
          { name: 'organizationId', valueIdentifier: { system: CodeSystem.NPI, value: npi } },
          { name: 'providerId', valueIdentifier: { system: CodeSystem.NPI, value: npi } },
        ]
      : []),
    { name: 'memberId', valueIdentifier: member },
    {
      name: 'attachment',
      part: [
        ...target.lines.map((line) => ({ name: 'lineItem', valueString: String(line) })),
        {
          name: 'code',
          valueCodeableConcept: { coding: [{ system: REPORT_TYPE, code: document.reportType }] },
        },
        { name: 'content', resource: doc },
      ],
    },
  ];
  return { resourceType: 'Parameters', parameter };
}
