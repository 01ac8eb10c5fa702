/**
 * The Bus port: how the gateway meets Kafka (kafkajs adapter) or, with no servers at all, the embedded bus
 * (a durable log table in the gateway's own database). Both adapters implement exactly this interface.
 *
 * Delivery contract: at-least-once. A subscription calls `handle` for each message in partition order and
 * commits the message's offset only after `handle` resolved, and `handle` resolves only after its own
 * database transaction committed. A redelivered message must therefore be harmless: handlers dedupe on an
 * idempotency key inside that transaction.
 */
import type { Tx } from '../store/sql.ts';

export interface BusHeaders {
  [name: string]: string;
}

export interface OutgoingMessage {
  readonly topic: string;
  /** Partition key: case id for case events, placer order number for orders; null spreads messages. */
  readonly key: string | null;
  readonly value: Buffer;
  readonly headers?: BusHeaders;
}

export interface IncomingMessage {
  readonly topic: string;
  readonly partition: number;
  /** Offset as a decimal string (Kafka offsets are int64). */
  readonly offset: string;
  readonly key: string | null;
  readonly value: Buffer;
  readonly headers: BusHeaders;
  /** Delivery attempt of this message by this subscription, from 1. */
  readonly attempt: number;
}

/**
 * Handles one message. Throw a retriable GatewayError (or let a lost database connection surface) to be retried
 * with backoff for as long as the subscription runs; anything else is retried up to `maxAttempts` times and then
 * dead-lettered (src/bus/delivery.ts).
 */
export type MessageHandler = (message: IncomingMessage) => Promise<void>;

export interface SubscribeOptions {
  /** Consumer group: instances in one group split the partitions; each group sees every message. */
  readonly group: string;
  readonly topics: readonly string[];
  readonly handle: MessageHandler;
  /** Attempts before a failing message goes to the dead-letter topic and its partition moves on (default 5). */
  readonly maxAttempts?: number;
  /** Where a group with no committed offset starts: the oldest retained message (default true) or the end. */
  readonly fromBeginning?: boolean;
}

export interface Subscription {
  /** Stops fetching, lets in-flight handlers finish, commits what finished, leaves the group. */
  stop(): Promise<void>;
}

export interface Bus {
  readonly kind: 'kafka' | 'embedded';
  /** Resolves once every message is durably stored by the bus, in order per partition; throws a GatewayError. */
  publish(messages: readonly OutgoingMessage[]): Promise<void>;
  subscribe(options: SubscribeOptions): Promise<Subscription>;
  /** Stops every subscription of this bus, then releases its connections. */
  close(): Promise<void>;
}

/**
 * Optional capability of a bus that lives in the gateway's own database (the embedded bus): it appends messages
 * inside the CALLER's transaction, so the outbox relay moves an event to the bus exactly once.
 */
export interface TransactionalPublisher {
  /** Returns the partitions written, for `wake` once the transaction has committed. */
  publishInTransaction(tx: Tx, messages: readonly OutgoingMessage[]): Promise<WrittenPartitions>;
  /**
   * publishInTransaction as the transaction's last statement: the caller's `last` writes go in the append's own
   * statement and the COMMIT behind it (the outbox relay's mark: one round trip fewer per round, issue #17).
   * Nothing may run in the transaction after it. Returns the partitions written and the value of `last.result`.
   */
  publishLastInTransaction(
    tx: Tx,
    messages: readonly OutgoingMessage[],
    last: LastWrites,
  ): Promise<{ written: WrittenPartitions; result: unknown }>;
  /**
   * Call after that transaction committed: the local readers of the partitions written look for the new messages
   * at once (without `written`, every local reader does).
   */
  wake(written?: WrittenPartitions): void;
}

/**
 * Writes sent with a transactional publish's statement: data-modifying CTEs (`name AS (…)`, comma-separated,
 * parameters numbered from $1) and an SQL expression over them whose value comes back (`(SELECT count(*) FROM x)`).
 */
export interface LastWrites {
  readonly ctes: string;
  readonly values: readonly unknown[];
  readonly result: string;
}

/** The partitions one transactional publish appended to (opaque to callers). */
export type WrittenPartitions = readonly string[];

export function isTransactionalPublisher(bus: Bus): bus is Bus & TransactionalPublisher {
  return typeof (bus as Partial<TransactionalPublisher>).publishInTransaction === 'function';
}
