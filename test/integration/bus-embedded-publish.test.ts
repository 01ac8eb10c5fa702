/**
 * The embedded bus on the gateway's own database (PGlite, or PostgreSQL with DATABASE_URL), on the publish side:
 * publishing inside the caller's transaction, every partition of a publish appended in one statement (offsets
 * gap-free, racing publishers), a partition that is gone refused, and how a publish reaches the readers — what this
 * process published handed over without reading the log, only the written partitions' idle readers woken, one idle
 * check per poll interval that still finds another process's messages. Shared setup: bus-embedded-harness.ts;
 * consumer groups (delivery, offsets, dead-letter, leases, pruning): bus-embedded-groups.test.ts.
 */
import { describe, expect, it } from 'vitest';
import { createEmbeddedBus, type EmbeddedBus } from '../../src/bus/embedded/embedded-bus.ts';
import type { IncomingMessage } from '../../src/bus/port.ts';
import { uniqueName } from '../helpers/kafka.ts';
import { waitFor } from '../helpers/store.ts';
import { db, logger, messages, newBus, useBusDatabase } from './bus-embedded-harness.ts';

useBusDatabase();

describe('embedded bus: publishing and waking readers', () => {
  it('publishes inside the caller’s transaction: a rolled-back transaction leaves nothing on the bus', async () => {
    const topic = uniqueName('orders');
    const bus: EmbeddedBus = await newBus({ topics: [{ name: topic, partitions: 1 }] });
    const client = await db.pool.connect();
    try {
      await client.query('BEGIN');
      await bus.publishInTransaction(client, messages(topic, 3));
      await client.query('ROLLBACK');
    } finally {
      client.release();
    }
    const { rows } = await db.pool.query('SELECT count(*)::int AS n FROM bus_log WHERE topic = $1', [topic]);
    expect(rows[0].n).toBe(0);
    await bus.publish(messages(topic, 2));
    const offsets = await db.pool.query<{ offset: number }>(
      'SELECT "offset" FROM bus_log WHERE topic = $1 ORDER BY "offset"',
      [topic],
    );
    expect(offsets.rows.map((r) => r.offset)).toEqual([0, 1]);
    await bus.close();
  });

  it('appends to every partition of a publish in one statement, offsets gap-free and in order per partition', async () => {
    const [a, b] = [uniqueName('orders'), uniqueName('events')];
    const bus: EmbeddedBus = await newBus({
      topics: [
        { name: a, partitions: 4 },
        { name: b, partitions: 2 },
      ],
    });
    await bus.publish([...messages(a, 4, 4), ...messages(b, 2, 2)]); // caches the partition counts
    const client = await db.pool.connect();
    let statements = 0;
    const counting = {
      query: (...args: Parameters<typeof client.query>) => {
        statements++;
        return (client.query as (...a: unknown[]) => unknown)(...args);
      },
    } as unknown as typeof client;
    try {
      await client.query('BEGIN');
      const written = await bus.publishInTransaction(counting, [...messages(b, 6, 2), ...messages(a, 12, 4)]);
      await client.query('COMMIT');
      expect(written).toHaveLength(6);
    } finally {
      client.release();
    }
    expect(statements).toBe(1);

    // Publishers racing over the same partitions in different orders: none deadlocks, none loses or reuses an
    // offset, and each keeps its messages' order within a partition.
    await Promise.all(
      Array.from({ length: 8 }, (_, p) =>
        bus.publish(
          (p % 2 === 0 ? [a, b] : [b, a]).flatMap((topic) =>
            Array.from({ length: 8 }, (_, i) => ({
              topic,
              key: `key-${(p + i) % 4}`,
              value: Buffer.from(JSON.stringify({ p, i })),
            })),
          ),
        ),
      ),
    );
    const { rows } = await db.pool.query<{ topic: string; partition: number; offset: string; value: Buffer }>(
      'SELECT topic, partition, "offset", value FROM bus_log WHERE topic = ANY($1) ORDER BY topic, partition, "offset"',
      [[a, b]],
    );
    expect(rows).toHaveLength(6 + 18 + 8 * 16);
    const byPartition = new Map<string, typeof rows>();
    for (const row of rows) {
      const key = `${row.topic}/${row.partition}`;
      byPartition.set(key, [...(byPartition.get(key) ?? []), row]);
    }
    expect(byPartition.size).toBe(6);
    for (const [partition, list] of byPartition) {
      expect(
        list.map((r) => Number(r.offset)),
        partition,
      ).toEqual(list.map((_, i) => i));
      const next = await db.pool.query<{ next_offset: string }>(
        'SELECT next_offset FROM bus_partitions WHERE topic = $1 AND partition = $2',
        [list[0]!.topic, list[0]!.partition],
      );
      expect(Number(next.rows[0]!.next_offset)).toBe(list.length);
      const racing = list
        .map((r) => JSON.parse(r.value.toString()) as { p?: number; i: number })
        .filter((v) => v.p !== undefined);
      for (let p = 0; p < 8; p++) {
        const own = racing.filter((v) => v.p === p).map((v) => v.i);
        expect(own, `${partition}, publisher ${p}`).toEqual([...own].sort((x, y) => x - y));
      }
    }
    await bus.close();
  });

  it('hands what this process published and saw committed to its readers without reading the log; others’ messages are read', async () => {
    const topic = uniqueName('orders');
    let logReads = 0;
    // This process's pool, counting the readers' log reads; the poll is long, so only wakes make a reader look.
    const counting = new Proxy(db.pool, {
      get(target, property, receiver) {
        if (property === 'query')
          return (...args: unknown[]) => {
            if (typeof args[0] === 'string' && args[0].includes('FROM bus_log')) logReads++;
            return (target.query as (...a: unknown[]) => unknown)(...args);
          };
        const value = Reflect.get(target, property, receiver);
        return typeof value === 'function' ? value.bind(target) : value;
      },
    });
    const options = {
      logger,
      deadLetterTopic: uniqueName('dlq'),
      topics: [{ name: topic, partitions: 1 }],
      leaseTtlMs: 1500,
      backoff: { initialMs: 10, maxMs: 50 },
    };
    const here = await createEmbeddedBus({ ...options, pool: counting, pollIntervalMs: 600_000 });
    const elsewhere = await createEmbeddedBus({ ...options, pool: db.pool }); // another process
    const seen: number[] = [];
    const sub = await here.subscribe({
      group: uniqueName('g'),
      topics: [topic],
      handle: async (m) => void seen.push(JSON.parse(m.value.toString()).i),
    });
    const batch = (from: number, n: number) =>
      Array.from({ length: n }, (_, i) => ({
        topic,
        key: 'k',
        value: Buffer.from(JSON.stringify({ i: from + i })),
      }));
    await waitFor(() => logReads > 0, { what: 'the reader’s first read' });
    const before = logReads;

    await here.publish(batch(0, 5));
    await waitFor(() => seen.length === 5, { what: 'this process’s messages' });
    expect(logReads).toBe(before); // taken from what the publish left, not read again

    await elsewhere.publish(batch(5, 3)); // this process is not told; its poll would find them
    here.wake(); // …as the poll does
    await waitFor(() => seen.length === 8, { what: 'the other process’s messages' });
    expect(logReads).toBeGreaterThan(before);
    const afterOthers = logReads;
    await here.publish(batch(8, 2));
    await waitFor(() => seen.length === 10, { what: 'this process’s messages after a gap' });
    expect(logReads).toBe(afterOthers);
    expect(seen).toEqual([0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
    await sub.stop();
    await Promise.all([here.close(), elsewhere.close()]);
  });

  it('refuses a publish to a partition that is gone, appending nothing and taking no offsets', async () => {
    const topic = uniqueName('orders');
    const bus: EmbeddedBus = await newBus({ topics: [{ name: topic, partitions: 2 }] });
    await bus.publish([{ topic, key: null, value: Buffer.from('x') }]); // caches the topic's partition count
    await db.pool.query('DELETE FROM bus_partitions WHERE topic = $1 AND partition = 1', [topic]);
    const before = await db.pool.query('SELECT partition, next_offset FROM bus_partitions WHERE topic = $1', [
      topic,
    ]);
    await expect(bus.publish(messages(topic, 10, 10))).rejects.toMatchObject({
      code: 'PAGW_BUS_UNAVAILABLE',
    });
    const { rows } = await db.pool.query('SELECT count(*)::int AS n FROM bus_log WHERE topic = $1', [topic]);
    expect(rows[0].n).toBe(1); // only the first publish's message
    expect(
      (await db.pool.query('SELECT partition, next_offset FROM bus_partitions WHERE topic = $1', [topic]))
        .rows,
    ).toEqual(before.rows);
    await bus.close();
  });

  it('wakes only the idle readers of the partitions a publish wrote (idle partitions run no query), which read nothing more', async () => {
    const topic = uniqueName('orders');
    // Count each partition's log reads through the pool the bus uses.
    const reads = new Map<number, number>();
    const pool = new Proxy(db.pool, {
      get(target, property, receiver) {
        if (property !== 'query') return Reflect.get(target, property, receiver);
        return (text: unknown, values?: unknown[]) => {
          if (typeof text === 'string' && text.includes('FROM bus_log') && values?.[0] === topic) {
            const partition = values[1] as number;
            reads.set(partition, (reads.get(partition) ?? 0) + 1);
          }
          return target.query(text as string, values);
        };
      },
    });
    // An idle reader polls only every ten minutes here: a prompt delivery can only come from a wake.
    const bus = await createEmbeddedBus({
      pool,
      logger,
      deadLetterTopic: uniqueName('dlq'),
      topics: [{ name: topic, partitions: 4 }],
      pollIntervalMs: 600_000,
      leaseTtlMs: 60_000,
    });
    const seen: IncomingMessage[] = [];
    const sub = await bus.subscribe({
      group: uniqueName('g'),
      topics: [topic],
      handle: async (m) => void seen.push(m),
    });
    await waitFor(() => [0, 1, 2, 3].every((p) => (reads.get(p) ?? 0) >= 1), { what: 'every reader idle' });
    const before = new Map(reads);
    await bus.publish(messages(topic, 1));
    await waitFor(() => seen.length === 1, { what: 'the message, delivered on the wake' });
    const written = seen[0]!.partition;
    // A second message of the same key (same partition), after the first was handled.
    await bus.publish(messages(topic, 1));
    await waitFor(() => seen.length === 2, { what: 'the second message' });
    expect(seen[1]!.partition).toBe(written);
    // The written partition's reader took each message from what the publish left (recent-messages.ts), and a batch
    // that was not full is followed by a wait, not by a read that finds nothing (issue #17): no read at all.
    expect((reads.get(written) ?? 0) - (before.get(written) ?? 0)).toBe(0);
    for (const p of [0, 1, 2, 3].filter((p) => p !== written)) expect(reads.get(p)).toBe(before.get(p));
    await sub.stop();
    await bus.close();
  });

  it('idle readers cost one statement per poll interval between them (the idle check), which still finds another process’s messages', async () => {
    const topic = uniqueName('orders');
    const counts = { logReads: 0, idleChecks: 0 };
    const pool = new Proxy(db.pool, {
      get(target, property, receiver) {
        if (property !== 'query') return Reflect.get(target, property, receiver);
        return (text: unknown, values?: unknown[]) => {
          if (typeof text === 'string' && text.includes('FROM bus_log')) counts.logReads++;
          if (typeof text === 'string' && text.includes('next_offset FROM bus_partitions'))
            counts.idleChecks++;
          return target.query(text as string, values);
        };
      },
    });
    const options = {
      logger,
      deadLetterTopic: uniqueName('dlq'),
      topics: [{ name: topic, partitions: 4 }],
      leaseTtlMs: 60_000,
    };
    const here = await createEmbeddedBus({ ...options, pool, pollIntervalMs: 20 });
    const elsewhere = await createEmbeddedBus({ ...options, pool: db.pool }); // another process
    const seen: string[] = [];
    const sub = await here.subscribe({
      group: uniqueName('g'),
      topics: [topic],
      handle: async (m) => void seen.push(m.value.toString()),
    });
    await waitFor(() => counts.idleChecks >= 1, { what: 'every reader idle, the idle check running' });
    const idle = { ...counts };
    await waitFor(() => counts.idleChecks >= idle.idleChecks + 10, { what: 'ten idle checks' });
    // Four idle readers, ten intervals: no reader polled the log (each used to, every interval).
    expect(counts.logReads).toBe(idle.logReads);

    await elsewhere.publish([{ topic, key: 'k', value: Buffer.from('from elsewhere') }]);
    await waitFor(() => seen.length === 1, { what: 'the other process’s message, found by the idle check' });
    expect(seen).toEqual(['from elsewhere']);
    expect(counts.logReads).toBe(idle.logReads + 1); // only the woken partition's reader read the log
    await sub.stop();
    await Promise.all([here.close(), elsewhere.close()]);
  });
});
