import type { ErrorCodeSpec } from './spec.ts';

/**
 * Codes of Da Vinci PAS: the payer connector (connectors/pas: SMART backend services auth, $submit, $inquire,
 * subscriptions) and the gateway's own PAS server for EHRs (src/inbound/pas). Document each in docs/errors/pas.md.
 */
export const pasErrorCodes = {
  PAGW_PAS_REQUEST_INVALID: {
    httpStatus: 500,
    retriable: false,
    summary:
      'A PAS request Bundle we built fails the PAS 2.2.1 request-bundle profile; it was not sent (our bug or data the profile cannot carry).',
  },
  PAGW_PAS_KEY_UNAVAILABLE: {
    httpStatus: 500,
    retriable: false,
    summary:
      "The PAS client's private key could not be read (file: reference missing or unreadable, vault: reference without a vault, or not a PKCS#8 key for the configured algorithm).",
  },
  PAGW_PAS_AUTH_FAILED: {
    httpStatus: 502,
    retriable: false,
    summary:
      "The payer's token endpoint refused our client assertion (invalid_client), or the payer refused a fresh token; fix the client registration or key.",
  },
  PAGW_PAS_UNREACHABLE: {
    httpStatus: 503,
    retriable: true,
    summary:
      'The payer could not be reached or did not answer in time; when the request may have arrived, the next attempt reconciles with $inquire first.',
  },
  PAGW_PAS_PAYER_ERROR: {
    httpStatus: 502,
    retriable: true,
    summary: 'The payer answered with a server error (HTTP 5xx).',
  },
  PAGW_PAS_RATE_LIMITED: {
    httpStatus: 503,
    retriable: true,
    summary: 'The payer answered 429 Too Many Requests; retried after its Retry-After.',
  },
  PAGW_PAS_RESPONSE_INVALID: {
    httpStatus: 502,
    retriable: true,
    summary:
      "The payer's answer is not a readable PAS response (no Bundle with a ClaimResponse first, or one about another Claim); the submission's fate is reconciled with $inquire.",
  },
  PAGW_PAS_NOTHING_TO_UPDATE: {
    httpStatus: 409,
    retriable: false,
    summary:
      'A changed order was to go to the payer as a PAS claim update, but the payer answered no PAS request of the case: there is no Claim to update (a person takes the case over).',
  },
  PAGW_PAS_ATTACHMENT_REFUSED: {
    httpStatus: 422,
    retriable: false,
    summary:
      'The payer refused a document sent by $submit-attachment (HTTP 4xx: unknown tracking id, content it does not take); resending it unchanged is pointless.',
  },
  PAGW_PAS_UPDATE_NOT_MATCHED: {
    httpStatus: 404,
    retriable: false,
    summary:
      'A PAS claim update posted to our Claim/$submit relates to a Claim the gateway holds no request for (for this tenant and sender).',
  },
  PAGW_PAS_BUNDLE_INVALID: {
    httpStatus: 422,
    retriable: false,
    summary:
      'A PAS request sent to our Claim/$submit or $inquire fails the PAS 2.2.1 profiles; the OperationOutcome lists each problem with its FHIRPath expression.',
  },
  PAGW_PAS_NOT_FOUND: {
    httpStatus: 404,
    retriable: false,
    summary: 'Claim/$inquire names a Claim identifier the gateway holds no request for (for this tenant).',
  },
  PAGW_PAS_SUBSCRIPTION_INVALID: {
    httpStatus: 400,
    retriable: false,
    summary:
      'A Subscription posted to /fhir/Subscription is not a rest-hook subscription to the PAS topic with an https/http endpoint.',
  },
  PAGW_PAS_NOTIFICATION_REFUSED: {
    httpStatus: 401,
    retriable: false,
    summary:
      'A payer notification arrived without the token of a subscription we made at that payer; it was ignored.',
  },
} as const satisfies Record<string, ErrorCodeSpec>;
