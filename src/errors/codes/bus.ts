import type { ErrorCodeSpec } from './spec.ts';

/** Codes of the bus layer. Document each one in docs/errors/bus.md. */
export const busErrorCodes = {} as const satisfies Record<string, ErrorCodeSpec>;
