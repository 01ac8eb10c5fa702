import type { ErrorCodeSpec } from './spec.ts';

/** Codes of the outbound layer. Document each one in docs/errors/outbound.md. */
export const outboundErrorCodes = {} as const satisfies Record<string, ErrorCodeSpec>;
