/** Errors of the PAS connector. Retry logic reads only `retriable`; `outcomeUnknown` says a send may have arrived. */
import { GatewayError, type Problem } from '../../src/errors/index.ts';

export class PasError extends GatewayError {
  /** True when the payer may have taken the request in (timeout or dropped connection after sending). */
  readonly outcomeUnknown: boolean;
  /** From a 429's Retry-After. */
  readonly retryAfterMs?: number;
  constructor(
    code: ConstructorParameters<typeof GatewayError>[0],
    message: string,
    options: {
      outcomeUnknown?: boolean;
      retryAfterMs?: number;
      cause?: unknown;
      retriable?: boolean;
      problems?: readonly Problem[];
    } = {},
  ) {
    super(code, message, options);
    this.outcomeUnknown = options.outcomeUnknown ?? false;
    if (options.retryAfterMs !== undefined) this.retryAfterMs = options.retryAfterMs;
  }
}
