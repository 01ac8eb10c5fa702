/**
 * One instance's membership in an embedded-bus consumer group: it heartbeats, renews its leases, moves toward its
 * fair share of the partitions, runs a PartitionReader (./partition-reader.ts) per leased partition and leaves the
 * group on stop. Split from ./embedded-bus.ts so each file has one concern; only EmbeddedBus.subscribe creates it.
 */
import { hostname } from 'node:os';
import { describeError, type Logger } from '../../log/logger.ts';
import { newEventId } from '../../store/ids.ts';
import { withTransaction } from '../../store/sql.ts';
import { pause } from '../delivery.ts';
import type { SubscribeOptions, Subscription } from '../port.ts';
import type { EmbeddedBus } from './embedded-bus.ts';
import { partKey } from './partition-key.ts';
import { PartitionReader } from './partition-reader.ts';

// Exported for the embedded bus's own modules (./embedded-bus.ts); not part of the bus's API.
/** One instance's membership in a group: heartbeats, leases, and a reader per leased partition. */
export class EmbeddedSubscription implements Subscription {
  readonly memberId = `${hostname()}-${process.pid}-${newEventId().slice(0, 8)}`;
  private readonly abort = new AbortController();
  private readonly readers = new Map<string, PartitionReader>();
  private loop: Promise<void> | undefined;
  private stopping: Promise<void> | undefined;

  constructor(
    readonly bus: EmbeddedBus,
    readonly options: SubscribeOptions,
    private readonly onStopped: () => void,
  ) {}

  get leaseTtlMs(): number {
    return this.bus.options.leaseTtlMs ?? 6000;
  }

  get logger(): Logger {
    return this.bus.logger;
  }

  async start(): Promise<void> {
    await this.rebalance().catch((error) =>
      this.logger.warn({ group: this.options.group, ...describeError(error) }, 'first rebalance failed'),
    );
    const everyMs = Math.max(100, Math.min(1000, Math.floor(this.leaseTtlMs / 3)));
    this.loop = (async () => {
      while (!this.abort.signal.aborted) {
        await pause(everyMs, this.abort.signal);
        if (this.abort.signal.aborted) break;
        try {
          await this.rebalance();
        } catch (error) {
          this.logger.warn({ group: this.options.group, ...describeError(error) }, 'rebalance failed');
        }
      }
    })();
  }

  /**
   * Heartbeat and rebalance in one transaction: renew this member and its leases, then move toward this
   * member's fair share — floor(P/M), plus one for the first P mod M members in id order — by claiming free or
   * expired partitions or releasing extra ones.
   */
  private async rebalance(): Promise<void> {
    const { group, topics } = this.options;
    const ttl = this.leaseTtlMs;
    const { held, target } = await withTransaction(this.bus.pool, async (tx) => {
      await tx.query(
        `INSERT INTO bus_group_members (group_id, member_id, expires_at)
         VALUES ($1, $2, now() + $3 * interval '1 millisecond')
         ON CONFLICT (group_id, member_id) DO UPDATE SET expires_at = EXCLUDED.expires_at`,
        [group, this.memberId, ttl],
      );
      await tx.query('DELETE FROM bus_group_members WHERE group_id = $1 AND expires_at < now()', [group]);
      const members = (
        await tx.query<{ member_id: string }>(
          'SELECT member_id FROM bus_group_members WHERE group_id = $1 ORDER BY member_id',
          [group],
        )
      ).rows.map((r) => r.member_id);
      const { rows: parts } = await tx.query<{ n: number }>(
        'SELECT count(*)::int AS n FROM bus_partitions WHERE topic = ANY($1)',
        [topics],
      );
      const total = parts[0]!.n;
      const rank = Math.max(0, members.indexOf(this.memberId));
      const count = Math.max(1, members.length);
      const target = Math.floor(total / count) + (rank < total % count ? 1 : 0);
      const renewed = await tx.query<{ topic: string; partition: number }>(
        `UPDATE bus_leases SET expires_at = now() + $3 * interval '1 millisecond'
          WHERE group_id = $1 AND owner = $2 AND topic = ANY($4) RETURNING topic, partition`,
        [group, this.memberId, ttl, topics],
      );
      const held = renewed.rows;
      if (held.length < target) {
        // Each member tries free partitions in its own pseudo-random order, so joiners rarely collide.
        const claimed = await tx.query<{ topic: string; partition: number }>(
          `INSERT INTO bus_leases (group_id, topic, partition, owner, expires_at)
           SELECT $1, p.topic, p.partition, $2, now() + $3 * interval '1 millisecond'
             FROM bus_partitions p
            WHERE p.topic = ANY($4)
              AND NOT EXISTS (SELECT 1 FROM bus_leases l
                               WHERE l.group_id = $1 AND l.topic = p.topic AND l.partition = p.partition
                                 AND l.expires_at >= now())
            ORDER BY md5($2 || p.topic || p.partition::text)
            LIMIT $5
           ON CONFLICT (group_id, topic, partition) DO UPDATE
              SET owner = EXCLUDED.owner, expires_at = EXCLUDED.expires_at
            WHERE bus_leases.expires_at < now()
           RETURNING topic, partition`,
          [group, this.memberId, ttl, topics, target - held.length],
        );
        held.push(...claimed.rows);
      }
      return { held, target };
    });
    if (this.abort.signal.aborted) return;

    const heldKeys = new Map(held.map((h) => [partKey(h.topic, h.partition), h]));
    // Partitions another member took over (our lease had expired): stop reading them at once.
    for (const [key, reader] of this.readers) {
      if (!heldKeys.has(key)) {
        this.readers.delete(key);
        this.logger.info({ group, topic: reader.topic, partition: reader.partition }, 'partition lease lost');
        await reader.stop();
      }
    }
    for (const [key, h] of heldKeys) {
      if (this.readers.has(key)) continue;
      const reader = new PartitionReader(this, h.topic, h.partition);
      this.readers.set(key, reader);
      this.logger.info({ group, topic: h.topic, partition: h.partition }, 'partition assigned');
      reader.start();
    }
    // Over the fair share (a member joined): finish in-flight work, commit, then hand the lease back.
    let extra = held.length - target;
    for (const [key, reader] of [...this.readers].reverse()) {
      if (extra <= 0) break;
      extra--;
      this.readers.delete(key);
      await reader.stop();
      await this.releaseLease(reader.topic, reader.partition);
      this.logger.info({ group, topic: reader.topic, partition: reader.partition }, 'partition released');
    }
  }

  private async releaseLease(topic: string, partition: number): Promise<void> {
    await this.bus.pool
      .query('DELETE FROM bus_leases WHERE group_id = $1 AND topic = $2 AND partition = $3 AND owner = $4', [
        this.options.group,
        topic,
        partition,
        this.memberId,
      ])
      .catch((error) => this.logger.warn(describeError(error), 'lease release failed (it will expire)'));
  }

  /** A reader found its lease gone when committing. */
  dropReader(reader: PartitionReader): void {
    const key = partKey(reader.topic, reader.partition);
    if (this.readers.get(key) === reader) this.readers.delete(key);
  }

  stop(): Promise<void> {
    this.stopping ??= (async () => {
      this.abort.abort();
      await this.loop;
      const readers = [...this.readers.values()];
      this.readers.clear();
      await Promise.all(readers.map((r) => r.stop()));
      await this.bus.pool
        .query(
          `WITH gone AS (DELETE FROM bus_group_members WHERE group_id = $1 AND member_id = $2)
           DELETE FROM bus_leases WHERE group_id = $1 AND owner = $2`,
          [this.options.group, this.memberId],
        )
        .catch((error) =>
          this.logger.warn(describeError(error), 'leaving the group failed (leases will expire)'),
        );
      this.onStopped();
    })();
    return this.stopping;
  }
}
