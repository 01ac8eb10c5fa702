/**
 * The embedded bus's per-partition loop: read a leased partition from the group's offset (from this process's
 * recent messages when it has them, else the log), hand each message to consumeOne, commit fenced by the lease,
 * and wait for a wake or the idle check when it has read everything. Split from ./embedded-bus.ts so each file
 * has one concern; only ./embedded-subscription.ts, which owns the leases, creates readers.
 */
import { describeError } from '../../log/logger.ts';
import { consumeOne } from '../consume-one.ts';
import { backoffDelay, pause } from '../delivery.ts';
import type { BusHeaders, OutgoingMessage } from '../port.ts';
import type { EmbeddedBus } from './embedded-bus.ts';
import type { EmbeddedSubscription } from './embedded-subscription.ts';

interface LogRow {
  offset: number;
  message_key: string | null;
  headers: BusHeaders;
  value: Buffer;
}

/** Inside one fetched batch, commit after this many handled messages or this long, whichever comes first. */
const commitEvery = { messages: 10, ms: 200 };

// Exported for the embedded bus's own modules (./embedded-subscription.ts); not part of the bus's API.
/** Reads one leased partition in offset order and commits after each batch of handled messages. */
export class PartitionReader {
  private readonly abort = new AbortController();
  private loop: Promise<void> | undefined;

  constructor(
    private readonly subscription: EmbeddedSubscription,
    readonly topic: string,
    readonly partition: number,
  ) {}

  start(): void {
    this.loop = this.run().catch((error) => {
      this.subscription.logger.error(
        { topic: this.topic, partition: this.partition, ...describeError(error) },
        'partition reader crashed',
      );
      this.subscription.dropReader(this);
    });
  }

  /** Stops after the message in hand: its handler finishes, what finished is committed. */
  async stop(): Promise<void> {
    this.abort.abort();
    await this.loop;
  }

  private get bus(): EmbeddedBus {
    return this.subscription.bus;
  }

  private async run(): Promise<void> {
    const { group, handle } = this.subscription.options;
    const { signal } = this.abort;
    const logger = this.subscription.logger;
    const labels = { bus: 'embedded', group, topic: this.topic };
    const batchSize = this.bus.options.batchSize ?? 100;
    let next: number | undefined;
    let failures = 0;
    while (!signal.aborted) {
      try {
        next ??= await this.startOffset();
        const wakes = this.bus.wakeCount(this.topic, this.partition);
        // What this process published and saw committed needs no read (./recent-messages.ts).
        const rows: readonly LogRow[] =
          this.bus.recentFrom(this.topic, this.partition, next, batchSize) ??
          (
            await this.bus.pool.query<LogRow>(
              `SELECT "offset", message_key, headers, value FROM bus_log
                WHERE topic = $1 AND partition = $2 AND "offset" >= $3 ORDER BY "offset" LIMIT $4`,
              [this.topic, this.partition, next, batchSize],
            )
          ).rows;
        failures = 0;
        /** Until a publish to this partition since the read above wakes it, or the poll interval. */
        const waitForWake = () =>
          this.bus.waitForMessages(
            this.topic,
            this.partition,
            wakes,
            this.bus.options.pollIntervalMs ?? 250,
            signal,
            next,
          );
        if (rows.length === 0) {
          await waitForWake();
          continue;
        }
        let done = next;
        let lastCommit = performance.now();
        for (const row of rows) {
          const message = {
            topic: this.topic,
            partition: this.partition,
            offset: String(row.offset),
            key: row.message_key,
            value: row.value,
            headers: row.headers,
          };
          const finished = await consumeOne(message, {
            handle,
            maxAttempts: this.subscription.options.maxAttempts ?? 5,
            signal,
            backoff: this.bus.options.backoff,
            group,
            sourceTopic: this.topic,
            deadLetterTopic: this.bus.options.deadLetterTopic,
            clock: this.bus.clock,
            logger,
            metrics: this.bus.options.metrics,
            labels,
            publishDeadLetter: (dead) => this.publishDeadLetter(dead, signal),
          });
          if (!finished) break;
          done = row.offset + 1;
          // Commit along the way too, so a crash redelivers at most a few messages.
          if (done - next >= commitEvery.messages || performance.now() - lastCommit >= commitEvery.ms) {
            if (!(await this.commit(done))) break;
            next = done;
            lastCommit = performance.now();
          }
        }
        if (done > next) {
          if (!(await this.commit(done))) {
            logger.warn(
              { group, topic: this.topic, partition: this.partition },
              'partition lease lost; stopping',
            );
            this.subscription.dropReader(this);
            return;
          }
          next = done;
        }
        // A batch that was not full, all handled, read everything published before the read: wait for a wake (or the
        // poll, for other processes' publishes) instead of reading again to find nothing. A wake since the read
        // (wakeCount moved) goes again at once.
        if (rows.length < batchSize && done === rows[rows.length - 1]!.offset + 1) await waitForWake();
      } catch (error) {
        failures++;
        const delayMs = backoffDelay(failures, { initialMs: 250, maxMs: 5000 });
        logger.warn(
          { group, topic: this.topic, partition: this.partition, delayMs, ...describeError(error) },
          'partition read failed; retrying',
        );
        await pause(delayMs, signal);
      }
    }
  }

  /** Publishes a dead-letter record, retrying while the bus is unavailable; false when stopped first. */
  private async publishDeadLetter(message: OutgoingMessage, signal: AbortSignal): Promise<boolean> {
    for (let attempt = 1; !signal.aborted; attempt++) {
      try {
        await this.bus.publish([message]);
        return true;
      } catch (error) {
        this.subscription.logger.warn(describeError(error), 'dead-letter publish failed; retrying');
        await pause(backoffDelay(attempt), signal);
      }
    }
    return false;
  }

  /** Where the group resumes: its committed offset, else the start of the log (or its end). */
  private async startOffset(): Promise<number> {
    const { group, fromBeginning } = this.subscription.options;
    const { rows } = await this.bus.pool.query<{ committed_offset: number }>(
      'SELECT committed_offset FROM bus_group_offsets WHERE group_id = $1 AND topic = $2 AND partition = $3',
      [group, this.topic, this.partition],
    );
    if (rows[0]) return rows[0].committed_offset;
    if (fromBeginning ?? true) return 0;
    const end = await this.bus.pool.query<{ next_offset: number }>(
      'SELECT next_offset FROM bus_partitions WHERE topic = $1 AND partition = $2',
      [this.topic, this.partition],
    );
    const offset = end.rows[0]?.next_offset ?? 0;
    await this.commit(offset);
    return offset;
  }

  /** Commits `offset` (the next to read) only while this member holds the lease; false when it does not. */
  private async commit(offset: number): Promise<boolean> {
    const { group } = this.subscription.options;
    const { rowCount } = await this.bus.pool.query(
      `INSERT INTO bus_group_offsets (group_id, topic, partition, committed_offset, updated_at)
       SELECT $1, $2, $3, $4, now()
        WHERE EXISTS (SELECT 1 FROM bus_leases
                       WHERE group_id = $1 AND topic = $2 AND partition = $3 AND owner = $5)
       ON CONFLICT (group_id, topic, partition) DO UPDATE
          SET committed_offset = GREATEST(bus_group_offsets.committed_offset, EXCLUDED.committed_offset),
              updated_at = EXCLUDED.updated_at`,
      [group, this.topic, this.partition, offset, this.subscription.memberId],
    );
    return (rowCount ?? 0) > 0;
  }
}
