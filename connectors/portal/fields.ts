/**
 * The canonical fields a recipe may type into a portal form (`"from": { "field": "…" }`): a flat view of the
 * canonical AuthorizationRequest, the way a clerk would read it off the order. Pure.
 */
import type { AuthorizationRequest } from '../../src/canonical/types.generated.ts';

export interface Attachment {
  readonly name: string;
  readonly mimeType: string;
  readonly buffer: Buffer;
}

export const portalFieldNames = [
  'patient.family',
  'patient.given',
  'patient.birthDate',
  'patient.sex',
  'coverage.memberId',
  'coverage.groupNumber',
  'serviceCodes',
  // Units per service line (in the order of serviceCodes) and the service dates: what a changed order changes.
  'units',
  'serviceStart',
  'serviceEnd',
  'diagnosisCodes',
  'requestingProvider.npi',
  'servicingProvider.npi',
  'urgency',
  'traceNumber',
  'placerOrderNumber',
  // A prescription drug request (a pharmacy's PA flag, issue #15), as a drug PA form asks for it.
  'pharmacy.bin',
  'pharmacy.pcn',
  'pharmacy.group',
  'pharmacy.cardholderId',
  'drug.ndc',
  'drug.name',
  'drug.quantity',
  'drug.daysSupply',
  'drug.refills',
  'prescription.id',
  'criteriaSummary',
  'attachment',
  // The documents the payer asked for (upload flow only): the files of a send_documents, never typed.
  'documents',
] as const;
export type PortalFieldName = (typeof portalFieldNames)[number];
/** Fields that are files set on a file input, not text. */
export const fileFieldNames = ['attachment', 'documents'] as const;

/** The request's service dates: the earliest start and latest end over its lines (YYYY-MM-DD as typed). */
function serviceDates(request: AuthorizationRequest): { start: string; end: string } {
  const starts = request.serviceLines.map((l) => l.servicePeriod?.start).filter((d): d is string => !!d);
  const ends = request.serviceLines.map((l) => l.servicePeriod?.end).filter((d): d is string => !!d);
  const day = (d: string | undefined) => d?.slice(0, 10) ?? '';
  return { start: day(starts.sort()[0]), end: day(ends.sort().at(-1)) };
}

/** Text values of the fields (files excepted); absent values are empty strings. */
export function portalFields(
  request: AuthorizationRequest,
  traceNumber: string,
): Record<Exclude<PortalFieldName, (typeof fileFieldNames)[number]>, string> {
  const dates = serviceDates(request);
  return {
    'patient.family': request.patient.name?.family ?? '',
    'patient.given': request.patient.name?.given?.join(' ') ?? '',
    'patient.birthDate': request.patient.birthDate ?? '',
    'patient.sex': request.patient.sex ?? '',
    'coverage.memberId': request.coverage.memberId,
    'coverage.groupNumber': request.coverage.groupNumber ?? '',
    serviceCodes: request.serviceLines.map((l) => l.code.code).join(', '),
    units: request.serviceLines.map((l) => String(l.quantity?.value ?? 1)).join(', '),
    serviceStart: dates.start,
    serviceEnd: dates.end,
    diagnosisCodes: request.diagnoses.map((d) => d.code.code).join(', '),
    'requestingProvider.npi': request.requestingProvider?.npi ?? '',
    'servicingProvider.npi': request.servicingProvider?.npi ?? request.requestingProvider?.npi ?? '',
    urgency: request.urgency,
    traceNumber,
    placerOrderNumber: request.orderReference?.placerOrderNumber ?? '',
    ...drugFields(request),
  };
}

/** The drug, benefit and prescription a drug PA form asks for (empty for a request without a prescription). */
function drugFields(request: AuthorizationRequest) {
  const benefit = request.coverage.pharmacyBenefit;
  const line = request.serviceLines.find((l) => l.prescription) ?? request.serviceLines[0];
  const rx = line?.prescription;
  const text = (n: number | undefined) => (n === undefined ? '' : String(n));
  return {
    'pharmacy.bin': benefit?.bin ?? '',
    'pharmacy.pcn': benefit?.pcn ?? '',
    'pharmacy.group': benefit?.group ?? request.coverage.groupNumber ?? '',
    'pharmacy.cardholderId': benefit?.cardholderId ?? request.coverage.memberId,
    'drug.ndc': rx && line ? line.code.code : '',
    'drug.name': rx && line ? (line.code.display ?? '') : '',
    'drug.quantity': rx ? text(line?.quantity?.value) : '',
    'drug.daysSupply': text(rx?.daysSupply),
    'drug.refills': text(rx?.refills),
    'prescription.id': rx?.id ?? '',
    // The clinical questions of a drug PA form, answered from the pharmacist-signed checklist: one line each.
    criteriaSummary: (request.clinicalCriteria?.items ?? [])
      .map((i) => `${i.description}: ${i.status.replace('_', ' ')} (${i.reason})`)
      .join('\n'),
  };
}

/**
 * The attachment uploaded with the request: a clinical summary of the order (services, diagnoses, urgency,
 * supporting documents by reference), built in memory — never written to disk.
 */
export function requestAttachment(request: AuthorizationRequest, traceNumber: string): Attachment {
  const lines = [
    'Prior authorization request — clinical summary',
    `Reference: ${traceNumber}`,
    `Urgency: ${request.urgency}`,
    '',
    'Requested services:',
    ...request.serviceLines.map(
      (l) =>
        `  ${l.sequence}. ${l.code.code}${l.code.display ? ` ${l.code.display}` : ''}${l.quantity ? ` × ${l.quantity.value}${l.quantity.unit ? ` ${l.quantity.unit}` : ''}` : ''}`,
    ),
    'Diagnoses:',
    ...request.diagnoses.map(
      (d) => `  ${d.code.code}${d.code.display ? ` ${d.code.display}` : ''}${d.primary ? ' (primary)' : ''}`,
    ),
    ...(request.supportingDocuments?.length
      ? [
          'Supporting documents:',
          ...request.supportingDocuments.map((d) => `  ${d.title ?? d.reference} (${d.reference})`),
        ]
      : []),
    ...(request.notes?.length ? ['Notes:', ...request.notes.map((n) => `  ${n}`)] : []),
  ];
  return {
    name: `pa-request-${traceNumber}.txt`,
    mimeType: 'text/plain',
    buffer: Buffer.from(`${lines.join('\n')}\n`, 'utf8'),
  };
}

export const reportTypeSystem = 'https://codesystem.x12.org/005010/755';

/**
 * The documents a portal page says the payer wants (an extract into `documentsRequested`: kinds separated by `;` or
 * lines), as the decision's documentsRequested: each kind coded by the recipe's documentTypes (X12 755), OZ (support
 * data) when the recipe does not know it. A portal gives no attachment control number: the upload names the request.
 */
export function documentsAsked(
  text: string | undefined,
  documentTypes: Readonly<Record<string, string>> = {},
): Array<{ type: { system: string; code: string; display: string }; transmission: 'FT' }> {
  return (text ?? '')
    .split(/[;\n]/)
    .map((kind) => kind.trim())
    .filter((kind) => kind !== '')
    .map((kind) => ({
      type: { system: reportTypeSystem, code: documentTypes[kind] ?? 'OZ', display: kind },
      // X12 756 FT: file transfer (an upload on the portal).
      transmission: 'FT' as const,
    }));
}

const extensions: Record<string, string> = {
  'application/pdf': 'pdf',
  'image/png': 'png',
  'image/jpeg': 'jpg',
  'image/tiff': 'tif',
  'application/xml': 'xml',
  'text/xml': 'xml',
};

/**
 * A document as a file for the portal's upload input, from memory (never written to disk). Its name says its kind
 * and document id only — no patient data in a file name the payer's staff and logs see.
 */
export function documentFile(doc: {
  readonly documentId: string;
  readonly reportType: string;
  readonly contentType: string;
  readonly content: Buffer;
}): Attachment {
  return {
    name: `${doc.reportType}-${doc.documentId.slice(0, 8)}.${extensions[doc.contentType] ?? 'bin'}`,
    mimeType: doc.contentType,
    buffer: doc.content,
  };
}
