import type { ErrorCodeSpec } from './spec.ts';

/** Codes of pharmacy prior authorization: the PA-flag webhook, patient context, drug criteria, write-back. */
export const pharmacyErrorCodes = {
  PAGW_WEBHOOK_SENDER_UNKNOWN: {
    httpStatus: 401,
    retriable: false,
    summary:
      'The webhook names no sender (X-PAGW-Sender) or one no tenant registers (tenants/<id>.json pharmacy.senders); audited, nothing stored.',
  },
  PAGW_WEBHOOK_SIGNATURE_INVALID: {
    httpStatus: 401,
    retriable: false,
    summary:
      'The HMAC-SHA256 signature header is missing or does not match the body under the sender’s vault secret; the bytes are recorded and dead-lettered, the attempt audited.',
  },
  PAGW_WEBHOOK_REPLAY_REFUSED: {
    httpStatus: 403,
    retriable: false,
    summary:
      'Correctly signed, but the payload’s timestamp is outside the sender’s window (default ±300 s): a replay, or a skewed clock. Recorded, dead-lettered and audited; re-sign with a fresh timestamp.',
  },
  PAGW_WEBHOOK_PAYLOAD_INVALID: {
    httpStatus: 422,
    retriable: false,
    summary:
      'Correctly signed, but the payload is not JSON or misses or garbles a field; one problem per field, named by its path in the sender’s payload. Recorded and dead-lettered.',
  },
  PAGW_WEBHOOK_SECRET_UNAVAILABLE: {
    httpStatus: 503,
    retriable: true,
    summary:
      'The sender’s webhook secret cannot be read from the vault (not stored for the tenant, or the vault cannot open it), so the signature cannot be checked; resend later.',
  },
  PAGW_PHARMACY_REQUEST_NOT_FOUND: {
    httpStatus: 404,
    retriable: false,
    summary: 'No pharmacy PA flag with that request id exists for the caller’s tenant.',
  },
  PAGW_PHARMACY_SENDER_INVALID: {
    httpStatus: 500,
    retriable: false,
    summary:
      'A tenant’s pharmacy sender names a mapping that does not exist, or two tenants claim the same sender id; the gateway refuses to start.',
  },
  PAGW_PHARMACY_CONTEXT_UNAVAILABLE: {
    httpStatus: 503,
    retriable: true,
    summary:
      'The pharmacy system’s FHIR API could not be reached, timed out or answered 5xx/429 while the patient context was read; the drafting step is retried.',
  },
  PAGW_PHARMACY_CONTEXT_REFUSED: {
    httpStatus: 502,
    retriable: false,
    summary:
      'The pharmacy system’s FHIR API refused a read (401/403/400) or answered something that is not FHIR JSON; drafting stops and the flag is marked failed.',
  },
  PAGW_PHARMACY_CRITERIA_INVALID: {
    httpStatus: 500,
    retriable: false,
    summary:
      'A drug criteria file (criteria/*.json) does not satisfy schemas/drug-criteria.json, or two files claim the same id; the gateway refuses to start.',
  },
  PAGW_PHARMACY_WRITEBACK_UNAVAILABLE: {
    httpStatus: 503,
    retriable: true,
    summary:
      'The pharmacy system’s callback URL could not be reached or answered 5xx/429; the bus retries the write-back with backoff, in order per case.',
  },
  PAGW_PHARMACY_WRITEBACK_REJECTED: {
    httpStatus: 502,
    retriable: false,
    summary:
      'The pharmacy system’s callback URL refused a write-back (4xx other than 409/429); after the bus’s attempts it is dead-lettered.',
  },
  PAGW_REVIEW_CRITERIA_UNRESOLVED: {
    httpStatus: 409,
    retriable: false,
    summary:
      'A drafted pharmacy request has criteria its record could not answer: the pharmacist supplies the evidence or overrides them (its criteria_unknown task) before approving; nothing was changed, the refusal is audited.',
  },
} as const satisfies Record<string, ErrorCodeSpec>;
