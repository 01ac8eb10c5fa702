/**
 * What both adapters do with one message: call the handler, retry with backoff, and decide when a message is
 * poison. The runner (kafka/ or embedded/) owns fetching, commits and partitions; this owns one delivery.
 *
 * Policy: a RETRIABLE error (GatewayError.retriable, a lost database or broker connection) is retried for as
 * long as the subscription runs: an outage pauses the partition, it never dead-letters it. Anything else is a
 * property of the message (or a bug): it is retried up to `maxAttempts` times, then dead-lettered.
 */
import { GatewayError } from '../errors/index.ts';
import type { IncomingMessage, MessageHandler } from './port.ts';

/** SQLSTATE classes that say "the database, not the statement": connection, rollback, resources, shutdown. */
const retriableSqlState = /^(08|40|53|57P|58)[0-9A-Z]+$/;
const retriableSystemCodes = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'ETIMEDOUT',
  'EPIPE',
  'EAI_AGAIN',
  'EHOSTUNREACH',
  'ENETUNREACH',
]);

/** Whether retrying the same work later can succeed: the only thing a retrier reads. */
export function isRetriableError(error: unknown): boolean {
  if (error instanceof GatewayError) return error.retriable;
  if (typeof error !== 'object' || error === null) return false;
  const { name, code, retriable, message } = error as {
    name?: unknown;
    code?: unknown;
    retriable?: unknown;
    message?: unknown;
  };
  if (typeof name === 'string' && name.startsWith('KafkaJS') && typeof retriable === 'boolean')
    return retriable;
  if (typeof code === 'string' && (retriableSqlState.test(code) || retriableSystemCodes.has(code)))
    return true;
  return (
    typeof message === 'string' &&
    /Connection terminated|connection error|timeout exceeded when trying to connect/i.test(message)
  );
}

export interface BackoffPolicy {
  readonly initialMs: number;
  readonly maxMs: number;
}

export const defaultBackoff: BackoffPolicy = { initialMs: 200, maxMs: 30_000 };

/** Exponential backoff with ±20% jitter, so instances retrying the same outage do not march in step. */
export function backoffDelay(attempt: number, policy: BackoffPolicy = defaultBackoff): number {
  const base = Math.min(policy.maxMs, policy.initialMs * 2 ** Math.max(0, attempt - 1));
  return Math.round(base * (0.8 + Math.random() * 0.4));
}

/** Resolves after `ms`, or at once when `signal` aborts. Never rejects. */
export function pause(ms: number, signal?: AbortSignal): Promise<void> {
  if (signal?.aborted) return Promise.resolve();
  return new Promise((resolve) => {
    const done = () => {
      clearTimeout(timer);
      signal?.removeEventListener('abort', done);
      resolve();
    };
    const timer = setTimeout(done, ms);
    signal?.addEventListener('abort', done, { once: true });
  });
}

export type DeliveryOutcome =
  | { readonly kind: 'handled'; readonly attempts: number }
  | { readonly kind: 'dead-letter'; readonly attempts: number; readonly error: unknown }
  /** Stopped (shutdown, partition revoked) before the handler succeeded: the message is redelivered later. */
  | { readonly kind: 'abandoned'; readonly attempts: number };

export interface DeliverOptions {
  readonly handle: MessageHandler;
  readonly maxAttempts: number;
  /** Aborted when the subscription stops: waiting ends and the message is abandoned, not committed. */
  readonly signal: AbortSignal;
  /** True when this instance no longer owns the message's partition. */
  readonly isStale?: () => boolean;
  /** Keeps group membership alive during long waits (Kafka heartbeat). Its errors propagate. */
  readonly keepAlive?: () => Promise<void>;
  readonly onFailure?: (info: {
    attempt: number;
    retriable: boolean;
    error: unknown;
    delayMs: number;
  }) => void;
  readonly backoff?: BackoffPolicy;
}

export async function deliver(
  message: Omit<IncomingMessage, 'attempt'>,
  options: DeliverOptions,
): Promise<DeliveryOutcome> {
  for (let attempt = 1; ; attempt++) {
    if (options.signal.aborted || options.isStale?.()) return { kind: 'abandoned', attempts: attempt - 1 };
    try {
      await options.handle({ ...message, attempt });
      return { kind: 'handled', attempts: attempt };
    } catch (error) {
      const retriable = isRetriableError(error);
      if (!retriable && attempt >= options.maxAttempts)
        return { kind: 'dead-letter', attempts: attempt, error };
      const delayMs = backoffDelay(attempt, options.backoff);
      options.onFailure?.({ attempt, retriable, error, delayMs });
      await waitKeepingAlive(delayMs, options);
    }
  }
}

/** Sleeps in slices of at most one second, keeping the membership alive between slices. */
async function waitKeepingAlive(ms: number, options: DeliverOptions): Promise<void> {
  const until = Date.now() + ms;
  for (;;) {
    const left = until - Date.now();
    if (left <= 0 || options.signal.aborted) return;
    await pause(Math.min(left, 1000), options.signal);
    if (options.keepAlive && !options.signal.aborted) await options.keepAlive();
  }
}
