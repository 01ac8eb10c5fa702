/**
 * Builds the 278 request for review (005010X217) from a canonical AuthorizationRequest:
 *   BHT 0007/13 · 2000A UMO (NM1*X3) · 2000B requester (NM1*1P, N3/N4, PRV) · 2000C subscriber (NM1*IL, N3/N4,
 *   DMG) · 2000D dependent when the patient is not the subscriber (NM1*QC, DMG, INS) · 2000E patient event
 *   (TRN, UM, REF, DTP AAH/435, HI, 2010EA service provider) · 2000F one per service line (UM, DTP 472,
 *   SV1 or SV2, HSD).
 * The result is checked against the TR3 table (spec.ts) before it is returned: what leaves is strict.
 * @see ASC X12N 005010X217 Health Care Services Review — Request for Review and Response (278)
 */
import type { AuthorizationRequest } from '../../../src/canonical/types.generated.ts';
import {
  addressSegments,
  type BuildOptions,
  buildCheckedInterchange,
  dateValue,
  demographics,
  diagnosisComposites,
  members,
  personName,
  placeOfService,
  procedureComposite,
  providerDetails,
  providerName,
  quantityParts,
  servicesSpan,
  serviceType,
  unmappable,
} from '../build-parts.ts';
import { type SegmentData, x12Text, x12Timestamp } from '../envelope.ts';
import { request278Spec } from './spec.ts';

/** Places of service billed on an institutional claim: their lines go in SV2, the rest in SV1. */
const institutionalPlaces = new Set(['19', '21', '22', '23', '51', '61']);
/** Inpatient places: the request is an admission review (UM01 AR) with an admission date. */
const inpatientPlaces = new Set(['21', '51', '61']);

export interface Build278Options extends BuildOptions {
  /** UM02: I initial (default), 3 cancel, S revised, 4 extension, 1 appeal (immediate), 2 appeal (standard). */
  readonly certificationType?: 'I' | '3' | 'S' | '4' | '1' | '2';
  /** REF*BB: the payer's authorization number being cancelled, revised or extended. */
  readonly previousAuthorizationNumber?: string;
  /** REF*NT: the payer's administrative reference of a pended review. */
  readonly administrativeReference?: string;
  /** PWK in 2000E: documentation sent electronically under an attachment control number (a 275 follows). */
  readonly paperwork?: { readonly reportType: string; readonly controlNumber: string };
}

/** The HL levels 2000A-2000D and where the patient event hangs. Shared with the 278 inquiry (005010X215). */
export function partyLevels(
  request: AuthorizationRequest,
  options: BuildOptions,
): { segments: SegmentData[]; nextHl: number; eventParent: number } {
  const segments: SegmentData[] = [];
  const requester = request.requestingProvider ?? request.servicingProvider;
  if (!requester) throw unmappable('$.requestingProvider', 'A 278 needs a requesting provider (loop 2010B)');
  const requesterLocation = request.requestingProvider ? '$.requestingProvider' : '$.servicingProvider';
  const payerName = x12Text(options.payer.name, 60);
  if (!payerName) throw unmappable('payer.name', 'The payer directory entry has no name for loop 2010A');
  segments.push(['HL', ['1', '', '20', '1']]);
  segments.push([
    'NM1',
    ['X3', '2', payerName, '', '', '', '', options.payer.idQualifier ?? 'PI', options.payer.id],
  ]);
  segments.push(['HL', ['2', '1', '21', '1']]);
  segments.push(['NM1', providerName('1P', requester, true, requesterLocation)]);
  segments.push(...providerDetails(requester, 'RF'));

  const { subscriber, dependent, relationship } = members(request);
  const subscriberName = personName(subscriber.name);
  if (!subscriberName[0])
    throw unmappable('$.patient.name.family', 'The subscriber has no family name for loop 2010C');
  segments.push(['HL', ['3', '2', '22', '1']]);
  segments.push(['NM1', ['IL', '1', ...subscriberName, 'MI', x12Text(request.coverage.memberId, 80)]]);
  segments.push(...addressSegments(subscriber.address), ...demographics(subscriber));
  if (!dependent) return { segments, nextHl: 4, eventParent: 3 };

  const dependentName = personName(dependent.name);
  if (!dependentName[0])
    throw unmappable('$.patient.name.family', 'The patient has no family name for loop 2010D');
  segments.push(['HL', ['4', '3', '23', '1']]);
  segments.push(['NM1', ['QC', '1', ...dependentName]]);
  segments.push(...addressSegments(dependent.address), ...demographics(dependent));
  segments.push(['INS', ['N', relationship ?? '21']]);
  return { segments, nextHl: 5, eventParent: 4 };
}

/** The 278 transaction set's segments between ST and SE. */
export function build278Segments(request: AuthorizationRequest, options: Build278Options): SegmentData[] {
  const { ccyymmdd, hhmm } = x12Timestamp(options.envelope.at);
  const segments: SegmentData[] = [
    ['BHT', ['0007', '13', x12Text(options.submitterReference, 50), ccyymmdd, hhmm]],
  ];
  const parties = partyLevels(request, options);
  segments.push(...parties.segments);

  const certificationType = options.certificationType ?? 'I';
  const firstLine = request.serviceLines[0];
  const eventPlace = placeOfService(request, firstLine);
  const inpatient = eventPlace !== undefined && inpatientPlaces.has(eventPlace);
  const eventHl = parties.nextHl;
  segments.push(['HL', [String(eventHl), String(parties.eventParent), 'EV', '1']]);
  segments.push(['TRN', ['1', x12Text(options.traceNumber, 50), options.traceOriginator]]);
  segments.push([
    'UM',
    [
      inpatient ? 'AR' : 'HS',
      certificationType,
      serviceType(firstLine),
      eventPlace ? `${eventPlace}:B` : '',
      '',
      request.urgency === 'expedited' ? 'U' : '',
    ],
  ]);
  if (options.previousAuthorizationNumber)
    segments.push(['REF', ['BB', x12Text(options.previousAuthorizationNumber, 50)]]);
  if (options.administrativeReference)
    segments.push(['REF', ['NT', x12Text(options.administrativeReference, 50)]]);
  const span = servicesSpan(request);
  const eventDate = dateValue(span);
  if (eventDate) segments.push(['DTP', ['AAH', ...eventDate]]);
  if (inpatient && span?.start) segments.push(['DTP', ['435', ...dateValue({ start: span.start })!]]);
  const diagnoses = diagnosisComposites(request);
  if (diagnoses.length) segments.push(['HI', diagnoses]);
  if (options.paperwork)
    segments.push([
      'PWK',
      [options.paperwork.reportType, 'EL', '', '', 'AC', x12Text(options.paperwork.controlNumber, 80)],
    ]);
  if (
    request.servicingProvider &&
    (request.servicingProvider.name?.family || request.servicingProvider.organizationName)
  ) {
    const entity = !request.servicingProvider.name?.family && inpatient ? 'FA' : 'SJ';
    segments.push(['NM1', providerName(entity, request.servicingProvider, false, '$.servicingProvider')]);
    segments.push(...providerDetails(request.servicingProvider, 'PE'));
  }

  request.serviceLines.forEach((line, index) => {
    const location = `$.serviceLines[${index}]`;
    const [qualifier, code] = procedureComposite(line, location);
    const modifiers = (line.modifiers ?? []).slice(0, 4).map((m) => m.toUpperCase());
    const composite = [qualifier, code, ...modifiers].join(':');
    const place = placeOfService(request, line);
    const institutional = place !== undefined && institutionalPlaces.has(place);
    const quantity = quantityParts(line.quantity);
    segments.push(['HL', [String(eventHl + index + 1), String(eventHl), 'SS', '0']]);
    segments.push(['UM', ['HS', certificationType, serviceType(line)]]);
    const serviceDate = dateValue(line.servicePeriod);
    if (serviceDate) segments.push(['DTP', ['472', ...serviceDate]]);
    if (institutional) {
      const unit =
        quantity.unit === 'UN' || quantity.unit === 'MJ' ? 'UN' : quantity.hsd === 'DY' ? 'DA' : '';
      segments.push(['SV2', ['', composite, '', unit, unit ? (quantity.value ?? '') : '']]);
      if (quantity.hsd === 'VS') segments.push(['HSD', ['VS', quantity.value!]]);
    } else {
      segments.push([
        'SV1',
        [composite, '', quantity.unit ?? '', quantity.unit ? (quantity.value ?? '') : ''],
      ]);
      if (quantity.hsd) segments.push(['HSD', [quantity.hsd, quantity.value!]]);
    }
  });
  return segments;
}

/** The whole 278 interchange, validated against the TR3 before it is returned. */
export function build278(request: AuthorizationRequest, options: Build278Options): string {
  return buildCheckedInterchange(
    options.envelope,
    { functionalId: 'HI', setId: '278', version: '005010X217', spec: request278Spec },
    options.traceOriginator,
    () => build278Segments(request, options),
  );
}
