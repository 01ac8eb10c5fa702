import type { ErrorCodeSpec } from './spec.ts';

/**
 * Codes of the outbound layer (ClaimResponse, status events, HL7 v2 status messages, care-team e-mail).
 * Document each one in docs/errors/outbound.md.
 */
export const outboundErrorCodes = {
  PAGW_OUTBOUND_CLAIMRESPONSE_INVALID: {
    httpStatus: 500,
    retriable: false,
    summary:
      'A built ClaimResponse failed the Da Vinci PAS 2.2.1 ClaimResponse profile (src/profiles: R4 base plus the profile at every depth); it was not published.',
  },
  PAGW_OUTBOUND_PAS_BUNDLE_INVALID: {
    httpStatus: 500,
    retriable: false,
    summary:
      'A built PAS response Bundle failed the Da Vinci PAS 2.2.1 response-bundle profile (or a profile of a resource in it); it was not sent.',
  },
  PAGW_OUTBOUND_STATUS_EVENT_INVALID: {
    httpStatus: 500,
    retriable: false,
    summary: 'A built status event failed schemas/events/status.v1.json; it was not published.',
  },
  PAGW_OUTBOUND_HL7_INVALID: {
    httpStatus: 500,
    retriable: false,
    summary:
      'An HL7 v2 status message could not be built: an unknown message type, a mapping that names a missing table or path, or a result that does not parse back.',
  },
  PAGW_OUTBOUND_NO_DECISION: {
    httpStatus: 500,
    retriable: false,
    summary:
      'A decision document (ClaimResponse, HL7 v2 status, e-mail) was asked for a case that has no decision yet.',
  },
  PAGW_OUTBOUND_TEMPLATE_INVALID: {
    httpStatus: 500,
    retriable: false,
    summary:
      'An e-mail template is missing or names a placeholder that the renderer does not know (a typo in templates/email).',
  },
  PAGW_OUTBOUND_TENANT_INVALID: {
    httpStatus: 500,
    retriable: false,
    summary: 'A tenant settings file (tenants/<id>.json) is unreadable or fails schemas/tenant.json.',
  },
  PAGW_NOTIFY_UNAVAILABLE: {
    httpStatus: 503,
    retriable: true,
    summary:
      'The SMTP server could not be reached, timed out or answered with a temporary (4xx) failure; the e-mail was not sent.',
  },
  PAGW_NOTIFY_REJECTED: {
    httpStatus: 502,
    retriable: false,
    summary:
      'The SMTP server refused the e-mail for good (5xx: unknown recipient, sender not allowed, message refused).',
  },
  PAGW_MLLP_DELIVERY_UNAVAILABLE: {
    httpStatus: 503,
    retriable: true,
    summary:
      'An HL7 v2 status message could not be delivered over MLLP: the receiver was unreachable, closed the connection or sent no ACK in time.',
  },
  PAGW_MLLP_DELIVERY_REJECTED: {
    httpStatus: 502,
    retriable: false,
    summary:
      'The MLLP receiver answered the HL7 v2 status message with a reject or error ACK (AR, AE, CR, CE).',
  },
  PAGW_MLLP_NO_DESTINATION: {
    httpStatus: 500,
    retriable: false,
    summary: 'A message on an MLLP forwarding topic has no valid pagw-mllp-destination header (host:port).',
  },
} as const satisfies Record<string, ErrorCodeSpec>;
