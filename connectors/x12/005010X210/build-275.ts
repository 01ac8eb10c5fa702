/**
 * The 275 that sends documents a payer asked for on a pended 278: one document per transaction set, as a MIME body
 * (its content type and the report type it answers) base64-encoded in BIN02, under the attachment control number
 * the payer gave in PWK06 (TRN02). Pure; the interchange is validated against attachment275Spec before it leaves.
 * @see ASC X12N 005010X210 sections 2.3-2.4; RFC 2045 (MIME)
 */
import type { AuthorizationRequest } from '../../../src/canonical/types.generated.ts';
import { type BuildOptions, buildCheckedInterchange, personName, unmappable } from '../build-parts.ts';
import { x12Text } from '../envelope.ts';
import { attachment275Spec } from './spec.ts';

export interface AttachmentDocument {
  /** The payer's attachment control number (PWK06): what the 275 answers. */
  readonly controlNumber: string;
  /** The kind of document (PWK01 report type) it is sent as. */
  readonly reportType: string;
  readonly contentType: string;
  readonly content: Buffer;
}

/** The MIME entity carried in BIN02. */
export function mimeBody(doc: AttachmentDocument): string {
  const base64 = doc.content.toString('base64').replace(/.{76}/g, '$&\r\n');
  return [
    'MIME-Version: 1.0',
    `Content-Type: ${doc.contentType}`,
    'Content-Transfer-Encoding: base64',
    `Content-Description: X12 755 report type ${doc.reportType}`,
    '',
    base64,
  ].join('\r\n');
}

export function build275(
  request: AuthorizationRequest,
  doc: AttachmentDocument,
  options: BuildOptions,
): string {
  if (!/^[A-Za-z0-9-]{1,50}$/.test(doc.controlNumber))
    throw unmappable(
      'attachmentControlNumber',
      'The attachment control number must be 1-50 letters or digits',
    );
  const provider = request.requestingProvider;
  const npi = provider?.npi;
  if (!provider || !npi)
    throw unmappable('$.requestingProvider.npi', 'A 275 names the requesting provider by NPI');
  const [last, first] = personName(request.patient.name);
  if (!last) throw unmappable('$.patient.name.family', 'A 275 names the patient (1000D NM103)');
  const at = options.envelope.at;
  const date = at.toISOString().slice(0, 10).replace(/-/g, '');
  const body = Buffer.from(mimeBody(doc), 'utf8').toString('base64');
  return buildCheckedInterchange(
    options.envelope,
    { functionalId: 'PI', setId: '275', version: '005010X210', spec: attachment275Spec },
    options.traceOriginator,
    () => [
      ['BGN', ['11', x12Text(options.submitterReference, 50), date]],
      [
        'NM1',
        [
          'PR',
          '2',
          x12Text(options.payer.name, 60),
          '',
          '',
          '',
          '',
          options.payer.idQualifier ?? 'PI',
          options.payer.id,
        ],
      ],
      [
        'NM1',
        [
          '41',
          '2',
          x12Text(options.envelope.sender.id, 60),
          '',
          '',
          '',
          '',
          '46',
          options.envelope.sender.id,
        ],
      ],
      [
        'NM1',
        [
          '1P',
          provider.name?.family ? '1' : '2',
          ...(provider.name?.family
            ? personName(provider.name)
            : [x12Text(provider.organizationName, 60), '', '', '', '']),
          'XX',
          npi,
        ],
      ],
      ['NM1', ['QC', '1', last, first, '', '', '', 'MI', x12Text(request.coverage.memberId, 80)]],
      ['REF', ['EJ', x12Text(options.traceNumber, 50)]],
      ['LX', ['1']],
      ['TRN', ['2', doc.controlNumber]],
      ['DTP', ['368', 'D8', date]],
      ['CAT', ['AE', 'MB']],
      ['EFI', ['09']],
      ['BIN', [String(body.length), body]],
    ],
  );
}
