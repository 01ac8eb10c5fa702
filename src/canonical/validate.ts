/**
 * Validation of canonical documents against schemas/canonical/. Pure: the schemas are imported as JSON modules.
 */

import type { ValidateFunction } from 'ajv/dist/2020.js';
import decisionSchema from '../../schemas/canonical/authorization-decision.json' with { type: 'json' };
import requestSchema from '../../schemas/canonical/authorization-request.json' with { type: 'json' };
import commonSchema from '../../schemas/canonical/common.json' with { type: 'json' };
import { type Problem, ValidationError } from '../errors/index.ts';
import { ajvErrorsToProblems, createAjv } from './schema-validator.ts';
import type { AuthorizationDecision, AuthorizationRequest } from './types.generated.ts';

const ajv = createAjv([commonSchema, requestSchema, decisionSchema]);
// Compiled on first use: `pagw map` needs only the request schema, and compiling costs start-up time.
let requestCompiled: ValidateFunction | undefined;
let decisionCompiled: ValidateFunction | undefined;
const requestValidator = () => (requestCompiled ??= ajv.getSchema(requestSchema.$id)!);
const decisionValidator = () => (decisionCompiled ??= ajv.getSchema(decisionSchema.$id)!);

export type ValidationResult<T> = { ok: true; value: T } | { ok: false; problems: Problem[] };

export function checkAuthorizationRequest(candidate: unknown): ValidationResult<AuthorizationRequest> {
  const validate = requestValidator();
  if (validate(candidate)) return { ok: true, value: candidate as AuthorizationRequest };
  return { ok: false, problems: ajvErrorsToProblems(validate.errors) };
}

export function checkAuthorizationDecision(candidate: unknown): ValidationResult<AuthorizationDecision> {
  const validate = decisionValidator();
  if (validate(candidate)) return { ok: true, value: candidate as AuthorizationDecision };
  return { ok: false, problems: ajvErrorsToProblems(validate.errors) };
}

function describe(kind: string, problems: Problem[]): string {
  const shown = problems.slice(0, 5).map((p) => `${p.location}: ${p.message}`);
  const more = problems.length > 5 ? ` (and ${problems.length - 5} more)` : '';
  return `${kind} is invalid: ${shown.join('; ')}${more}`;
}

/** Returns the request typed, or throws a ValidationError listing every problem. */
export function assertAuthorizationRequest(candidate: unknown): AuthorizationRequest {
  const result = checkAuthorizationRequest(candidate);
  if (result.ok) return result.value;
  throw new ValidationError('PAGW_VALIDATION_FAILED', describe('AuthorizationRequest', result.problems), {
    problems: result.problems,
  });
}

export function assertAuthorizationDecision(candidate: unknown): AuthorizationDecision {
  const result = checkAuthorizationDecision(candidate);
  if (result.ok) return result.value;
  throw new ValidationError('PAGW_VALIDATION_FAILED', describe('AuthorizationDecision', result.problems), {
    problems: result.problems,
  });
}
