/**
 * The embedded bus on the gateway's own database (PGlite, or PostgreSQL with DATABASE_URL), as its consumer groups
 * see it: delivery once per group in order per key, committed offsets across a restart, dead-letter and retry,
 * leases between a group's instances (split, handed over, taken from one that stopped heartbeating), and pruning what
 * every group has read. Shared setup: bus-embedded-harness.ts; the publish side (transactions, appends, waking the
 * readers): bus-embedded-publish.test.ts.
 */
import { describe, expect, it } from 'vitest';
import { DeadLetterHeader } from '../../src/bus/dead-letter.ts';
import type { IncomingMessage } from '../../src/bus/port.ts';
import { GatewayError } from '../../src/errors/index.ts';
import { uniqueName } from '../helpers/kafka.ts';
import { waitFor } from '../helpers/store.ts';
import { db, messages, newBus, useBusDatabase } from './bus-embedded-harness.ts';

useBusDatabase();

describe('embedded bus: consumer groups', () => {
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
});
