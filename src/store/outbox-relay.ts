/**
 * The outbox relay: publishes outbox rows through the Bus and marks them published.
 *
 * Guarantees
 * - At least once: a row is marked published only after the bus accepted it; a crash in between republishes
 *   it, with the same `pagw-event-id` header, so consumers dedupe. On the embedded bus the append and the mark
 *   are one statement of one transaction: exactly once.
 * - One case's events go out in commit order. Writers insert a case's outbox rows while holding the case row
 *   lock (src/store/cases.ts), so per case the outbox id order IS the commit order; the relay publishes a case's
 *   rows only as an unbroken prefix of that case's unpublished rows (rows without a case: per message key).
 * - Two instances never both publish a row: on PostgreSQL the relay locks its rows (FOR UPDATE SKIP LOCKED) and
 *   holds the locks until they are marked, so the other instance skips them — and the prefix rule keeps it from
 *   overtaking them with a later event of the same case. The embedded PGlite database is single-process (its
 *   data directory is locked), so there the relay reads, publishes and marks without holding a transaction
 *   across the network call (PGlite runs one transaction at a time for the whole process).
 *
 * A batch the bus refuses for good is split into single rows; a single row refused for good is set aside (with
 * backoff, never dropped) so it holds back only its own case. Lag is exported by src/metrics.
 */

import { describeFailure } from '../bus/dead-letter.ts';
import { backoffDelay, isRetriableError, pause } from '../bus/delivery.ts';
import type { Bus, OutgoingMessage, WrittenPartitions } from '../bus/port.ts';
import { isTransactionalPublisher } from '../bus/port.ts';
import type { Clock } from '../clock.ts';
import { describeError, type Logger } from '../log/logger.ts';
import type { OutboxMetrics } from '../metrics/metrics.ts';
import type { Database } from './database.ts';
import { onStoreSignal, raiseAfterCommit, raiseStoreSignal } from './signals.ts';
import { type Sql, type Tx, withTransaction } from './sql.ts';
import { markPublishedAndWake, markPublishedAndWakeWrites } from './timers.ts';

export interface OutboxRelayOptions {
  readonly db: Pick<Database, 'pool' | 'kind'>;
  readonly bus: Bus;
  readonly clock: Clock;
  readonly logger: Logger;
  readonly metrics?: OutboxMetrics;
  /** Rows per publish (default 200). */
  readonly batchSize?: number;
  /** Idle wait between polls when the outbox is drained (default 250 ms). */
  readonly intervalMs?: number;
}

interface OutboxRow {
  id: number;
  event_id: string;
  case_id: string | null;
  topic: string;
  message_key: string | null;
  headers: Record<string, string>;
  value: Buffer;
}

/** Rows refused for good, set aside until a retry time (in memory: a restart simply tries them again). */
type Quarantine = Map<number, { until: number; attempts: number; key: string | null }>;

export interface RelayRound {
  /** Rows published and marked. */
  readonly published: number;
  /** Rows claimed but held back to keep a case's order (another instance holds an earlier event). */
  readonly heldBack: number;
  /** The claim came back full: more rows may be waiting. */
  readonly full: boolean;
}

const orderKey = (row: Pick<OutboxRow, 'case_id' | 'message_key'>) => row.case_id ?? row.message_key;

function toMessage(row: OutboxRow): OutgoingMessage {
  return { topic: row.topic, key: row.message_key, value: row.value, headers: row.headers };
}

export class OutboxRelay {
  private readonly quarantine: Quarantine = new Map();
  /** After a batch was refused for good: publish one row at a time for this many rounds to find the culprit. */
  private isolateRounds = 0;
  private readonly mode: 'bus-transaction' | 'row-locks' | 'single-process';
  /** True when the last failure was pinned on messages (split or set aside): the next round can go at once. */
  lastFailureIsolated = false;

  constructor(private readonly options: OutboxRelayOptions) {
    this.mode = isTransactionalPublisher(options.bus)
      ? 'bus-transaction'
      : options.db.kind === 'postgres'
        ? 'row-locks'
        : 'single-process';
  }

  /** Publishes one batch. Throws the bus's error when the batch could not be published (rows stay unpublished). */
  async relayOnce(): Promise<RelayRound> {
    const limit = this.isolateRounds > 0 ? 1 : (this.options.batchSize ?? 200);
    if (this.isolateRounds > 0) this.isolateRounds--;
    const now = Date.now();
    const active = [...this.quarantine].filter(([, q]) => q.until > now);
    // A set-aside row holds back its whole case: skip those cases when claiming, so others make progress.
    const setAside = {
      ids: active.map(([id]) => id),
      keys: [...new Set(active.map(([, q]) => q.key).filter((k): k is string => k !== null))],
    };
    let claimed: OutboxRow[] = [];
    try {
      const { pool } = this.options.db;
      if (this.mode === 'single-process') {
        claimed = await this.claim(pool, limit, setAside, false);
        const publishable = await this.inOrder(pool, claimed);
        if (publishable.length > 0) {
          await this.options.bus.publish(publishable.map(toMessage));
          await this.markPublished(pool, publishable, false);
        }
        return this.done(claimed, publishable, limit);
      }
      let written: WrittenPartitions = [];
      const round = await withTransaction(pool, async (tx) => {
        const claim = await this.claimInOrder(tx, limit, setAside);
        claimed = claim.claimed;
        const publishable = claim.publishable;
        if (publishable.length > 0) {
          const { bus } = this.options;
          if (isTransactionalPublisher(bus)) {
            // The append, the mark and the COMMIT in one round trip (issue #17).
            const last = markPublishedAndWakeWrites(publishable, this.options.clock.now());
            const appended = await bus.publishLastInTransaction(tx, publishable.map(toMessage), last);
            written = appended.written;
            if (Number(appended.result) > 0) raiseAfterCommit(tx, 'due:local');
          } else {
            await bus.publish(publishable.map(toMessage));
            await this.markPublished(tx, publishable, true);
          }
        }
        return this.done(claimed, publishable, limit);
      });
      // Committed: only now can the readers of the partitions written see the messages.
      if (written.length > 0 && isTransactionalPublisher(this.options.bus)) this.options.bus.wake(written);
      return round;
    } catch (error) {
      await this.recordFailure(claimed, error);
      throw error;
    }
  }

  private done(claimed: OutboxRow[], publishable: OutboxRow[], limit: number): RelayRound {
    if (publishable.length > 0) {
      for (const row of publishable) this.quarantine.delete(row.id);
      this.options.metrics?.published.inc(publishable.length);
    }
    return {
      published: publishable.length,
      heldBack: claimed.length - publishable.length,
      full: claimed.length >= limit,
    };
  }

  private async claim(
    sql: Sql,
    limit: number,
    setAside: { ids: number[]; keys: string[] },
    lock: boolean,
  ): Promise<OutboxRow[]> {
    const { rows } = await sql.query<OutboxRow>(
      `SELECT id, event_id, case_id, topic, message_key, headers, value FROM outbox
        WHERE published_at IS NULL AND NOT (id = ANY($2::bigint[]))
          AND (cardinality($3::text[]) = 0 OR NOT (COALESCE(case_id::text, message_key) = ANY($3::text[])))
        ORDER BY id LIMIT $1 ${lock ? 'FOR UPDATE SKIP LOCKED' : ''}`,
      [limit, setAside.ids, setAside.keys],
    );
    return rows;
  }

  /**
   * Claims and locks a batch (skipping rows other instances hold) and, in the same statement, finds which claimed
   * rows come after an unpublished row of their case (else key) this relay does not hold — one locked by another
   * instance, or set aside: those are held back (inOrder's rule, one round trip fewer per round: issue #17).
   */
  private async claimInOrder(
    tx: Tx,
    limit: number,
    setAside: { ids: number[]; keys: string[] },
  ): Promise<{ claimed: OutboxRow[]; publishable: OutboxRow[] }> {
    const { rows } = await tx.query<OutboxRow & { held_back: boolean }>(
      `WITH claimed AS MATERIALIZED (
         SELECT id, event_id, case_id, topic, message_key, headers, value FROM outbox
          WHERE published_at IS NULL AND NOT (id = ANY($2::bigint[]))
            AND (cardinality($3::text[]) = 0 OR NOT (COALESCE(case_id::text, message_key) = ANY($3::text[])))
          ORDER BY id LIMIT $1 FOR UPDATE SKIP LOCKED)
       SELECT c.*, EXISTS (
           SELECT 1 FROM outbox o
            WHERE o.published_at IS NULL AND o.id < c.id AND NOT (o.id IN (SELECT id FROM claimed))
              AND (CASE WHEN c.case_id IS NOT NULL THEN o.case_id = c.case_id
                        ELSE c.message_key IS NOT NULL AND o.case_id IS NULL AND o.message_key = c.message_key END)
         ) AS held_back
         FROM claimed c ORDER BY c.id`,
      [limit, setAside.ids, setAside.keys],
    );
    const claimed: OutboxRow[] = [];
    const publishable: OutboxRow[] = [];
    for (const { held_back, ...row } of rows) {
      claimed.push(row);
      if (!held_back) publishable.push(row);
    }
    return { claimed, publishable };
  }

  /**
   * Keeps, per case (else per key), only the claimed rows that come before any unpublished row of that case
   * this relay does not hold: one locked by another instance, or set aside.
   */
  private async inOrder(sql: Sql, claimed: OutboxRow[]): Promise<OutboxRow[]> {
    if (claimed.length === 0) return claimed;
    const caseIds = [...new Set(claimed.map((r) => r.case_id).filter((c): c is string => c !== null))];
    const keys = [
      ...new Set(
        claimed.filter((r) => r.case_id === null && r.message_key !== null).map((r) => r.message_key!),
      ),
    ];
    if (caseIds.length === 0 && keys.length === 0) return claimed;
    const maxId = claimed.at(-1)!.id;
    const { rows } = await sql.query<{ id: number; k: string }>(
      `SELECT id, case_id::text AS k FROM outbox
        WHERE published_at IS NULL AND case_id = ANY($1::uuid[]) AND id <= $3
       UNION ALL
       SELECT id, message_key AS k FROM outbox
        WHERE published_at IS NULL AND case_id IS NULL AND message_key = ANY($2::text[]) AND id <= $3
       ORDER BY id`,
      [caseIds, keys, maxId],
    );
    const mine = new Set(claimed.map((r) => r.id));
    const firstForeign = new Map<string, number>();
    for (const row of rows) {
      if (!mine.has(row.id) && !firstForeign.has(row.k)) firstForeign.set(row.k, row.id);
    }
    return claimed.filter((row) => {
      const key = orderKey(row);
      return key === null || row.id < (firstForeign.get(key) ?? Number.POSITIVE_INFINITY);
    });
  }

  /**
   * Marks rows published and wakes the steps waiting for their cases' events (a `decided` case's delivery), so a
   * case is `delivered` as soon as its events are out instead of at its step's next fixed retry.
   */
  private async markPublished(sql: Sql | Tx, rows: OutboxRow[], inTransaction: boolean): Promise<void> {
    // In a transaction, the mark is its last statement: the COMMIT goes with it.
    const woken = await markPublishedAndWake(sql, rows, this.options.clock.now(), {
      thenCommit: inTransaction,
    });
    if (woken === 0) return;
    // markPublishedAndWake wakes only database-only steps (the delivery): the local lane.
    if (inTransaction) raiseAfterCommit(sql, 'due:local');
    else raiseStoreSignal(this.options.db.pool, 'due:local');
  }

  private async recordFailure(claimed: OutboxRow[], error: unknown): Promise<void> {
    const retriable = isRetriableError(error);
    this.lastFailureIsolated = !retriable && claimed.length > 0;
    this.options.metrics?.failures.inc({ retriable: String(retriable) });
    if (claimed.length === 0) return;
    const { code, reason } = describeFailure(error);
    await this.options.db.pool
      .query('UPDATE outbox SET attempts = attempts + 1, last_error = $2 WHERE id = ANY($1::bigint[])', [
        claimed.map((r) => r.id),
        `${code}: ${reason}`.slice(0, 1000),
      ])
      .catch(() => {}); // bookkeeping only: the rows are unpublished either way
    if (retriable) return;
    if (claimed.length > 1) {
      this.isolateRounds = claimed.length;
      return;
    }
    const row = claimed[0]!;
    const attempts = (this.quarantine.get(row.id)?.attempts ?? 0) + 1;
    const delayMs = backoffDelay(attempts, { initialMs: 1000, maxMs: 300_000 });
    this.quarantine.set(row.id, { until: Date.now() + delayMs, attempts, key: orderKey(row) });
    this.options.logger.error(
      { outboxId: row.id, eventId: row.event_id, topic: row.topic, code, attempts, delayMs },
      'outbox event refused by the bus; set aside (its case waits)',
    );
  }
}

export interface RelayWorker {
  readonly relay: OutboxRelay;
  /** Stops polling, then publishes what is left (for at most `drainMs`, default 5 s) so a clean shutdown leaves no lag. */
  stop(options?: { drainMs?: number }): Promise<void>;
}

/**
 * Runs the relay until stopped: back to back while there is work (a full batch, or a commit of this process during
 * the round); when drained, until a commit of this process
 * writes outbox rows (the 'outbox' store signal) or `intervalMs` passes (rows other processes wrote). A failure
 * backs off regardless of signals.
 */
export function startOutboxRelay(options: OutboxRelayOptions): RelayWorker {
  const relay = new OutboxRelay(options);
  const abort = new AbortController();
  const logger = options.logger.child({ component: 'outbox-relay' });
  /** Set by a signal that came while a round ran (the round may have read before that commit): go again at once. */
  let signalled = false;
  let idle: AbortController | undefined;
  const unsubscribe = onStoreSignal(options.db.pool, 'outbox', () => {
    signalled = true;
    idle?.abort();
  });
  const loop = (async () => {
    let failures = 0;
    while (!abort.signal.aborted) {
      let waitMs = options.intervalMs ?? 250;
      signalled = false;
      try {
        const round = await relay.relayOnce();
        failures = 0;
        // Again at once when this process committed rows meanwhile or the claim was full. A round that took less
        // than a full batch read every row committed before it began, so a further round would find nothing (it
        // cost three statements per order at 20 orders/s): rows of other processes wait for the poll, as before.
        if (round.full || signalled) continue;
      } catch (error) {
        failures++;
        waitMs = relay.lastFailureIsolated ? 0 : backoffDelay(failures, { initialMs: 250, maxMs: 5000 });
        logger.warn({ failures, waitMs, ...describeError(error) }, 'outbox publish failed; will retry');
        await pause(waitMs, abort.signal);
        continue;
      }
      idle = new AbortController();
      const stopIdle = () => idle?.abort();
      abort.signal.addEventListener('abort', stopIdle, { once: true });
      await pause(waitMs, idle.signal);
      abort.signal.removeEventListener('abort', stopIdle);
      idle = undefined;
    }
  })();
  return {
    relay,
    async stop({ drainMs = 5000 } = {}) {
      unsubscribe();
      abort.abort();
      await loop;
      const deadline = Date.now() + drainMs;
      while (Date.now() < deadline) {
        const round = await relay.relayOnce().catch(() => undefined);
        if (!round || round.published === 0) break;
      }
    },
  };
}
