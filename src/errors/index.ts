export { type ErrorCode, type ErrorCodeSpec, errorCodes } from './codes.ts';
export * from './gateway-error.ts';
