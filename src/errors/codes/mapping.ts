import type { ErrorCodeSpec } from './spec.ts';

/**
 * Codes of the mapping layer (inbound orders → canonical requests) and of the inbound adapters that carry them.
 * Document each one in docs/errors/mapping.md.
 */
export const mappingErrorCodes = {
  PAGW_MAP_UNREADABLE: {
    httpStatus: 400,
    retriable: false,
    summary:
      'The input cannot be read as the format it claims: not an HL7 v2 message (no MSH), not JSON, empty, or a batch of several messages.',
  },
  PAGW_MAP_FORBIDDEN_CHARACTER: {
    httpStatus: 422,
    retriable: false,
    summary:
      'The message holds a character no field may carry: NUL (U+0000, as a byte, a JSON \\u0000 escape or an HL7 \\X00\\ escape) or an unpaired UTF-16 surrogate; each problem names the segment/field or JSON path and the byte offset.',
  },
  PAGW_MAP_UNDECODABLE: {
    httpStatus: 422,
    retriable: false,
    summary:
      'A field the mapping reads holds bytes the message’s character set cannot decode (HL7: MSH-18, UTF-8 when empty; FHIR JSON: UTF-8), or UTF-8 characters under a single-byte MSH-18: refused rather than mapped garbled. Each problem names the segment/field or JSON path and the byte offset.',
  },
  PAGW_MAP_LIMIT_EXCEEDED: {
    httpStatus: 422,
    retriable: false,
    summary:
      'The message is over a configured limit (config inbound: maxOrderGroups, maxFieldLength, maxFieldRepetitions); the problem names the limit and the value found. Split the message.',
  },
  PAGW_MAP_UNSUPPORTED_MESSAGE: {
    httpStatus: 422,
    retriable: false,
    summary:
      'The message or payload is not an order the gateway maps (ADT^A01, a lone Coverage, Parameters, a PAS response bundle, a subscription).',
  },
  PAGW_MAP_UNSUPPORTED_VERSION: {
    httpStatus: 422,
    retriable: false,
    summary: 'The HL7 v2 version in MSH-12 is older than the mapping supports.',
  },
  PAGW_MAP_NOT_NEW_ORDER: {
    httpStatus: 422,
    retriable: false,
    summary:
      'The order is not a new request (ORC-1 other than NW, a PAS inquiry or update): it cannot open a new case.',
  },
  PAGW_MAP_STRUCTURE: {
    httpStatus: 422,
    retriable: false,
    summary:
      'The segments are not in an order the mapping can read (an OBR with no ORC before it, an ORC with no OBR); each problem names the segment.',
  },
  PAGW_MAP_MISSING_FIELD: {
    httpStatus: 422,
    retriable: false,
    summary:
      'Data a request needs is missing (no IN1 segment, IN1-36 member id, OBR-4 service code); each problem names the segment/field or FHIR path.',
  },
  PAGW_MAP_INVALID_VALUE: {
    httpStatus: 422,
    retriable: false,
    summary:
      'A value is present but unreadable (a date that is not a date, a code missing from its table, a reference that does not resolve).',
  },
  PAGW_MAP_INVALID_MAPPING: {
    httpStatus: 500,
    retriable: false,
    summary: 'A mapping file, code table or sender profile under mappings/ does not satisfy its schema.',
  },
  PAGW_MAP_UNKNOWN_PROFILE: {
    httpStatus: 400,
    retriable: false,
    summary: 'The sender profile named (pagw map --sender, inbound configuration) does not exist.',
  },
  PAGW_INBOUND_TOO_LARGE: {
    httpStatus: 413,
    retriable: false,
    summary: 'An inbound message is larger than the transport allows (MLLP frame or HTTP body limit).',
  },
  PAGW_INBOUND_NO_TENANT: {
    httpStatus: 400,
    retriable: false,
    summary: 'An inbound bus message has no pagw-tenant header, so it cannot be recorded for any tenant.',
  },
  PAGW_INBOUND_ID_REUSED: {
    httpStatus: 409,
    retriable: false,
    summary:
      'The message id (same sender + MSH-10, or FHIR id + versionId) was already used by a message with different content.',
  },
  PAGW_INBOUND_UNSTORABLE: {
    httpStatus: 422,
    retriable: false,
    summary:
      'The database refused a value of the message (SQLSTATE class 22, data exception) that the mapper let through: the message is recorded with its original bytes, dead-lettered and refused (HL7 ACK AE), never left to be resent forever.',
  },
  PAGW_INBOUND_BUSY: {
    httpStatus: 503,
    retriable: true,
    summary:
      'More workflow steps are due than workers.intakeMaxBacklog and the order waited workers.intakeMaxWaitMs: not recorded; send it again after Retry-After.',
  },
  PAGW_INBOUND_UNSUPPORTED_MEDIA: {
    httpStatus: 415,
    retriable: false,
    summary:
      'The HTTP body has a content type the endpoint does not read (ER7 text for /orders/hl7v2, FHIR JSON for /orders/fhir).',
  },
} as const satisfies Record<string, ErrorCodeSpec>;
