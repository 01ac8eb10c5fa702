export * from './errors.ts';
export * from './evaluate.ts';
export * from './payer-directory.ts';
export type * from './types.generated.ts';
