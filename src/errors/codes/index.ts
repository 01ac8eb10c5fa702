/**
 * The error-code registry: every code the gateway emits, with its HTTP status and whether a retry can help.
 * One file per layer (core, mapping, x12, bus, outbound, vault, tasks, portal, pas, pharmacy); docs/errors/<layer>.md documents each code and
 * test/unit/error-codes-documented.test.ts fails when code and docs drift. Never reuse or rename a published code.
 */
import { busErrorCodes } from './bus.ts';
import { coreErrorCodes } from './core.ts';
import { mappingErrorCodes } from './mapping.ts';
import { outboundErrorCodes } from './outbound.ts';
import { pasErrorCodes } from './pas.ts';
import { pharmacyErrorCodes } from './pharmacy.ts';
import { portalErrorCodes } from './portal.ts';
import type { ErrorCodeSpec } from './spec.ts';
import { taskErrorCodes } from './tasks.ts';
import { vaultErrorCodes } from './vault.ts';
import { x12ErrorCodes } from './x12.ts';

export type { ErrorCodeSpec } from './spec.ts';

export const errorCodes = {
  ...coreErrorCodes,
  ...mappingErrorCodes,
  ...x12ErrorCodes,
  ...busErrorCodes,
  ...outboundErrorCodes,
  ...vaultErrorCodes,
  ...pasErrorCodes,
  ...taskErrorCodes,
  ...pharmacyErrorCodes,
  ...portalErrorCodes,
} as const satisfies Record<string, ErrorCodeSpec>;

export type ErrorCode = keyof typeof errorCodes;
