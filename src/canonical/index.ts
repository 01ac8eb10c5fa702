export * from './code-systems.ts';
export type * from './types.generated.ts';
export * from './validate.ts';
