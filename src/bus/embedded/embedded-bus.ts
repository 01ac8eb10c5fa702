/**
 * The embedded bus: Kafka's model on the gateway's own PostgreSQL/PGlite database (migration 0002_bus.sql).
 * Topics have partitions; an append takes the partition's next offsets under a row lock, so offsets are gap-free
 * and visible in order; a consumer group keeps one committed offset per partition; the live instances of a group
 * (members with a heartbeat) split the partitions by leases, and a dead member's leases expire and are claimed.
 * All times are the database's, so instances on different hosts agree.
 *
 * It never holds a transaction while waiting on another connection (PGlite serializes all transactions).
 *
 * This file holds the bus itself: topics, publish and offsets, waking idle readers (and the idle check for other
 * processes' messages), the recent messages, pruning. A group member's heartbeats, leases and rebalance are in
 * ./embedded-subscription.ts; the per-partition read/handle/commit loop is in ./partition-reader.ts.
 */
import type pg from 'pg';
import { type Clock, systemClock } from '../../clock.ts';
import { GatewayError } from '../../errors/index.ts';
import { describeError, type Logger } from '../../log/logger.ts';
import type { BusMetrics } from '../../metrics/metrics.ts';
import { queryMaybeLast, type Tx, withTransaction } from '../../store/sql.ts';
import { type BackoffPolicy, isRetriableError } from '../delivery.ts';
import { partitionForKey } from '../partitioner.ts';
import type {
  Bus,
  LastWrites,
  OutgoingMessage,
  SubscribeOptions,
  Subscription,
  TransactionalPublisher,
  WrittenPartitions,
} from '../port.ts';
import { assertTopicNames } from '../topics.ts';
import { type AppendAnswer, appendStatement, partitionsMissing } from './append-statement.ts';
import { EmbeddedSubscription } from './embedded-subscription.ts';
import { partKey } from './partition-key.ts';
import { type RecentMessage, RecentMessages } from './recent-messages.ts';

export interface TopicSpec {
  readonly name: string;
  /** Partitions when the topic is created (an existing topic keeps its count). */
  readonly partitions?: number;
}

export interface EmbeddedBusOptions {
  readonly pool: pg.Pool;
  readonly logger: Logger;
  readonly deadLetterTopic: string;
  readonly metrics?: BusMetrics;
  readonly clock?: Clock;
  /** Created at start when missing. Topics published to later are created on first use. */
  readonly topics?: readonly TopicSpec[];
  /** Partitions of a topic created without a count (default 4). */
  readonly defaultPartitions?: number;
  /** How often the idle check (one statement for all idle readers) looks for other processes' messages (default 250 ms). */
  readonly pollIntervalMs?: number;
  /** A member that has not renewed its leases for this long is dead; others take its partitions (default 6 s). */
  readonly leaseTtlMs?: number;
  /** Messages read per partition per query (default 100). */
  readonly batchSize?: number;
  readonly backoff?: BackoffPolicy;
  /** Log retention: messages older than this that every group has read are pruned (default 7 days). */
  readonly retentionMs?: number;
}

/** An idle partition reader: what wakes it, and the offset it reads next when it said (checkIdle). */
interface Waiter {
  readonly topic: string;
  readonly partition: number;
  readonly from?: number;
  readonly done: () => void;
}

/** An idle reader the idle check watches waits at most this many poll intervals on its own timer. */
const idleGuardFactor = 40;
const maxTimerMs = 2 ** 31 - 1;

export async function createEmbeddedBus(options: EmbeddedBusOptions): Promise<EmbeddedBus> {
  const bus = new EmbeddedBus(options);
  await bus.ensureTopics([...(options.topics ?? []), { name: options.deadLetterTopic }]);
  return bus;
}

export class EmbeddedBus implements Bus, TransactionalPublisher {
  readonly kind = 'embedded' as const;
  readonly pool: pg.Pool;
  readonly logger: Logger;
  readonly options: EmbeddedBusOptions;
  readonly clock: Clock;
  private readonly partitionCounts = new Map<string, number>();
  private readonly subscriptions = new Set<EmbeddedSubscription>();
  /**
   * Idle partition readers of this process, by partition: a committed publish wakes only the readers of the
   * partitions it wrote (waking all of them made every idle reader run a query per publish: issue #17).
   */
  private readonly waiters = new Map<string, Set<Waiter>>();
  /**
   * Wakes per partition so far. A reader notes it before reading the log; if a wake came while it was reading (the
   * commit it announces may be newer than the reader's snapshot), the reader reads again instead of sleeping.
   */
  private readonly wakes = new Map<string, number>();
  /** What this process appended and saw committed, for its readers (./recent-messages.ts). */
  private readonly recent = new RecentMessages();
  /** The messages each publishInTransaction appended, by the partitions it returned, until `wake` says committed. */
  private readonly appended = new WeakMap<WrittenPartitions, Array<[string, RecentMessage[]]>>();
  private roundRobin = 0;
  private closed = false;
  private pruneTimer: NodeJS.Timeout | undefined;
  /** The idle check's timer (checkIdle), and whether a check is running. */
  private idleTimer: NodeJS.Timeout | undefined;
  private checking = false;

  constructor(options: EmbeddedBusOptions) {
    this.options = options;
    this.pool = options.pool;
    this.logger = options.logger.child({ component: 'embedded-bus' });
    this.clock = options.clock ?? systemClock;
  }

  get defaultPartitions(): number {
    return this.options.defaultPartitions ?? 4;
  }

  /** Creates missing topics with their partitions (idempotent; an existing topic keeps its partition count). */
  async ensureTopics(specs: readonly TopicSpec[]): Promise<void> {
    if (specs.length === 0) return;
    await withTransaction(this.pool, async (tx) => {
      for (const spec of specs) await this.createTopic(tx, spec.name, spec.partitions);
    });
  }

  private async createTopic(tx: Tx, topic: string, partitions = this.defaultPartitions): Promise<number> {
    await tx.query(
      'INSERT INTO bus_topics (topic, partitions) VALUES ($1, $2) ON CONFLICT (topic) DO NOTHING',
      [topic, partitions],
    );
    const { rows } = await tx.query<{ partitions: number }>(
      'SELECT partitions FROM bus_topics WHERE topic = $1',
      [topic],
    );
    const count = rows[0]!.partitions;
    await tx.query(
      `INSERT INTO bus_partitions (topic, partition) SELECT $1, p FROM generate_series(0, $2 - 1) AS p
       ON CONFLICT (topic, partition) DO NOTHING`,
      [topic, count],
    );
    return count;
  }

  private async partitionsOf(tx: Tx, topics: readonly string[]): Promise<Map<string, number>> {
    const missing = topics.filter((t) => !this.partitionCounts.has(t));
    if (missing.length > 0) {
      const { rows } = await tx.query<{ topic: string; partitions: number }>(
        'SELECT topic, partitions FROM bus_topics WHERE topic = ANY($1)',
        [missing],
      );
      const found = new Map(rows.map((r) => [r.topic, r.partitions]));
      for (const topic of missing) {
        // A topic first seen here is created in the caller's transaction; cache it only once it is known committed.
        const count = found.get(topic) ?? (await this.createTopic(tx, topic));
        if (found.has(topic)) this.partitionCounts.set(topic, count);
        else found.set(topic, count);
      }
      return new Map(topics.map((t) => [t, this.partitionCounts.get(t) ?? found.get(t)!]));
    }
    return new Map(topics.map((t) => [t, this.partitionCounts.get(t)!]));
  }

  async publish(messages: readonly OutgoingMessage[]): Promise<void> {
    if (messages.length === 0) return;
    let written: WrittenPartitions;
    try {
      written = await withTransaction(this.pool, (tx) => this.publishInTransaction(tx, messages));
    } catch (error) {
      throw toBusError(error, 'publish to the embedded bus');
    }
    this.wake(written);
  }

  /**
   * Appends messages in the caller's transaction. Partitions are locked in a fixed order (topic, partition), so
   * two publishers never deadlock; within a partition, messages keep the order they were given in.
   */
  async publishInTransaction(tx: Tx, messages: readonly OutgoingMessage[]): Promise<WrittenPartitions> {
    if (messages.length === 0) return [];
    return (await this.append(tx, messages)).written;
  }

  /** publishInTransaction with the caller's last writes in the same statement, the COMMIT behind it (port.ts). */
  async publishLastInTransaction(
    tx: Tx,
    messages: readonly OutgoingMessage[],
    last: LastWrites,
  ): Promise<{ written: WrittenPartitions; result: unknown }> {
    return this.append(tx, messages, last);
  }

  private async append(
    tx: Tx,
    messages: readonly OutgoingMessage[],
    last?: LastWrites,
  ): Promise<{ written: WrittenPartitions; result: unknown }> {
    if (this.closed) throw new GatewayError('PAGW_BUS_CLOSED', 'The embedded bus is closed');
    if (messages.length === 0) {
      if (!last) return { written: [], result: undefined };
      const { rows } = await queryMaybeLast<{ result: unknown }>(
        tx,
        `WITH ${last.ctes} SELECT ${last.result} AS result`,
        [...last.values],
        { thenCommit: true },
      );
      return { written: [], result: rows[0]?.result };
    }
    assertTopicNames(messages);
    const counts = await this.partitionsOf(tx, [...new Set(messages.map((m) => m.topic))]);
    const groups = new Map<string, { topic: string; partition: number; messages: OutgoingMessage[] }>();
    for (const message of messages) {
      const count = counts.get(message.topic)!;
      const partition =
        message.key === null ? this.roundRobin++ % count : partitionForKey(message.key, count);
      const key = partKey(message.topic, partition);
      let group = groups.get(key);
      if (!group) {
        group = { topic: message.topic, partition, messages: [] };
        groups.set(key, group);
      }
      group.messages.push(message);
    }
    const ordered = [...groups.values()].sort((a, b) =>
      a.topic === b.topic ? a.partition - b.partition : a.topic < b.topic ? -1 : 1,
    );
    const statement = appendStatement(ordered, last);
    const { rows: answered } = await queryMaybeLast<AppendAnswer>(tx, statement.text, [...statement.values], {
      thenCommit: Boolean(last),
    }).catch((error: unknown) => {
      if (!String((error as Error)?.message).includes(partitionsMissing)) throw error;
      for (const group of ordered) this.partitionCounts.delete(group.topic);
      throw new GatewayError(
        'PAGW_BUS_UNAVAILABLE',
        `Embedded bus partitions of ${[...new Set(ordered.map((g) => g.topic))].join(', ')} do not exist`,
        { cause: error },
      );
    });
    const rows = answered.filter((r): r is typeof r & { topic: string } => r.topic !== null);
    if (rows.length !== ordered.length) {
      // Nothing may be kept (some partitions took offsets): the caller's transaction rolls back on this error.
      const found = new Set(rows.map((r) => partKey(r.topic, r.partition)));
      const gone = ordered.find((g) => !found.has(partKey(g.topic, g.partition)))!;
      this.partitionCounts.delete(gone.topic);
      throw new GatewayError(
        'PAGW_BUS_UNAVAILABLE',
        `Embedded bus partition ${gone.topic}/${gone.partition} does not exist`,
      );
    }
    for (const group of ordered)
      this.options.metrics?.published.inc({ bus: 'embedded', topic: group.topic }, group.messages.length);
    const written: WrittenPartitions = [...groups.keys()];
    const firsts = new Map(rows.map((r) => [partKey(r.topic, r.partition), Number(r.first)]));
    this.appended.set(
      written,
      ordered.map((group) => {
        const key = partKey(group.topic, group.partition);
        const first = firsts.get(key)!;
        const messages = group.messages.map((m, i) => ({
          offset: first + i,
          message_key: m.key,
          headers: m.headers ?? {},
          value: m.value,
        }));
        return [key, messages];
      }),
    );
    return { written, result: answered[0]?.result };
  }

  /** This process's committed messages of the partition from `offset` on, when it has them (./recent-messages.ts). */
  recentFrom(topic: string, partition: number, offset: number, limit: number): RecentMessage[] | undefined {
    return this.recent.from(partKey(topic, partition), offset, limit);
  }

  /** Wakes this process's idle readers of the partitions written (all of them without `written`). */
  wake(written?: WrittenPartitions): void {
    // Committed now: the messages it appended go where this process's readers find them without a read.
    for (const [key, messages] of (written && this.appended.get(written)) || [])
      this.recent.add(key, messages);
    this.wakeKeys(written ?? [...new Set([...this.waiters.keys(), ...this.wakes.keys()])]);
  }

  private wakeKeys(keys: Iterable<string>): void {
    for (const key of keys) {
      this.wakes.set(key, (this.wakes.get(key) ?? 0) + 1);
      const waiting = this.waiters.get(key);
      if (!waiting) continue;
      this.waiters.delete(key);
      for (const waiter of waiting) waiter.done();
    }
  }

  /** This partition's wake count, to pass to `waitForMessages` (read it before reading the log). */
  wakeCount(topic: string, partition: number): number {
    return this.wakes.get(partKey(topic, partition)) ?? 0;
  }

  /**
   * Resolves when a publish to this partition wakes it, after `ms`, or when `signal` aborts; at once when it was
   * woken since `seenWakes` (its wakeCount before the read that found nothing). A reader that says which offset it
   * reads next (`from`) is also woken by the idle check (checkIdle) when another process appended there; its own
   * timer is then only a guard against a check that keeps failing (idleGuardFactor × `ms`).
   */
  waitForMessages(
    topic: string,
    partition: number,
    seenWakes: number,
    ms: number,
    signal: AbortSignal,
    from?: number,
  ): Promise<void> {
    const key = partKey(topic, partition);
    // A signal aborted already never fires its 'abort' again: a reader stopped while it handled its batch would
    // otherwise sleep a whole poll interval before it sees it.
    if (signal.aborted || (this.wakes.get(key) ?? 0) !== seenWakes) return Promise.resolve();
    return new Promise((resolve) => {
      const waiter: Waiter = {
        topic,
        partition,
        ...(from !== undefined ? { from } : {}),
        done: () => {
          clearTimeout(timer);
          signal.removeEventListener('abort', waiter.done);
          const waiting = this.waiters.get(key);
          waiting?.delete(waiter);
          if (waiting?.size === 0) this.waiters.delete(key);
          resolve();
        },
      };
      const timer = setTimeout(
        waiter.done,
        Math.min(from === undefined ? ms : ms * idleGuardFactor, maxTimerMs),
      );
      signal.addEventListener('abort', waiter.done, { once: true });
      let waiting = this.waiters.get(key);
      if (!waiting) {
        waiting = new Set();
        this.waiters.set(key, waiting);
      }
      waiting.add(waiter);
    });
  }

  /**
   * The idle check (issue #17): one statement every poll interval asks whether any partition an idle reader of
   * this process waits on has offsets past the one it reads next, and wakes those readers. Messages this process
   * publishes wake its readers at once (wake); the check is for other processes' publishes. Each idle reader used
   * to poll the log itself, one statement per reader per interval: twelve readers at 250 ms were ~1 statement per
   * order at 45 orders/s.
   */
  async checkIdle(): Promise<void> {
    if (this.checking || this.closed) return;
    const from = new Map<string, { topic: string; partition: number; offset: number }>();
    for (const [key, waiting] of this.waiters)
      for (const waiter of waiting) {
        if (waiter.from === undefined) continue;
        const seen = from.get(key);
        if (!seen || waiter.from < seen.offset)
          from.set(key, { topic: waiter.topic, partition: waiter.partition, offset: waiter.from });
      }
    if (from.size === 0) return;
    this.checking = true;
    try {
      const asked = [...from.values()];
      const { rows } = await this.pool.query<{ topic: string; partition: number; next_offset: string }>(
        `SELECT topic, partition, next_offset FROM bus_partitions
          WHERE (topic, partition) IN (SELECT * FROM unnest($1::text[], $2::int[]))`,
        [asked.map((a) => a.topic), asked.map((a) => a.partition)],
      );
      const key = (r: { topic: string; partition: number }) => partKey(r.topic, r.partition);
      this.wakeKeys(rows.filter((r) => Number(r.next_offset) > from.get(key(r))!.offset).map(key));
    } catch (error) {
      this.logger.warn(describeError(error), 'embedded bus idle check failed');
    } finally {
      this.checking = false;
    }
  }

  async subscribe(options: SubscribeOptions): Promise<Subscription> {
    if (this.closed) throw new GatewayError('PAGW_BUS_CLOSED', 'The embedded bus is closed');
    await this.ensureTopics(options.topics.map((name) => ({ name })));
    const subscription = new EmbeddedSubscription(this, options, () =>
      this.subscriptions.delete(subscription),
    );
    this.subscriptions.add(subscription);
    await subscription.start();
    this.idleTimer ??= setInterval(() => void this.checkIdle(), this.options.pollIntervalMs ?? 250).unref();
    this.pruneTimer ??= setInterval(() => {
      this.prune().catch((error) => this.logger.warn(describeError(error), 'embedded bus prune failed'));
    }, 600_000).unref();
    return subscription;
  }

  /**
   * Deletes log messages older than the retention that every group reading their partition has committed past
   * (a partition no group reads keeps messages for the retention only). Returns how many were deleted.
   */
  async prune(retentionMs = this.options.retentionMs ?? 7 * 24 * 3600_000): Promise<number> {
    const result = await this.pool.query(
      `DELETE FROM bus_log l
        WHERE l.appended_at < now() - $1 * interval '1 millisecond'
          AND l."offset" < COALESCE(
                (SELECT min(o.committed_offset) FROM bus_group_offsets o
                  WHERE o.topic = l.topic AND o.partition = l.partition),
                9223372036854775807)`,
      [retentionMs],
    );
    return result.rowCount ?? 0;
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    clearInterval(this.pruneTimer);
    clearInterval(this.idleTimer);
    await Promise.all([...this.subscriptions].map((s) => s.stop()));
    this.wake();
  }
}

function toBusError(error: unknown, what: string): GatewayError {
  if (error instanceof GatewayError) return error;
  return isRetriableError(error)
    ? new GatewayError('PAGW_BUS_UNAVAILABLE', `Cannot ${what}: the database is unavailable`, {
        cause: error,
      })
    : new GatewayError('PAGW_BUS_PUBLISH_REJECTED', `Cannot ${what}`, { cause: error });
}
