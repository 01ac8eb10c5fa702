/**
 * The X12 connector's options (connectors/x12/connector.ts) and the defaults for the channel settings a payer file
 * leaves out (timeouts, retries, circuit breaker, follow-up interval). Their own module because the exchange, the
 * reading of answers and the entry point all use them, and none of those should import another only for them.
 */
import type { Clock } from '../../src/clock.ts';
import type { Logger } from '../../src/log/logger.ts';
import type { SecretReader } from '../../src/vault/port.ts';
import type { PayerDirectory } from '../../src/workflow/rules/payer-directory.ts';
import type { X12Channel } from '../../src/workflow/rules/types.generated.ts';
import type { X12Store } from './store.ts';
import type { ClearinghouseTransport } from './transport/core-http.ts';

export interface X12Sender {
  /** ISA05/ISA06. */
  readonly qualifier: string;
  readonly id: string;
  /** GS02; defaults to the ISA id. */
  readonly applicationId?: string;
  /** CORE SenderID; defaults to the ISA id. */
  readonly coreSenderId?: string;
  /** TRN03, exactly 10 characters (1 + EIN, or 9 + an id). */
  readonly traceOriginator: string;
}

export interface X12ConnectorOptions {
  readonly store: X12Store;
  readonly clock: Clock;
  readonly sender: X12Sender;
  /** Finds the payer's X12 channel when the call context's settings are not one. */
  readonly directory?: PayerDirectory;
  /**
   * The vault: a channel whose clearinghouse has a `credentialsRef` logs in with `<ref>/username` and
   * `<ref>/password` of the case's tenant, read (audited) for each exchange and never logged. A reference that
   * cannot be resolved fails the call (PAGW_VAULT_SECRET_MISSING naming payer and reference): never anonymous.
   */
  readonly secrets?: SecretReader;
  /** Replaces the CORE HTTP transport (another clearinghouse protocol). */
  readonly transportFor?: (
    channel: X12Channel,
    credentials?: { username: string; password: string },
  ) => ClearinghouseTransport;
  readonly sleep?: (ms: number) => Promise<void>;
  readonly random?: () => number;
  readonly logger?: Logger;
}

export const defaults = {
  timeoutMs: 30_000,
  maxAttempts: 3,
  initialBackoffMs: 500,
  maxBackoffMs: 10_000,
  failureThreshold: 5,
  cooldownMs: 30_000,
  inquiryIntervalMinutes: 240,
};
