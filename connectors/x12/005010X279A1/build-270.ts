/**
 * Builds the 270 eligibility inquiry (005010X279A1) from a canonical AuthorizationRequest:
 *   BHT 0022/13 · 2000A/2100A payer (NM1*PR) · 2000B/2100B provider (NM1*1P, PRV) · 2000C subscriber (TRN when the
 *   subscriber is the patient, NM1*IL with the member id, DMG, DTP*291, EQ*30 and one EQ per service type asked) ·
 *   2000D dependent when the patient is not the subscriber (TRN, NM1*03, DMG, INS, DTP*291, EQ).
 * Validated against the TR3 table before it is returned.
 * @see ASC X12N 005010X279A1 Health Care Eligibility Benefit Inquiry and Response (270/271)
 */
import type { AuthorizationRequest } from '../../../src/canonical/types.generated.ts';
import {
  type BuildOptions,
  buildCheckedInterchange,
  dateValue,
  demographics,
  members,
  personName,
  providerName,
  servicesSpan,
  serviceType,
  unmappable,
} from '../build-parts.ts';
import { type SegmentData, x12Text, x12Timestamp } from '../envelope.ts';
import { inquiry270Spec } from './spec-270.ts';

export function build270Segments(request: AuthorizationRequest, options: BuildOptions): SegmentData[] {
  const { ccyymmdd, hhmm } = x12Timestamp(options.envelope.at);
  const segments: SegmentData[] = [
    ['BHT', ['0022', '13', x12Text(options.submitterReference, 50), ccyymmdd, hhmm]],
  ];
  const payerName = x12Text(options.payer.name, 60);
  if (!payerName) throw unmappable('payer.name', 'The payer directory entry has no name for loop 2100A');
  segments.push(['HL', ['1', '', '20', '1']]);
  segments.push([
    'NM1',
    ['PR', '2', payerName, '', '', '', '', options.payer.idQualifier ?? 'PI', options.payer.id],
  ]);
  const provider = request.requestingProvider ?? request.servicingProvider;
  if (!provider) throw unmappable('$.requestingProvider', 'A 270 needs the inquiring provider (loop 2100B)');
  segments.push(['HL', ['2', '1', '21', '1']]);
  segments.push([
    'NM1',
    providerName(
      '1P',
      provider,
      true,
      request.requestingProvider ? '$.requestingProvider' : '$.servicingProvider',
    ),
  ]);
  if (provider.taxonomy && /^[0-9A-Z]{10}$/.test(provider.taxonomy))
    segments.push(['PRV', ['PE', 'PXC', provider.taxonomy]]);

  const { subscriber, dependent, relationship } = members(request);
  const trace: SegmentData = ['TRN', ['1', x12Text(options.traceNumber, 50), options.traceOriginator]];
  const span = servicesSpan(request);
  const date = dateValue(
    span ?? (request.requestedAt ? { start: request.requestedAt.slice(0, 10) } : undefined),
  );
  const inquiries: SegmentData[] = [['EQ', ['30']]];
  for (const type of [...new Set(request.serviceLines.map((l) => serviceType(l)))].filter(
    (t) => t !== '30' && t !== '1',
  )) {
    inquiries.push(['EQ', [type]]);
  }
  segments.push(['HL', ['3', '2', '22', dependent ? '1' : '0']]);
  if (!dependent) segments.push(trace);
  segments.push([
    'NM1',
    ['IL', '1', ...personName(subscriber.name), 'MI', x12Text(request.coverage.memberId, 80)],
  ]);
  if (!dependent) {
    segments.push(...demographics(subscriber));
    if (date) segments.push(['DTP', ['291', ...date]]);
    segments.push(...inquiries);
    return segments;
  }
  segments.push(['HL', ['4', '3', '23', '0']]);
  segments.push(trace);
  const dependentName = personName(dependent.name);
  if (!dependentName[0])
    throw unmappable('$.patient.name.family', 'The patient has no family name for loop 2100D');
  segments.push(['NM1', ['03', '1', ...dependentName]]);
  segments.push(...demographics(dependent));
  segments.push(['INS', ['N', !relationship || relationship === '21' ? 'G8' : relationship]]);
  if (date) segments.push(['DTP', ['291', ...date]]);
  segments.push(...inquiries);
  return segments;
}

export function build270(request: AuthorizationRequest, options: BuildOptions): string {
  return buildCheckedInterchange(
    options.envelope,
    { functionalId: 'HS', setId: '270', version: '005010X279A1', spec: inquiry270Spec },
    options.traceOriginator,
    () => build270Segments(request, options),
  );
}
