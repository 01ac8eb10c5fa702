import { type ErrorCode, errorCodes } from './codes/index.ts';

/** One problem inside an error: where (a JSON path, an HL7 field like `IN1-36`, an X12 position) and why. */
export interface Problem {
  readonly location: string;
  readonly message: string;
}

export interface GatewayErrorOptions {
  readonly problems?: readonly Problem[];
  readonly cause?: unknown;
  /** Overrides the registry's retriable flag when the same code can be either (rare). */
  readonly retriable?: boolean;
}

/**
 * The one error root of the gateway. Retry logic reads only `retriable`; protocol edges map `code` to their
 * own error shape (OperationOutcome, HL7 ACK, X12 999) in one place each.
 * Messages never carry PHI: they name fields and positions, not values.
 */
export class GatewayError extends Error {
  readonly code: ErrorCode;
  readonly retriable: boolean;
  readonly httpStatus: number;
  readonly problems: readonly Problem[];

  constructor(code: ErrorCode, message: string, options: GatewayErrorOptions = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = new.target.name;
    this.code = code;
    this.retriable = options.retriable ?? errorCodes[code].retriable;
    this.httpStatus = errorCodes[code].httpStatus;
    this.problems = options.problems ?? [];
  }
}

/** Configuration could not be loaded. */
export class ConfigError extends GatewayError {}
/** A document failed its schema. */
export class ValidationError extends GatewayError {}
/** The case state machine refused an event. */
export class StateTransitionError extends GatewayError {}
/** Reading or writing the database failed. */
export class PersistError extends GatewayError {}
/** Authentication or authorization failed. */
export class AuthError extends GatewayError {}
/** A requested thing does not exist (for this tenant). */
export class NotFoundError extends GatewayError {}

export function isGatewayError(error: unknown): error is GatewayError {
  return error instanceof GatewayError;
}

/** Wraps anything thrown into a GatewayError without losing the original as `cause`. */
export function toGatewayError(error: unknown): GatewayError {
  if (error instanceof GatewayError) return error;
  return new GatewayError('PAGW_INTERNAL', 'Internal error', { cause: error });
}
