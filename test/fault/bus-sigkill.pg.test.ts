/**
 * Two consumer PROCESSES in one group on one PostgreSQL database; one is killed with SIGKILL in the middle of a
 * batch. The other takes its partitions over, and every order ends up processed exactly once in effect: one
 * case per order, one status event per case, no event id twice downstream (after the consumer-side dedupe
 * the event id exists for). Runs on Kafka (librdkafka mock or KAFKA_BROKERS) and on the embedded bus.
 * Several processes cannot share an embedded PGlite database, so this suite needs DATABASE_URL: files named
 * *.pg.test.ts are collected only when it is set (vitest.config.ts); CI runs them in its PostgreSQL pass.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createEmbeddedBus } from '../../src/bus/embedded/embedded-bus.ts';
import { createKafkaBus } from '../../src/bus/kafka/kafka-bus.ts';
import type { Bus, IncomingMessage } from '../../src/bus/port.ts';
import { createLogger } from '../../src/log/logger.ts';
import { type Database, OutboxHeader } from '../../src/store/index.ts';
import { caseIdOfOrder, orderMessage, startWorker, type WorkerProcess } from '../helpers/bus-scenario.ts';
import { cleanEnv, databaseUrlOf } from '../helpers/cli.ts';
import { openTestDatabase, testDatabaseKind } from '../helpers/database.ts';
import { type KafkaTestCluster, kafkaUnavailableReason, startKafka, uniqueName } from '../helpers/kafka.ts';
import { serviceMissing } from '../helpers/services.ts';
import { countRows, waitFor } from '../helpers/store.ts';

const logger = createLogger({ level: 'silent' });
const onPostgres = testDatabaseKind() === 'postgres';
const kafkaReason = kafkaUnavailableReason();
const kafkaMissing =
  onPostgres && kafkaReason !== undefined && serviceMissing('a Kafka-protocol broker', kafkaReason);

const ORDERS = 200;

describe.each([
  { bus: 'kafka' as const, skip: kafkaMissing },
  { bus: 'embedded' as const, skip: false },
])('SIGKILL of one of two consumer processes ($bus bus)', ({ bus: kind, skip }) => {
  let db: Database;
  let cluster: KafkaTestCluster | undefined;
  const workers: WorkerProcess[] = [];

  beforeAll(async () => {
    if (skip) return;
    db = await openTestDatabase();
    if (kind === 'kafka') cluster = await startKafka([]);
  });
  afterAll(async () => {
    for (const w of workers) if (w.child.exitCode === null) w.child.kill('SIGKILL');
    await cluster?.stop();
    await db?.close();
  });

  it.skipIf(skip)(
    'the survivor takes over and every order is processed exactly once in effect',
    async () => {
      const prefix = `${uniqueName('t')}.`;
      const group = uniqueName('orders');
      let testBus: Bus;
      const env = cleanEnv({
        DATABASE_URL: databaseUrlOf(db),
        WORKER_GROUP: group,
        WORKER_HANDLER_DELAY_MS: '15',
        WORKER_LOG_LEVEL: 'info',
        ...(cluster ? { KAFKA_BROKERS: cluster.brokers.join(','), KAFKA_TOPIC_PREFIX: prefix } : {}),
      });
      if (cluster) {
        await cluster.createTopics(
          [
            'pa.orders.hl7v2',
            'pa.status.v1',
            'pa.deadletter.v1',
            'pa.orders.fhir',
            'pa.claimresponse.v1',
          ].map((name) => ({ name: prefix + name, partitions: name === 'pa.deadletter.v1' ? 1 : 4 })),
        );
        testBus = await createKafkaBus({
          kafka: { brokers: cluster.brokers, clientId: 'pagw-test', topicPrefix: prefix, ssl: false },
          logger,
          deadLetterTopic: 'pa.deadletter.v1',
        });
      } else {
        testBus = await createEmbeddedBus({
          pool: db.pool,
          logger,
          deadLetterTopic: 'pa.deadletter.v1',
          topics: [{ name: 'pa.orders.hl7v2' }, { name: 'pa.status.v1' }],
        });
      }
      /** Both members hold half of the order topic's four partitions. */
      const balanced = async (groupId: string, members: WorkerProcess[]): Promise<boolean> => {
        if (!cluster) {
          const { rows } = await db.pool.query<{ n: number }>(
            'SELECT count(*)::int AS n FROM bus_leases WHERE group_id = $1 AND expires_at > now() GROUP BY owner',
            [groupId],
          );
          return rows.length === 2 && rows.every((r) => r.n === 2);
        }
        // The mock cluster has no DescribeGroups: read each member's latest assignment from its log.
        return members.every((m) => m.assignment()?.[`${prefix}pa.orders.hl7v2`]?.length === 2);
      };
      try {
        const a = startWorker(env);
        const b = startWorker(env);
        workers.push(a, b);
        await Promise.all([a.ready(), b.ready()]);
        await waitFor(() => balanced(group, [a, b]), {
          timeoutMs: 60_000,
          intervalMs: 250,
          what: 'two members, partitions split',
        });

        const orders = Array.from({ length: ORDERS }, (_, i) => ({
          tenant: 'clinic-a',
          orderId: `${group}-${i}`,
        }));
        for (let i = 0; i < ORDERS; i += 50)
          await testBus.publish(orders.slice(i, i + 50).map((o) => orderMessage('pa.orders.hl7v2', o)));

        // Both members work (the group split the partitions), then one dies in the middle of its work.
        await waitFor(() => a.handled.length >= 25 && b.handled.length >= 5, {
          timeoutMs: 60_000,
          what: 'both processes handling orders',
        });
        const partitionsOfA = new Set(a.partitions);
        const partitionsOfB = new Set(b.partitions);
        a.child.kill('SIGKILL');
        await a.exited();
        expect([...partitionsOfA].filter((p) => partitionsOfB.has(p))).toEqual([]);

        await waitFor(async () => (await countRows(db.pool, 'cases')) === ORDERS, {
          timeoutMs: 90_000,
          intervalMs: 250,
          what: `${ORDERS} cases`,
        });
        await waitFor(async () => (await countRows(db.pool, 'outbox', 'published_at IS NULL')) === 0, {
          timeoutMs: 30_000,
          what: 'outbox drained',
        });
        expect(b.handled.length).toBeGreaterThan(0);
        expect(b.partitions.size).toBeGreaterThan(partitionsOfB.size); // it took over A's partitions

        // No duplicate case, one event per case in the outbox.
        const perCase = await db.pool.query<{ n: number }>(
          'SELECT count(*)::int AS n FROM outbox GROUP BY case_id HAVING count(*) <> 1',
        );
        expect(perCase.rows).toEqual([]);
        const caseIds = new Set(
          (await db.pool.query<{ id: string }>('SELECT id FROM cases')).rows.map((r) => r.id),
        );
        expect(caseIds).toEqual(new Set(orders.map(caseIdOfOrder)));

        // Downstream: every case's event arrives; after deduping on the event id, each exactly once.
        const events: IncomingMessage[] = [];
        const reader = await testBus.subscribe({
          group: uniqueName('erp'),
          topics: ['pa.status.v1'],
          handle: async (m) => void events.push(m),
        });
        await waitFor(() => new Set(events.map((e) => e.headers[OutboxHeader.caseId])).size === ORDERS, {
          timeoutMs: 60_000,
          what: 'a status event for every case downstream',
        });
        await reader.stop();
        const eventIds = events.map((e) => e.headers[OutboxHeader.eventId]!);
        const distinct = new Set(eventIds);
        expect(distinct.size).toBe(ORDERS);
        const wireDuplicates = eventIds.length - distinct.size;
        console.log(
          `[bus-sigkill ${kind}] A handled ${a.handled.length} before SIGKILL, B ${b.handled.length}; ` +
            `orders redelivered to B: ${a.handled.filter((id) => b.handled.includes(id)).length}; ` +
            `events on the wire ${eventIds.length}, distinct ${distinct.size}, duplicates ${wireDuplicates}`,
        );
        // The embedded relay appends and marks in one transaction: not even a wire duplicate.
        if (kind === 'embedded') expect(wireDuplicates).toBe(0);

        b.child.kill('SIGTERM');
        expect(await b.exited()).toBe(0);
      } finally {
        await testBus.close();
      }
    },
    900_000,
  );
});
