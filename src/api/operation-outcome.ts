/**
 * The one place HTTP errors become FHIR OperationOutcome resources.
 * @see http://hl7.org/fhir/R4/operationoutcome.html
 */
import type { OperationOutcome, OperationOutcomeIssue } from '@medplum/fhirtypes';
import { type ErrorCode, type GatewayError, toGatewayError } from '../errors/index.ts';

export const errorCodeSystem = 'https://pagw.dev/fhir/CodeSystem/error-code';

/** Our code → the FHIR issue-type code (http://hl7.org/fhir/issue-type) that fits it best. */
function fhirIssueCode(code: ErrorCode, status: number): OperationOutcomeIssue['code'] {
  if (code === 'PAGW_AUTH_MISSING' || code === 'PAGW_AUTH_INVALID') return 'login';
  if (code === 'PAGW_AUTH_FORBIDDEN') return 'forbidden';
  if (status === 401) return 'login';
  if (status === 403) return 'forbidden';
  if (status === 404) return 'not-found';
  if (status === 409) return 'conflict';
  if (status === 422 || status === 400) return 'invalid';
  if (status === 503) return 'transient';
  if (status === 413) return 'too-long';
  if (status === 415) return 'not-supported';
  return 'exception';
}

export function operationOutcomeFor(error: unknown): { status: number; body: OperationOutcome } {
  const gatewayError: GatewayError = toGatewayError(error);
  const status = gatewayError.httpStatus;
  const base: OperationOutcomeIssue = {
    severity: status >= 500 ? 'fatal' : 'error',
    code: fhirIssueCode(gatewayError.code, status),
    details: { coding: [{ system: errorCodeSystem, code: gatewayError.code }], text: gatewayError.message },
  };
  const issues: OperationOutcomeIssue[] =
    gatewayError.problems.length === 0
      ? [base]
      : gatewayError.problems.map((problem) => ({
          ...base,
          details: { ...base.details, text: `${problem.location}: ${problem.message}` },
          expression: [problem.location],
        }));
  return { status, body: { resourceType: 'OperationOutcome', issue: issues } };
}
