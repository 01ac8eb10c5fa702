import type { ErrorCodeSpec } from './spec.ts';

/** Codes of the mapping layer. Document each one in docs/errors/mapping.md. */
export const mappingErrorCodes = {} as const satisfies Record<string, ErrorCodeSpec>;
