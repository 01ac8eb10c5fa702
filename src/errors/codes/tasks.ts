import type { ErrorCodeSpec } from './spec.ts';

/**
 * Codes of the exception queue (issue #14): tasks, request corrections, documents and appeals. Document each one
 * in docs/errors/tasks.md. Messages name tasks, paths and codes, never a value of the request.
 */
export const taskErrorCodes = {
  PAGW_TASK_NOT_FOUND: {
    httpStatus: 404,
    retriable: false,
    summary: 'No task with that id exists for the caller’s tenant.',
  },
  PAGW_TASK_VERSION_CONFLICT: {
    httpStatus: 409,
    retriable: false,
    summary: 'The task changed since it was read (a stale screen); read it again. Nothing was changed.',
  },
  PAGW_TASK_CLOSED: {
    httpStatus: 409,
    retriable: false,
    summary: 'The task is resolved or cancelled already. Nothing was changed.',
  },
  PAGW_TASK_ACTION_NOT_ALLOWED: {
    httpStatus: 409,
    retriable: false,
    summary:
      'The action does not resolve a task of this kind, or the case is not in a state where it can (the problem names which).',
  },
  PAGW_CORRECTION_INVALID: {
    httpStatus: 422,
    retriable: false,
    summary:
      'A correction of a case’s request names a field that cannot be corrected, or leaves the request invalid against the canonical schema; each problem names its path.',
  },
  PAGW_CORRECTION_NOT_ALLOWED: {
    httpStatus: 409,
    retriable: false,
    summary:
      'The case is in a state where its request cannot be corrected (it is at the payer, decided or closed).',
  },
  PAGW_TASK_MESSAGE_INVALID: {
    httpStatus: 500,
    retriable: false,
    summary:
      'A task event, FHIR Task or HL7 v2 task message could not be built valid (a bug): the change that needed it is rolled back, nothing is published.',
  },
  PAGW_DOCUMENT_UNSUPPORTED: {
    httpStatus: 415,
    retriable: false,
    summary:
      'A document is not one the gateway takes (PDF, PNG, JPEG, TIFF, C-CDA), its bytes are not the declared type, or its kind is not an X12 755 report type.',
  },
  PAGW_DOCUMENT_TOO_LARGE: {
    httpStatus: 413,
    retriable: false,
    summary: 'A document is larger than the gateway takes (10 MB).',
  },
} as const satisfies Record<string, ErrorCodeSpec>;
