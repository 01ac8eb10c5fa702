export { type ErrorCode, type ErrorCodeSpec, errorCodes } from './codes/index.ts';
export * from './gateway-error.ts';
