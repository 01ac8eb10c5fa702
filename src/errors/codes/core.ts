import type { ErrorCodeSpec } from './spec.ts';

/** Codes of the foundation: config, validation, cases, auth, HTTP, store, audit. */
export const coreErrorCodes = {
  PAGW_CONFIG_INVALID: {
    httpStatus: 500,
    retriable: false,
    summary: 'A configuration value is missing or invalid.',
  },
  PAGW_VALIDATION_FAILED: {
    httpStatus: 422,
    retriable: false,
    summary: 'A canonical document does not satisfy its schema; each problem names its JSON path.',
  },
  PAGW_INPUT_UNREADABLE: {
    httpStatus: 400,
    retriable: false,
    summary: 'The input is not readable as the format it claims (not JSON, not a file).',
  },
  PAGW_CASE_NOT_FOUND: {
    httpStatus: 404,
    retriable: false,
    summary: 'No case with that id exists for the caller’s tenant.',
  },
  PAGW_CASE_ILLEGAL_TRANSITION: {
    httpStatus: 409,
    retriable: false,
    summary: 'The case state machine does not allow that event in the case’s current state.',
  },
  PAGW_CASE_VERSION_CONFLICT: {
    httpStatus: 409,
    retriable: true,
    summary: 'The case changed since it was read (optimistic version check); read it again and retry.',
  },
  PAGW_REVIEW_BINDING_MISMATCH: {
    httpStatus: 409,
    retriable: false,
    summary:
      'A review decision names a patient, service or case version other than the case’s own; nothing was changed.',
  },
  PAGW_IDEMPOTENCY_KEY_MISMATCH: {
    httpStatus: 409,
    retriable: false,
    summary:
      'The submission key given (a review decision) or recorded (an approval) does not match the case’s request as it stands; nothing was sent or changed, the refusal is audited.',
  },
  PAGW_REVIEW_POLICY_INVALID: {
    httpStatus: 500,
    retriable: false,
    summary:
      'A review policy or review code table file does not satisfy its schema; the gateway refuses to start.',
  },
  PAGW_CASE_DUPLICATE: {
    httpStatus: 409,
    retriable: false,
    summary: 'A case with that idempotency key already exists.',
  },
  PAGW_AUTH_MISSING: { httpStatus: 401, retriable: false, summary: 'No bearer token was presented.' },
  PAGW_AUTH_INVALID: {
    httpStatus: 401,
    retriable: false,
    summary: 'The bearer token is unknown or revoked.',
  },
  PAGW_AUTH_FORBIDDEN: {
    httpStatus: 403,
    retriable: false,
    summary: 'The token’s roles do not allow this action.',
  },
  PAGW_HTTP_NOT_FOUND: { httpStatus: 404, retriable: false, summary: 'No such endpoint.' },
  PAGW_HTTP_BAD_REQUEST: {
    httpStatus: 400,
    retriable: false,
    summary: 'The HTTP request is malformed (query parameter, body).',
  },
  PAGW_STORE_UNAVAILABLE: { httpStatus: 503, retriable: true, summary: 'The database cannot be reached.' },
  PAGW_STORE_MIGRATION_CHANGED: {
    httpStatus: 500,
    retriable: false,
    summary: 'A migration that was already applied has changed on disk; the gateway refuses to start.',
  },
  PAGW_AUDIT_CHAIN_BROKEN: {
    httpStatus: 500,
    retriable: false,
    summary: 'The audit log’s hash chain does not verify: a row was edited, deleted or inserted.',
  },
  PAGW_INTERNAL: {
    httpStatus: 500,
    retriable: false,
    summary: 'An unexpected internal error (a bug): reported, never retried.',
  },
} as const satisfies Record<string, ErrorCodeSpec>;
