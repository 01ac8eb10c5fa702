/**
 * Structured JSON logs (pino). Logs carry ids, codes and counts, never PHI: the redaction list is a safety
 * net for the keys most likely to hold it, not a licence to log payloads.
 */
import { pino } from 'pino';

export type Logger = pino.Logger;

export const phiRedactPaths = [
  'request',
  'patient',
  'subscriber',
  'raw',
  'body',
  'payload',
  'value',
  'name',
  'birthDate',
  'address',
  'memberId',
  '*.request',
  '*.patient',
  '*.subscriber',
  '*.raw',
  '*.body',
  '*.payload',
  '*.name',
  '*.birthDate',
  '*.address',
  '*.memberId',
  'req.headers.authorization',
  'headers.authorization',
  'password',
  '*.password',
  'token',
  '*.token',
];

export function createLogger(options: { level?: string; destination?: pino.DestinationStream } = {}): Logger {
  return pino(
    {
      level: options.level ?? 'info',
      base: { service: 'pa-gateway' },
      timestamp: pino.stdTimeFunctions.isoTime,
      redact: { paths: phiRedactPaths, censor: '[redacted]' },
      formatters: { level: (label) => ({ level: label }) },
    },
    options.destination,
  );
}

/** Error fields safe to log: code and message (ours never carry PHI), and the cause's class, not its text. */
export function describeError(error: unknown): Record<string, unknown> {
  if (error instanceof Error) {
    const code = (error as { code?: unknown }).code;
    return {
      errorName: error.name,
      errorCode: typeof code === 'string' ? code : undefined,
      errorMessage: error.message,
    };
  }
  return { errorName: typeof error };
}
