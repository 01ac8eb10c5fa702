import type { ErrorCodeSpec } from './spec.ts';

/** Codes of the x12 layer. Document each one in docs/errors/x12.md. */
export const x12ErrorCodes = {} as const satisfies Record<string, ErrorCodeSpec>;
