import type { ErrorCodeSpec } from './spec.ts';

/**
 * Codes of the x12 layer (X12 reading, building and validation, the clearinghouse transport, payer answers)
 * and of the payer directory and PA rules. Document each one in docs/errors/x12.md.
 */
export const x12ErrorCodes = {
  PAGW_X12_NOT_X12: {
    httpStatus: 422,
    retriable: false,
    summary: 'The input does not begin with an ISA interchange header (after an optional byte-order mark).',
  },
  PAGW_X12_DELIMITERS: {
    httpStatus: 422,
    retriable: false,
    summary:
      'The ISA header does not yield usable delimiters (missing, alphanumeric or the same character twice).',
  },
  PAGW_X12_TRUNCATED: {
    httpStatus: 422,
    retriable: false,
    summary: 'The input ends inside an ISA header (e.g. a complete interchange followed by a cut-off ISA).',
  },
  PAGW_X12_ENCODING: {
    httpStatus: 422,
    retriable: false,
    summary:
      'The input is not in an encoding X12 is read in: UTF-16/UTF-32 byte-order mark, or a byte-order mark inside the interchange.',
  },
  PAGW_X12_ENVELOPE: {
    httpStatus: 422,
    retriable: false,
    summary:
      'The interchange holds no readable transaction set (no GS/ST, or segments outside any envelope).',
  },
  PAGW_X12_UNSUPPORTED_TRANSACTION: {
    httpStatus: 422,
    retriable: false,
    summary: 'The transaction set is not one the gateway reads (270, 271, 278, 999 and TA1 are).',
  },
  PAGW_X12_MISSING_SEGMENT: {
    httpStatus: 422,
    retriable: false,
    summary: 'A segment the transaction needs is missing; the message names the segment and its loop.',
  },
  PAGW_X12_INVALID_VALUE: {
    httpStatus: 422,
    retriable: false,
    summary:
      'An element holds a value the gateway cannot use (unknown code, bad date); names segment and element.',
  },
  PAGW_X12_REQUEST_UNMAPPABLE: {
    httpStatus: 422,
    retriable: false,
    summary: 'The canonical request lacks data the TR3 requires for the transaction being built.',
  },
  PAGW_X12_TR3_INVALID: {
    httpStatus: 500,
    retriable: false,
    summary:
      'An interchange the gateway built breaks a TR3 rule (order, usage, repeats, length, code); it is not sent.',
  },
  PAGW_X12_TRANSPORT_TIMEOUT: {
    httpStatus: 504,
    retriable: true,
    summary:
      'The clearinghouse did not answer in time; whether it received the interchange is unknown until reconciled.',
  },
  PAGW_X12_TRANSPORT_UNAVAILABLE: {
    httpStatus: 503,
    retriable: true,
    summary: 'The clearinghouse could not be reached, dropped the connection or answered with an HTTP 5xx.',
  },
  PAGW_X12_CIRCUIT_OPEN: {
    httpStatus: 503,
    retriable: true,
    summary:
      'Calls to this payer are paused after repeated failures (circuit breaker open); retry after the cooldown.',
  },
  PAGW_X12_CORE_ERROR: {
    httpStatus: 502,
    retriable: false,
    summary: 'The clearinghouse answered with a CAQH CORE envelope error (ErrorCode other than Success).',
  },
  PAGW_X12_CORE_MALFORMED: {
    httpStatus: 502,
    retriable: false,
    summary: 'The clearinghouse answer is not a CAQH CORE envelope (missing fields, wrong payload type).',
  },
  PAGW_X12_REJECTED_999: {
    httpStatus: 422,
    retriable: false,
    summary:
      'The receiver rejected the transaction set with a 999; the problems name the failing segment and element.',
  },
  PAGW_X12_REJECTED_TA1: {
    httpStatus: 422,
    retriable: false,
    summary: 'The receiver rejected the interchange with a TA1 (TA104 R); TA105 says why.',
  },
  PAGW_X12_AAA_REJECTED: {
    httpStatus: 422,
    retriable: false,
    summary: 'The payer rejected the request with an AAA segment (reject reason and follow-up action codes).',
  },
  PAGW_X12_LIVE_SUBMISSION_EXISTS: {
    httpStatus: 409,
    retriable: false,
    summary: 'A case already has an unreconciled submission in flight; a second one is refused.',
  },
  PAGW_PAYER_FILE_INVALID: {
    httpStatus: 500,
    retriable: false,
    summary: 'A payer file in payers/ does not satisfy schemas/payer.json or repeats an identifier.',
  },
  PAGW_PAYER_UNKNOWN: {
    httpStatus: 422,
    retriable: false,
    summary: 'The coverage names a payer (id, NAIC or alias) that is not in the payer directory.',
  },
  PAGW_PAYER_NO_CHANNEL: {
    httpStatus: 422,
    retriable: false,
    summary: 'The payer has no channel the gateway can use for this transaction.',
  },
  PAGW_RULES_NO_VERSION: {
    httpStatus: 422,
    retriable: false,
    summary: 'The payer has no PA rule version in effect on the date asked.',
  },
} as const satisfies Record<string, ErrorCodeSpec>;
