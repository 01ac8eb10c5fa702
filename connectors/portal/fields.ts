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
] as const;
export type PortalFieldName = (typeof portalFieldNames)[number];

/** Text values of the fields (attachment excepted); absent values are empty strings. */
export function portalFields(
  request: AuthorizationRequest,
  traceNumber: string,
): Record<Exclude<PortalFieldName, 'attachment'>, string> {
  return {
    'patient.family': request.patient.name?.family ?? '',
    'patient.given': request.patient.name?.given?.join(' ') ?? '',
    'patient.birthDate': request.patient.birthDate ?? '',
    'patient.sex': request.patient.sex ?? '',
    'coverage.memberId': request.coverage.memberId,
    'coverage.groupNumber': request.coverage.groupNumber ?? '',
    serviceCodes: request.serviceLines.map((l) => l.code.code).join(', '),
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
