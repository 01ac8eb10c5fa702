/**
 * What the mapper reports: problems that refuse a message (errors) and notes about warts it read through
 * (warnings). Each names a place in the source — an HL7 position (`IN1-36`, `OBR[2]-4`) or a FHIR path
 * (`ServiceRequest.code`) — and says why, without PHI values.
 */
import { type ErrorCode, GatewayError, type Problem } from '../errors/index.ts';

/** The mapping codes a problem can carry (src/errors/codes/mapping.ts), plus canonical validation. */
export type MappingProblemCode =
  | 'PAGW_MAP_UNREADABLE'
  | 'PAGW_MAP_FORBIDDEN_CHARACTER'
  | 'PAGW_MAP_UNDECODABLE'
  | 'PAGW_MAP_LIMIT_EXCEEDED'
  | 'PAGW_MAP_UNSUPPORTED_MESSAGE'
  | 'PAGW_MAP_UNSUPPORTED_VERSION'
  | 'PAGW_MAP_NOT_NEW_ORDER'
  | 'PAGW_MAP_STRUCTURE'
  | 'PAGW_MAP_MISSING_FIELD'
  | 'PAGW_MAP_INVALID_VALUE'
  | 'PAGW_VALIDATION_FAILED'
  | 'PAGW_INTERNAL'
  | 'PAGW_INBOUND_ID_REUSED'
  | 'PAGW_INBOUND_TOO_LARGE'
  | 'PAGW_INBOUND_UNSTORABLE';

/** An HL7 v2 position, as ERR-2 (ERL) reports it: 1-based, sequence counts segments of the same id. */
export interface Hl7Position {
  readonly segment: string;
  readonly sequence?: number;
  readonly field?: number;
  readonly repetition?: number;
  readonly component?: number;
  readonly subcomponent?: number;
}

export interface MappingProblem extends Problem {
  readonly code: MappingProblemCode;
  readonly severity: 'error' | 'warning';
  /** Set for HL7 v2 sources: where, for ERR-2. */
  readonly hl7?: Hl7Position;
  /** The request path a missing field would fill (`coverage.memberId`): set on PAGW_MAP_MISSING_FIELD. */
  readonly target?: string;
}

/** HL7 table 0357 (message error condition) code for a problem, for ERR-3. */
export function hl7ConditionCode(problem: MappingProblem): number {
  switch (problem.code) {
    case 'PAGW_MAP_UNREADABLE':
    case 'PAGW_MAP_STRUCTURE':
      return 100; // segment sequence error
    case 'PAGW_MAP_MISSING_FIELD':
      return 101; // required field missing
    case 'PAGW_MAP_INVALID_VALUE':
    case 'PAGW_MAP_FORBIDDEN_CHARACTER':
    case 'PAGW_MAP_UNDECODABLE':
    case 'PAGW_INBOUND_UNSTORABLE':
    case 'PAGW_VALIDATION_FAILED':
      return 102; // data type error
    case 'PAGW_MAP_UNSUPPORTED_MESSAGE':
      return 200; // unsupported message type
    case 'PAGW_MAP_UNSUPPORTED_VERSION':
      return 203; // unsupported version id
    case 'PAGW_INBOUND_ID_REUSED':
      return 205; // duplicate key identifier
    case 'PAGW_INBOUND_TOO_LARGE':
    case 'PAGW_MAP_LIMIT_EXCEEDED':
      return 104; // value too long (table 0357 since v2.7; ERR-5 and ERR-8 say it for older receivers)
    case 'PAGW_MAP_NOT_NEW_ORDER':
    case 'PAGW_INTERNAL':
      return 207; // application internal error (HL7 has no code for "not a new order")
  }
}

/** `OBR[2]-4.1`: segment, its occurrence when not the first, then the 1-based field/component positions. */
export function formatHl7Position(position: Hl7Position): string {
  let text = position.segment;
  if (position.sequence !== undefined && position.sequence > 1) text += `[${position.sequence}]`;
  if (position.field !== undefined) {
    text += `-${position.field}`;
    if (position.component !== undefined) {
      text += `.${position.component}`;
      if (position.subcomponent !== undefined) text += `.${position.subcomponent}`;
    }
  }
  return text;
}

export function problem(
  code: MappingProblemCode,
  location: string,
  message: string,
  extra: { severity?: 'error' | 'warning'; hl7?: Hl7Position; target?: string } = {},
): MappingProblem {
  return {
    code,
    location,
    message,
    severity: extra.severity ?? 'error',
    ...(extra.hl7 ? { hl7: extra.hl7 } : {}),
    ...(extra.target ? { target: extra.target } : {}),
  };
}

export function hl7Problem(
  code: MappingProblemCode,
  position: Hl7Position,
  message: string,
  severity: 'error' | 'warning' = 'error',
): MappingProblem {
  return { code, location: formatHl7Position(position), message, severity, hl7: position };
}

/** Order in which codes name a refused message: the first kind of problem present wins. */
const precedence: readonly MappingProblemCode[] = [
  'PAGW_INBOUND_TOO_LARGE',
  'PAGW_MAP_LIMIT_EXCEEDED',
  'PAGW_MAP_FORBIDDEN_CHARACTER',
  'PAGW_MAP_UNDECODABLE',
  'PAGW_MAP_UNREADABLE',
  'PAGW_INBOUND_ID_REUSED',
  'PAGW_MAP_UNSUPPORTED_MESSAGE',
  'PAGW_MAP_UNSUPPORTED_VERSION',
  'PAGW_MAP_NOT_NEW_ORDER',
  'PAGW_MAP_STRUCTURE',
  'PAGW_MAP_MISSING_FIELD',
  'PAGW_MAP_INVALID_VALUE',
  'PAGW_VALIDATION_FAILED',
  'PAGW_INBOUND_UNSTORABLE',
  'PAGW_INTERNAL',
];

/** A message the mapper refuses, with every problem found (never only the first). */
export class MappingError extends GatewayError {
  declare readonly problems: readonly MappingProblem[];

  constructor(problems: readonly MappingProblem[], options: { cause?: unknown } = {}) {
    const errors = problems.filter((p) => p.severity === 'error');
    const code = precedence.find((c) => errors.some((p) => p.code === c)) ?? 'PAGW_MAP_UNREADABLE';
    const shown = errors.slice(0, 5).map((p) => `${p.location}: ${p.message}`);
    const more = errors.length > 5 ? ` (and ${errors.length - 5} more)` : '';
    super(code as ErrorCode, `${shown.join('; ')}${more}`, { problems: errors, cause: options.cause });
  }
}

export function isMappingError(error: unknown): error is MappingError {
  return error instanceof MappingError;
}
