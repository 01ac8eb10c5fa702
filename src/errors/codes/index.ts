/**
 * The error-code registry: every code the gateway emits, with its HTTP status and whether a retry can help.
 * One file per layer (core, mapping, x12, bus, outbound); docs/errors/<layer>.md documents each code and
 * test/unit/error-codes-documented.test.ts fails when code and docs drift. Never reuse or rename a published code.
 */
import { busErrorCodes } from './bus.ts';
import { coreErrorCodes } from './core.ts';
import { mappingErrorCodes } from './mapping.ts';
import { outboundErrorCodes } from './outbound.ts';
import type { ErrorCodeSpec } from './spec.ts';
import { x12ErrorCodes } from './x12.ts';

export type { ErrorCodeSpec } from './spec.ts';

export const errorCodes = {
  ...coreErrorCodes,
  ...mappingErrorCodes,
  ...x12ErrorCodes,
  ...busErrorCodes,
  ...outboundErrorCodes,
} as const satisfies Record<string, ErrorCodeSpec>;

export type ErrorCode = keyof typeof errorCodes;
