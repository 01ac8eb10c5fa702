/**
 * The outbox relay: commit order per case, marked once published, a refused event set aside without stopping
 * the others, two relays (two gateway instances on PostgreSQL) never publishing one row twice nor reordering a
 * case, and the outbox lag on GET /metrics.
 */
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildApp } from '../../src/api/app.ts';
import { createEmbeddedBus } from '../../src/bus/embedded/embedded-bus.ts';
import { createKafkaBus } from '../../src/bus/kafka/kafka-bus.ts';
import { partitionForKey } from '../../src/bus/partitioner.ts';
import type { Bus, IncomingMessage } from '../../src/bus/port.ts';
import { ManualClock, systemClock } from '../../src/clock.ts';
import { createLogger } from '../../src/log/logger.ts';
import { createMetrics, metricsRouter, registerOutboxLagMetrics } from '../../src/metrics/index.ts';
import {
  createApiToken,
  type Database,
  insertOutboxMessages,
  OutboxHeader,
  withTransaction,
} from '../../src/store/index.ts';
import { OutboxRelay, startOutboxRelay } from '../../src/store/outbox-relay.ts';
import { describeOnPostgres, openTestDatabase, testDatabaseKind } from '../helpers/database.ts';
import { type KafkaTestCluster, kafkaUnavailableReason, startKafka, uniqueName } from '../helpers/kafka.ts';
import { countRoundTrips } from '../helpers/round-trips.ts';
import { serviceMissing } from '../helpers/services.ts';
import { countRows, waitFor } from '../helpers/store.ts';

const logger = createLogger({ level: 'silent' });
const kafkaReason = kafkaUnavailableReason();
const kafkaMissing = kafkaReason !== undefined && serviceMissing('a Kafka-protocol broker', kafkaReason);

let db: Database;
beforeAll(async () => {
  db = await openTestDatabase({ poolSize: 12 });
});
afterAll(async () => {
  await db?.close();
});

function caseUuid(n: number): string {
  return `00000000-0000-4000-8000-${n.toString(16).padStart(12, '0')}`;
}

/** Writes `perCase` events for each of `cases` cases, one transaction per event, interleaving the cases. */
async function writeEvents(
  topic: string,
  cases: number,
  perCase: number,
  base = Math.floor(Math.random() * 1e9),
) {
  const ids: string[] = [];
  for (let seq = 1; seq <= perCase; seq++) {
    for (let c = 0; c < cases; c++) {
      const caseId = caseUuid(base + c);
      if (seq === 1) ids.push(caseId);
      await withTransaction(db.pool, (tx) =>
        insertOutboxMessages(tx, { tenant: 'clinic-a', caseId, at: new Date() }, [
          { topic, key: caseId, value: { caseId, seq } },
        ]),
      );
    }
  }
  return ids;
}

/** Checks what a downstream consumer saw: every event once, each case's events in seq order. */
function expectOncePerEventInCaseOrder(events: IncomingMessage[], cases: number, perCase: number) {
  const ids = events.map((e) => e.headers[OutboxHeader.eventId]);
  expect(new Set(ids).size).toBe(ids.length);
  expect(ids).toHaveLength(cases * perCase);
  const seqs = new Map<string, number[]>();
  for (const e of events) {
    const { caseId, seq } = JSON.parse(e.value.toString());
    seqs.set(caseId, [...(seqs.get(caseId) ?? []), seq]);
  }
  expect(seqs.size).toBe(cases);
  for (const list of seqs.values()) expect(list).toEqual(Array.from({ length: perCase }, (_, i) => i + 1));
}

describe(`outbox relay on the embedded bus (${testDatabaseKind()})`, () => {
  it('publishes every row once in each case’s commit order, marks them, and reports the lag on /metrics', async () => {
    const topic = uniqueName('status');
    const clock = new ManualClock(new Date());
    const bus = await createEmbeddedBus({
      pool: db.pool,
      logger,
      deadLetterTopic: uniqueName('dlq'),
      pollIntervalMs: 50,
    });
    const metrics = createMetrics({ processMetrics: false });
    registerOutboxLagMetrics(metrics, { pool: db.pool, clock });
    const app = buildApp({ db, clock, logger, routers: [metricsRouter(metrics)] });
    const server = await new Promise<Server>((resolve) => {
      const s = app.listen(0, '127.0.0.1', () => resolve(s));
    });
    try {
      const base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
      const admin = (await createApiToken(db.pool, { tenant: 'ops', roles: ['admin'], at: clock.now() }))
        .token;
      const ehr = (await createApiToken(db.pool, { tenant: 'clinic-a', roles: ['ehr'], at: clock.now() }))
        .token;
      const scrape = (token?: string) =>
        fetch(`${base}/metrics`, { headers: token ? { authorization: `Bearer ${token}` } : {} });

      // Only this test's rows count: earlier tests in the file leave none unpublished.
      expect(await countRows(db.pool, 'outbox', 'published_at IS NULL')).toBe(0);
      await writeEvents(topic, 10, 4);
      clock.advance(90_000);
      expect((await scrape()).status).toBe(401);
      expect((await scrape(ehr)).status).toBe(403);
      const before = await (await scrape(admin)).text();
      expect(before).toMatch(/^pagw_outbox_unpublished_events 40$/m);
      const age = Number(/^pagw_outbox_oldest_unpublished_age_seconds (\S+)$/m.exec(before)?.[1]);
      expect(age).toBeGreaterThan(80);
      expect(age).toBeLessThanOrEqual(90);

      const events: IncomingMessage[] = [];
      const sub = await bus.subscribe({
        group: uniqueName('erp'),
        topics: [topic],
        handle: async (m) => void events.push(m),
      });
      const relay = startOutboxRelay({
        db,
        bus,
        clock,
        logger,
        metrics: metrics.outbox,
        batchSize: 7,
        intervalMs: 20,
      });
      await waitFor(() => events.length >= 40, { what: '40 events', timeoutMs: 20_000 });
      await relay.stop();
      await sub.stop();
      expectOncePerEventInCaseOrder(events, 10, 4);
      expect(await countRows(db.pool, 'outbox', 'published_at IS NULL')).toBe(0);
      const after = await (await scrape(admin)).text();
      expect(after).toMatch(/^pagw_outbox_unpublished_events 0$/m);
      expect(after).toMatch(/^pagw_outbox_oldest_unpublished_age_seconds 0$/m);
      expect(after).toMatch(/^pagw_outbox_published_events_total 40$/m);
    } finally {
      await new Promise((resolve) => server.close(resolve));
      await bus.close();
    }
  });

  it('a round whose bus partition is gone rolls back whole: nothing appended, no offset taken, nothing marked', async () => {
    // The append, the mark and the COMMIT are one statement: the statement itself must fail.
    const topic = uniqueName('status');
    const bus = await createEmbeddedBus({
      pool: db.pool,
      logger,
      deadLetterTopic: uniqueName('dlq'),
      topics: [{ name: topic, partitions: 2 }],
    });
    const relay = new OutboxRelay({ db, bus, clock: systemClock, logger, batchSize: 50 });
    await bus.publish([{ topic, key: null, value: Buffer.from('x') }]); // caches the topic's partition count
    // One case whose events go to partition 0, one to partition 1.
    const cases = [0, 1].map((partition) => {
      let n = 9_200_000;
      while (partitionForKey(caseUuid(n), 2) !== partition) n++;
      return caseUuid(n);
    });
    for (const caseId of cases)
      await withTransaction(db.pool, (tx) =>
        insertOutboxMessages(tx, { tenant: 'clinic-a', caseId, at: new Date() }, [
          { topic, key: caseId, value: { caseId } },
        ]),
      );
    await db.pool.query('DELETE FROM bus_partitions WHERE topic = $1 AND partition = 1', [topic]);
    const offsets = async () =>
      (await db.pool.query('SELECT partition, next_offset FROM bus_partitions WHERE topic = $1', [topic]))
        .rows;
    const before = await offsets();
    try {
      await expect(relay.relayOnce()).rejects.toMatchObject({ code: 'PAGW_BUS_UNAVAILABLE' });
      expect(await countRows(db.pool, 'bus_log', 'topic = $1', [topic])).toBe(1); // the first publish's message
      expect(await offsets()).toEqual(before);
      expect(await countRows(db.pool, 'outbox', 'case_id = ANY($1) AND published_at IS NULL', [cases])).toBe(
        2,
      );
    } finally {
      await db.pool.query('UPDATE outbox SET published_at = now() WHERE case_id = ANY($1)', [cases]);
      await bus.close();
    }
  });

  it('sets aside an event the bus refuses for good: other cases flow, its own case waits behind it', async () => {
    const topic = uniqueName('status');
    const bus = await createEmbeddedBus({ pool: db.pool, logger, deadLetterTopic: uniqueName('dlq') });
    const relay = new OutboxRelay({ db, bus, clock: systemClock, logger, batchSize: 50 });
    const [stuck, other] = [caseUuid(9_000_001), caseUuid(9_000_002)];
    await withTransaction(db.pool, (tx) =>
      insertOutboxMessages(tx, { tenant: 'clinic-a', caseId: stuck, at: new Date() }, [
        { topic: 'not a topic!', key: stuck, value: { seq: 1 } },
        { topic, key: stuck, value: { seq: 2 } },
      ]),
    );
    await withTransaction(db.pool, (tx) =>
      insertOutboxMessages(tx, { tenant: 'clinic-a', caseId: other, at: new Date() }, [
        { topic, key: other, value: { seq: 1 } },
      ]),
    );
    // The batch is refused, split into single rows; the bad row is set aside; the other case goes through.
    for (let round = 0; round < 6; round++) await relay.relayOnce().catch(() => {});
    const rows = await db.pool.query<{
      case_id: string;
      topic: string;
      published: boolean;
      last_error: string | null;
    }>(
      'SELECT case_id, topic, published_at IS NOT NULL AS published, last_error FROM outbox WHERE case_id = ANY($1) ORDER BY id',
      [[stuck, other]],
    );
    expect(rows.rows.map((r) => [r.case_id === stuck ? 'stuck' : 'other', r.published])).toEqual([
      ['stuck', false],
      ['stuck', false],
      ['other', true],
    ]);
    expect(rows.rows[0]!.last_error).toMatch(/^PAGW_BUS_PUBLISH_REJECTED/);
    await db.pool.query('UPDATE outbox SET published_at = now() WHERE case_id = $1', [stuck]);
    await bus.close();
  });
});

describeOnPostgres(`outbox relay claims beside another instance (${testDatabaseKind()})`, () => {
  it('holds back a case’s later event while another instance holds its earlier one, and publishes the rest', async () => {
    const topic = uniqueName('status');
    const bus = await createEmbeddedBus({ pool: db.pool, logger, deadLetterTopic: uniqueName('dlq') });
    const relay = new OutboxRelay({ db, bus, clock: systemClock, logger, batchSize: 50 });
    const base = 9_100_000 + Math.floor(Math.random() * 1e6);
    const [held, free] = [caseUuid(base), caseUuid(base + 1)];
    const write = (caseId: string, seq: number) =>
      withTransaction(db.pool, (tx) =>
        insertOutboxMessages(tx, { tenant: 'clinic-a', caseId, at: new Date() }, [
          { topic, key: caseId, value: { seq } },
        ]),
      );
    await write(held, 1);
    await write(free, 1);
    await write(held, 2);
    const published = async () =>
      (
        await db.pool.query<{ case_id: string; seq: number }>(
          `SELECT case_id, (convert_from(value, 'UTF8')::jsonb ->> 'seq')::int AS seq FROM outbox
            WHERE case_id = ANY($1) AND published_at IS NOT NULL ORDER BY id`,
          [[held, free]],
        )
      ).rows.map((r) => `${r.case_id === held ? 'held' : 'free'}:${r.seq}`);
    // Another instance's round holds the held case's first event.
    const other = await db.pool.connect();
    try {
      await other.query('BEGIN');
      await other.query(
        `SELECT id FROM outbox WHERE case_id = $1 AND published_at IS NULL ORDER BY id LIMIT 1 FOR UPDATE`,
        [held],
      );
      const round = await relay.relayOnce();
      // Its second event waits behind the first (claimed but held back); the other case goes out.
      expect(round).toMatchObject({ heldBack: 1 });
      expect(await published()).toEqual(['free:1']);
      await other.query('ROLLBACK');
    } finally {
      other.release();
    }
    await relay.relayOnce();
    expect(await published()).toEqual(['held:1', 'free:1', 'held:2']); // all out (listed by outbox id)
    // A round is two round trips: the claim with its order check (and BEGIN), then the append with the mark (and
    // COMMIT).
    await write(free, 2);
    expect(await countRoundTrips(db.pool, () => relay.relayOnce())).toBe(2);
    expect(await published()).toEqual(['held:1', 'free:1', 'held:2', 'free:2']);
    await bus.close();
  });
});

// Two relays on one outbox need PostgreSQL (several connections in parallel); the suite is not registered on PGlite.
(kafkaMissing ? describe.skip : describeOnPostgres)(`outbox relay on Kafka (${testDatabaseKind()})`, () => {
  let cluster: KafkaTestCluster;
  beforeAll(async () => {
    cluster = await startKafka([]);
  });
  afterAll(async () => {
    await cluster?.stop();
  });

  async function kafkaBus(prefix: string): Promise<Bus> {
    return createKafkaBus({
      kafka: { brokers: cluster.brokers, clientId: 'pagw-test', topicPrefix: prefix, ssl: false },
      logger,
      deadLetterTopic: 'pa.deadletter.v1',
    });
  }

  it('two relays on one PostgreSQL outbox never publish a row twice nor reorder a case', async () => {
    const prefix = `${uniqueName('t')}.`;
    await cluster.createTopics([
      { name: `${prefix}pa.status.v1`, partitions: 4 },
      { name: `${prefix}pa.deadletter.v1`, partitions: 1 },
    ]);
    const [busA, busB, reader] = await Promise.all([kafkaBus(prefix), kafkaBus(prefix), kafkaBus(prefix)]);
    const events: IncomingMessage[] = [];
    const sub = await reader.subscribe({
      group: uniqueName('erp'),
      topics: ['pa.status.v1'],
      handle: async (m) => void events.push(m),
    });
    await writeEvents('pa.status.v1', 40, 5);
    const counters = [createMetrics({ processMetrics: false }), createMetrics({ processMetrics: false })];
    const relays = [busA, busB].map((bus, i) =>
      startOutboxRelay({
        db,
        bus,
        clock: systemClock,
        logger,
        metrics: counters[i]!.outbox,
        batchSize: 8,
        intervalMs: 10,
      }),
    );
    await waitFor(async () => (await countRows(db.pool, 'outbox', 'published_at IS NULL')) === 0, {
      timeoutMs: 40_000,
      what: 'outbox drained by two relays',
    });
    await waitFor(() => events.length >= 200, { timeoutMs: 30_000, what: '200 events downstream' });
    await Promise.all(relays.map((r) => r.stop()));
    // Both instances took part (the test would prove nothing if one did all the work).
    const publishedBy = await Promise.all(
      counters.map(async (m) => (await m.outbox.published.get()).values[0]?.value ?? 0),
    );
    expect(publishedBy.every((n) => n > 0)).toBe(true);
    expect(publishedBy[0]! + publishedBy[1]!).toBe(200);
    await sub.stop();
    await Promise.all([busA, busB, reader].map((b) => b.close()));
    expectOncePerEventInCaseOrder(events, 40, 5);
  });
});

describe(`outbox relay rounds (${testDatabaseKind()})`, () => {
  it('after a round that was not full it waits for the next commit instead of running an empty round', async () => {
    const own = await openTestDatabase();
    let claims = 0;
    const isClaim = (text: unknown) =>
      typeof text === 'string' && text.includes('FROM outbox') && text.includes('ORDER BY id LIMIT');
    // Counts the relay's claims on whatever it queries: the pool, or a client of it inside a transaction.
    const counting = <T extends object>(target: T): T =>
      new Proxy(target, {
        get(t, property) {
          const value = Reflect.get(t, property, t);
          if (property === 'query')
            return (text: unknown, ...rest: unknown[]) => {
              if (isClaim(text)) claims++;
              return (value as (...a: unknown[]) => unknown).call(t, text, ...rest);
            };
          return typeof value === 'function' ? value.bind(t) : value;
        },
      });
    const pool = new Proxy(own.pool, {
      get(t, property) {
        if (property === 'connect') return async () => counting(await t.connect());
        if (property === 'query') return counting(t).query;
        const value = Reflect.get(t, property, t);
        return typeof value === 'function' ? value.bind(t) : value;
      },
    });
    const topic = uniqueName('status');
    const bus = await createEmbeddedBus({
      pool,
      logger,
      deadLetterTopic: uniqueName('dlq'),
      pollIntervalMs: 50,
    });
    const events: IncomingMessage[] = [];
    const sub = await bus.subscribe({
      group: uniqueName('erp'),
      topics: [topic],
      handle: async (m) => void events.push(m),
    });
    // Polls only every ten minutes: a round can only come from a commit's wake-up or from the relay going again.
    const relay = startOutboxRelay({
      db: { pool, kind: own.kind },
      bus,
      clock: systemClock,
      logger,
      intervalMs: 600_000,
    });
    try {
      await waitFor(() => claims >= 1, { what: 'the first round' });
      const write = (n: number) =>
        withTransaction(pool, (tx) =>
          insertOutboxMessages(tx, { tenant: 'clinic-a', caseId: caseUuid(n), at: new Date() }, [
            { topic, key: caseUuid(n), value: { n } },
          ]),
        );
      await write(1);
      await waitFor(() => events.length === 1, { what: 'the first event' });
      const afterFirst = claims;
      for (const n of [2, 3, 4]) {
        await write(n);
        await waitFor(() => events.length === n, { what: `event ${n}` });
      }
      // One round per commit: the round that published it. Before, each was followed by a round that found nothing.
      expect(claims - afterFirst).toBe(3);
    } finally {
      await relay.stop();
      await sub.stop();
      await bus.close();
      await own.close();
    }
  });
});
