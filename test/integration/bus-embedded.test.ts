/**
 * The embedded bus on the gateway's own database (PGlite, or PostgreSQL with DATABASE_URL): partitioned log,
 * consumer groups with committed offsets, leases between a group's instances, dead-letter, restart.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DeadLetterHeader } from '../../src/bus/dead-letter.ts';
import { createEmbeddedBus, type EmbeddedBus } from '../../src/bus/embedded/embedded-bus.ts';
import type { IncomingMessage } from '../../src/bus/port.ts';
import { GatewayError } from '../../src/errors/index.ts';
import { createLogger } from '../../src/log/logger.ts';
import type { Database } from '../../src/store/index.ts';
import { openTestDatabase } from '../helpers/database.ts';
import { uniqueName } from '../helpers/kafka.ts';
import { waitFor } from '../helpers/store.ts';

const logger = createLogger({ level: 'silent' });
let db: Database;

beforeAll(async () => {
  db = await openTestDatabase({ poolSize: 12 });
});
afterAll(async () => {
  await db?.close();
});

async function newBus(
  options: { leaseTtlMs?: number; topics?: Array<{ name: string; partitions: number }> } = {},
) {
  return createEmbeddedBus({
    pool: db.pool,
    logger,
    deadLetterTopic: uniqueName('dlq'),
    topics: options.topics,
    pollIntervalMs: 50,
    leaseTtlMs: options.leaseTtlMs ?? 1500,
    backoff: { initialMs: 10, maxMs: 50 },
  });
}

function messages(topic: string, n: number, keys = 5) {
  return Array.from({ length: n }, (_, i) => ({
    topic,
    key: `key-${i % keys}`,
    value: Buffer.from(JSON.stringify({ i })),
    headers: { 'pagw-event-id': `e-${i}` },
  }));
}

describe('embedded bus', () => {
  it('delivers every message once per group, in order per key, with key and headers intact', async () => {
    const topic = uniqueName('orders');
    const bus = await newBus({ topics: [{ name: topic, partitions: 3 }] });
    await bus.publish(messages(topic, 60));
    const seen: IncomingMessage[] = [];
    const sub = await bus.subscribe({
      group: uniqueName('g'),
      topics: [topic],
      handle: async (m) => void seen.push(m),
    });
    await waitFor(() => seen.length === 60, { what: '60 messages' });
    await sub.stop();
    await bus.close();

    const byKey = new Map<string, number[]>();
    for (const m of seen) byKey.set(m.key!, [...(byKey.get(m.key!) ?? []), JSON.parse(m.value.toString()).i]);
    for (const [, order] of byKey) expect(order).toEqual([...order].sort((a, b) => a - b));
    expect(new Set(seen.map((m) => m.headers['pagw-event-id'])).size).toBe(60);
    const partitionsOfKey = new Map<string, Set<number>>();
    for (const m of seen)
      partitionsOfKey.set(m.key!, (partitionsOfKey.get(m.key!) ?? new Set()).add(m.partition));
    for (const [, partitions] of partitionsOfKey) expect(partitions.size).toBe(1);
    expect(seen.every((m) => m.attempt === 1 && m.topic === topic)).toBe(true);
  });

  it('resumes a group after a restart from its committed offsets: nothing lost, nothing handled twice', async () => {
    const topic = uniqueName('orders');
    const group = uniqueName('g');
    const first = await newBus({ topics: [{ name: topic, partitions: 2 }] });
    await first.publish(messages(topic, 20));
    const seen: string[] = [];
    const sub = await first.subscribe({
      group,
      topics: [topic],
      handle: async (m) => void seen.push(m.offset + '@' + m.partition),
    });
    await waitFor(() => seen.length === 20);
    await first.close();

    const second = await newBus();
    await second.publish(messages(topic, 10));
    const sub2 = await second.subscribe({
      group,
      topics: [topic],
      handle: async (m) => void seen.push(m.offset + '@' + m.partition),
    });
    await waitFor(() => seen.length === 30);
    await sub.stop();
    await sub2.stop();
    await second.close();
    expect(new Set(seen).size).toBe(30);
  });

  it('dead-letters a poison message with its reason and source, and moves on to the next ones', async () => {
    const topic = uniqueName('orders');
    const bus = await newBus({ topics: [{ name: topic, partitions: 1 }] });
    await bus.publish([
      { topic, key: 'a', value: Buffer.from('ok-1') },
      { topic, key: 'a', value: Buffer.from('poison'), headers: { 'pagw-tenant': 'clinic-a' } },
      { topic, key: 'a', value: Buffer.from('ok-2') },
    ]);
    const handled: string[] = [];
    const attempts: number[] = [];
    const group = uniqueName('g');
    const sub = await bus.subscribe({
      group,
      topics: [topic],
      maxAttempts: 3,
      handle: async (m) => {
        if (m.value.toString() === 'poison') {
          attempts.push(m.attempt);
          throw new GatewayError('PAGW_VALIDATION_FAILED', 'The order cannot be mapped');
        }
        handled.push(m.value.toString());
      },
    });
    const dead: IncomingMessage[] = [];
    const dlqSub = await bus.subscribe({
      group: uniqueName('dlq-reader'),
      topics: [bus.options.deadLetterTopic],
      handle: async (m) => void dead.push(m),
    });
    await waitFor(() => handled.length === 2 && dead.length === 1, {
      what: 'ok-2 handled and one dead letter',
    });
    await sub.stop();
    await dlqSub.stop();
    await bus.close();
    expect(handled).toEqual(['ok-1', 'ok-2']);
    expect(attempts).toEqual([1, 2, 3]);
    const letter = dead[0]!;
    expect(letter.value.toString()).toBe('poison');
    expect(letter.key).toBe('a');
    expect(letter.headers).toMatchObject({
      'pagw-tenant': 'clinic-a',
      [DeadLetterHeader.errorCode]: 'PAGW_VALIDATION_FAILED',
      [DeadLetterHeader.reason]: 'The order cannot be mapped',
      [DeadLetterHeader.sourceTopic]: topic,
      [DeadLetterHeader.sourcePartition]: '0',
      [DeadLetterHeader.sourceOffset]: '1',
      [DeadLetterHeader.group]: group,
      [DeadLetterHeader.attempts]: '3',
    });
  });

  it('retries a retriable failure until it succeeds instead of dead-lettering it', async () => {
    const topic = uniqueName('orders');
    const bus = await newBus({ topics: [{ name: topic, partitions: 1 }] });
    await bus.publish([{ topic, key: 'a', value: Buffer.from('x') }]);
    let calls = 0;
    const sub = await bus.subscribe({
      group: uniqueName('g'),
      topics: [topic],
      maxAttempts: 2,
      handle: async () => {
        calls++;
        if (calls < 6) throw new GatewayError('PAGW_STORE_UNAVAILABLE', 'database down');
      },
    });
    await waitFor(() => calls === 6);
    await sub.stop();
    const dlq = await db.pool.query('SELECT count(*)::int AS n FROM bus_log WHERE topic = $1', [
      bus.options.deadLetterTopic,
    ]);
    await bus.close();
    expect(dlq.rows[0].n).toBe(0);
  });

  it('splits the partitions between the instances of a group and hands a stopped one’s partitions over', async () => {
    const topic = uniqueName('orders');
    const group = uniqueName('g');
    const a = await newBus({ topics: [{ name: topic, partitions: 4 }] });
    const b = await newBus();
    const seenBy = { a: new Set<number>(), b: new Set<number>() };
    const all: string[] = [];
    const handler = (who: 'a' | 'b') => async (m: IncomingMessage) => {
      seenBy[who].add(m.partition);
      all.push(`${m.partition}:${m.offset}`);
    };
    const subA = await a.subscribe({ group, topics: [topic], handle: handler('a') });
    const subB = await b.subscribe({ group, topics: [topic], handle: handler('b') });
    const leases = async () =>
      (
        await db.pool.query<{ owner: string; n: number }>(
          'SELECT owner, count(*)::int AS n FROM bus_leases WHERE group_id = $1 AND expires_at > now() GROUP BY owner',
          [group],
        )
      ).rows;
    await waitFor(
      async () => {
        const rows = await leases();
        return rows.length === 2 && rows.every((r) => r.n === 2);
      },
      { what: 'two members with two partitions each', timeoutMs: 20_000 },
    );
    await a.publish(messages(topic, 40, 16));
    await waitFor(() => all.length === 40);
    expect(seenBy.a.size).toBe(2);
    expect(seenBy.b.size).toBe(2);
    expect([...seenBy.a].some((p) => seenBy.b.has(p))).toBe(false);

    await subA.stop();
    await waitFor(
      async () => {
        const rows = await leases();
        return rows.length === 1 && rows[0]!.n === 4;
      },
      { what: 'b holding all four partitions', timeoutMs: 20_000 },
    );
    await a.publish(messages(topic, 40, 16));
    await waitFor(() => all.length === 80);
    await subB.stop();
    await a.close();
    await b.close();
    expect(new Set(all).size).toBe(80);
    expect(seenBy.b.size).toBe(4);
  });

  it('lets another instance claim the partitions of one that stopped heartbeating', async () => {
    const topic = uniqueName('orders');
    const group = uniqueName('g');
    const dead = 'host-1-dead';
    // A member that died without leaving: its membership and leases are still there, and expire.
    await db.pool.query(
      `INSERT INTO bus_topics (topic, partitions) VALUES ($1, 2);
       INSERT INTO bus_partitions (topic, partition) VALUES ($1, 0), ($1, 1);`.replaceAll('$1', `'${topic}'`),
    );
    await db.pool.query(
      `INSERT INTO bus_group_members (group_id, member_id, expires_at) VALUES ($1, $2, now() + interval '1 second')`,
      [group, dead],
    );
    await db.pool.query(
      `INSERT INTO bus_leases (group_id, topic, partition, owner, expires_at)
       VALUES ($1, $3, 0, $2, now() + interval '1 second'), ($1, $3, 1, $2, now() + interval '1 second')`,
      [group, dead, topic],
    );
    const bus = await newBus();
    await bus.publish(messages(topic, 10, 10));
    const seen: string[] = [];
    const sub = await bus.subscribe({
      group,
      topics: [topic],
      handle: async (m) => void seen.push(m.offset),
    });
    await waitFor(() => seen.length === 10, { timeoutMs: 20_000, what: 'takeover after lease expiry' });
    await sub.stop();
    await bus.close();
  });

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

  it('prunes messages every group has read once they are past the retention', async () => {
    const topic = uniqueName('orders');
    const bus = await newBus({ topics: [{ name: topic, partitions: 1 }] });
    await bus.publish(messages(topic, 5));
    const seen: string[] = [];
    const sub = await bus.subscribe({
      group: uniqueName('g'),
      topics: [topic],
      handle: async (m) => void seen.push(m.offset),
    });
    await waitFor(() => seen.length === 5);
    await sub.stop();
    await bus.publish(messages(topic, 2));
    const count = async () =>
      (await db.pool.query('SELECT count(*)::int AS n FROM bus_log WHERE topic = $1', [topic])).rows[0].n;
    expect(await bus.prune(3_600_000)).toBe(0);
    await bus.prune(0);
    expect(await count()).toBe(2);
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
