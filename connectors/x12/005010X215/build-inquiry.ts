/**
 * Builds the 278 inquiry (005010X215 Health Care Services Review — Inquiry and Response) that follows up a
 * review: the same parties as the request, and a patient event carrying our trace number (TRN), the payer's
 * authorization or administrative reference (REF*BB / REF*NT) when known, and the event date. The gateway uses
 * it to poll a pended review and to reconcile: "do you already have trace X?".
 * @see ASC X12N 005010X215 Health Care Services Review — Inquiry and Response (278)
 */
import type { AuthorizationRequest } from '../../../src/canonical/types.generated.ts';
import { partyLevels } from '../005010X217/build-278.ts';
import { servicesReviewSpec } from '../005010X217/spec.ts';
import {
  type BuildOptions,
  buildCheckedInterchange,
  dateValue,
  placeOfService,
  servicesSpan,
  serviceType,
} from '../build-parts.ts';
import { type SegmentData, x12Text, x12Timestamp } from '../envelope.ts';

export const inquiry278Spec = servicesReviewSpec('005010X215');

export interface BuildInquiryOptions extends BuildOptions {
  readonly authorizationNumber?: string;
  readonly administrativeReference?: string;
}

export function buildInquirySegments(
  request: AuthorizationRequest,
  options: BuildInquiryOptions,
): SegmentData[] {
  const { ccyymmdd, hhmm } = x12Timestamp(options.envelope.at);
  const segments: SegmentData[] = [
    ['BHT', ['0007', '13', x12Text(options.submitterReference, 50), ccyymmdd, hhmm]],
  ];
  const parties = partyLevels(request, options);
  segments.push(...parties.segments);
  const firstLine = request.serviceLines[0];
  const place = placeOfService(request, firstLine);
  segments.push(['HL', [String(parties.nextHl), String(parties.eventParent), 'EV', '0']]);
  segments.push(['TRN', ['1', x12Text(options.traceNumber, 50), options.traceOriginator]]);
  segments.push(['UM', ['HS', 'I', serviceType(firstLine), place ? `${place}:B` : '']]);
  if (options.authorizationNumber) segments.push(['REF', ['BB', x12Text(options.authorizationNumber, 50)]]);
  if (options.administrativeReference)
    segments.push(['REF', ['NT', x12Text(options.administrativeReference, 50)]]);
  const eventDate = dateValue(servicesSpan(request));
  if (eventDate) segments.push(['DTP', ['AAH', ...eventDate]]);
  return segments;
}

export function buildInquiry(request: AuthorizationRequest, options: BuildInquiryOptions): string {
  return buildCheckedInterchange(
    options.envelope,
    { functionalId: 'HI', setId: '278', version: '005010X215', spec: inquiry278Spec },
    options.traceOriginator,
    () => buildInquirySegments(request, options),
  );
}
