/**
 * Errors of the x12 connector, one subclass per stage: reading what a partner sent, building what we send,
 * the clearinghouse transport, and the payer's own rejections. Retry logic reads only `retriable`.
 */
import { GatewayError, type Problem } from '../../src/errors/index.ts';
import type { X12Diagnostic, X12Position } from './diagnostics.ts';

export function diagnosticsToProblems(diagnostics: readonly X12Diagnostic[]): Problem[] {
  return diagnostics.map((d) => ({ location: d.location, message: `${d.code}: ${d.message}` }));
}

/** Input could not be read as the X12 it should be; `diagnostics` holds everything the reader noticed. */
export class X12ParseError extends GatewayError {
  readonly diagnostics: readonly X12Diagnostic[];
  constructor(
    code: ConstructorParameters<typeof GatewayError>[0],
    message: string,
    diagnostics: readonly X12Diagnostic[] = [],
    cause?: unknown,
  ) {
    super(code, message, { problems: diagnosticsToProblems(diagnostics), cause });
    this.diagnostics = diagnostics;
  }

  /** The diagnostic that stopped the reading: the last error-level one (the reader appends it last). */
  private get decisive(): X12Diagnostic | undefined {
    return this.diagnostics.findLast((d) => d.level === 'error');
  }

  /** Where reading stopped (segment, line, column), when the input has a place to name. */
  get position(): X12Position | undefined {
    return this.decisive?.position;
  }

  /** `ISA (segment 27, line 26, column 17)`, or `document` when no place can be named. */
  get location(): string {
    return this.decisive?.location ?? 'document';
  }
}

/** A request cannot be turned into a valid interchange (missing data, or our output breaks the TR3). */
export class X12BuildError extends GatewayError {}

/** The clearinghouse could not be used (timeout, connection, HTTP 5xx, CORE envelope error, breaker open). */
export class ClearinghouseError extends GatewayError {
  /** True when the clearinghouse may have received the payload (timeout or dropped connection after sending). */
  readonly outcomeUnknown: boolean;
  constructor(
    code: ConstructorParameters<typeof GatewayError>[0],
    message: string,
    options: { outcomeUnknown?: boolean; cause?: unknown; retriable?: boolean; problems?: Problem[] } = {},
  ) {
    super(code, message, options);
    this.outcomeUnknown = options.outcomeUnknown ?? false;
  }
}

/** The payer or clearinghouse answered and said no (AAA, 999 reject, TA1 reject). */
export class PayerRejectedError extends GatewayError {}
