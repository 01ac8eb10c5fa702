import { randomBytes } from 'node:crypto';
/**
 * bench/bus: end-to-end orders per second from pa.orders.hl7v2 to a published outbox event, on a Kafka-protocol
 * broker (librdkafka's mock cluster, or KAFKA_BROKERS) with PostgreSQL, and its ratio to a bare kafkajs
 * consume→produce passthrough on the same broker in the same run.
 *
 *   npx tsx bench/bus.ts [--n 2000] [--partitions 4] [--postgres postgres://root@127.0.0.1:5432/test]
 *
 * Gateway pipeline: the Kafka adapter's subscription (group, one message at a time per partition, 4 partitions
 * in parallel, offsets committed after the handler) → an order consumer that creates a case with its
 * idempotency key, case event, audit row and a status event in the outbox in one transaction → the outbox
 * relay publishing to pa.status.v1 and marking rows published. Done when every outbox row is published.
 * A second pipeline runs the gateway's real order handler: HL7 v2 ORM^O01 bytes mapped (src/mapping), validated,
 * recorded with their idempotency key, a case created and validated, and the two status events the outbound
 * planner writes for those transitions published; done when all 2 × n are published.
 * Baseline: a kafkajs consumer (same partition concurrency) whose eachMessage produces the message to another
 * topic. Both clocks start at the first message consumed, so group joins are not counted.
 */

import path from 'node:path';
import { parseArgs } from 'node:util';
import { Kafka, logLevel, Partitioners } from 'kafkajs';
import pg from 'pg';
import { loadPayerDirectory } from '../connectors/payer-directory.ts';
import { createKafkaBus } from '../src/bus/kafka/kafka-bus.ts';
import { systemClock } from '../src/clock.ts';
import { createOrderTopicHandlers } from '../src/inbound/index.ts';
import { createLogger } from '../src/log/logger.ts';
import { createCaseOutboundPlanner } from '../src/outbound/planner.ts';
import { loadTenantDirectory } from '../src/outbound/tenant-loader.ts';
import { type Database, migrate, openDatabase } from '../src/store/index.ts';
import { startOutboxRelay } from '../src/store/outbox-relay.ts';
import { createVault, masterKeyRingOf } from '../src/vault/index.ts';
import { caseCreatingHandler, orderMessage } from '../test/helpers/bus-scenario.ts';
import { buildOrmOrder } from '../test/helpers/hl7-orders.ts';
import { startKafka, uniqueName } from '../test/helpers/kafka.ts';

const { values } = parseArgs({
  options: {
    n: { type: 'string', default: '2000' },
    partitions: { type: 'string', default: '4' },
    postgres: { type: 'string', default: process.env.DATABASE_URL ?? 'postgres://root@127.0.0.1:5432/test' },
  },
});
const n = Number(values.n);
const partitions = Number(values.partitions);
const concurrency = 4;
const logger = createLogger({ level: 'silent' });

async function until(check: () => Promise<boolean> | boolean, timeoutMs = 600_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error('bench timed out');
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

function report(label: string, startedAt: number, endedAt: number): number {
  const seconds = (endedAt - startedAt) / 1000;
  const rate = n / seconds;
  console.log(`  ${label.padEnd(52)} ${rate.toFixed(0).padStart(7)} /s  (${n} in ${seconds.toFixed(2)} s)`);
  return rate;
}

const orderBody = (i: number) => ({ tenant: 'clinic-bench', orderId: `bench-${Date.now()}-${i}` });

async function passthrough(brokers: string[], topicIn: string, topicOut: string): Promise<number> {
  const kafka = new Kafka({ clientId: 'bench', brokers, logLevel: logLevel.NOTHING });
  const producer = kafka.producer({ createPartitioner: Partitioners.DefaultPartitioner });
  await producer.connect();
  for (let i = 0; i < n; i += 500) {
    const chunk = Array.from({ length: Math.min(500, n - i) }, (_, j) =>
      orderMessage(topicIn, orderBody(i + j)),
    );
    await producer.send({
      topic: topicIn,
      messages: chunk.map((m) => ({ key: m.key, value: m.value, headers: m.headers })),
    });
  }
  let forwarded = 0;
  let startedAt = 0;
  const consumer = kafka.consumer({ groupId: uniqueName('bench-pass'), maxWaitTimeInMs: 500 });
  await consumer.connect();
  await consumer.subscribe({ topics: [topicIn], fromBeginning: true });
  await consumer.run({
    partitionsConsumedConcurrently: concurrency,
    eachMessage: async ({ message }) => {
      startedAt ||= Date.now();
      await producer.send({
        topic: topicOut,
        messages: [{ key: message.key, value: message.value, headers: message.headers }],
      });
      forwarded++;
    },
  });
  await until(() => forwarded >= n);
  const rate = report('bare kafkajs consume→produce passthrough', startedAt, Date.now());
  await consumer.disconnect();
  await producer.disconnect();
  return rate;
}

async function gateway(brokers: string[], prefix: string, db: Database): Promise<number> {
  const bus = await createKafkaBus({
    kafka: { brokers, clientId: 'bench', topicPrefix: prefix, ssl: false },
    logger,
    deadLetterTopic: 'pa.deadletter.v1',
    partitionsConsumedConcurrently: concurrency,
  });
  for (let i = 0; i < n; i += 500) {
    const count = Math.min(500, n - i);
    await bus.publish(
      Array.from({ length: count }, (_, j) => orderMessage('pa.orders.hl7v2', orderBody(i + j))),
    );
  }
  const handle = caseCreatingHandler({ pool: db.pool, statusTopic: 'pa.status.v1' });
  let startedAt = 0;
  const subscription = await bus.subscribe({
    group: uniqueName('bench-orders'),
    topics: ['pa.orders.hl7v2'],
    handle: async (message) => {
      startedAt ||= Date.now();
      await handle(message);
    },
  });
  const relay = startOutboxRelay({ db, bus, clock: systemClock, logger, intervalMs: 10 });
  await until(async () => {
    const { rows } = await db.pool.query<{ n: number }>(
      'SELECT count(*)::int AS n FROM outbox WHERE published_at IS NOT NULL',
    );
    return rows[0]!.n >= n;
  });
  const rate = report('gateway: order topic → case → outbox → published event', startedAt, Date.now());
  await subscription.stop();
  await relay.stop();
  await bus.close();
  return rate;
}

async function gatewayWithMapping(brokers: string[], prefix: string, db: Database): Promise<number> {
  const bus = await createKafkaBus({
    kafka: { brokers, clientId: 'bench', topicPrefix: prefix, ssl: false },
    logger,
    deadLetterTopic: 'pa.deadletter.v1',
    partitionsConsumedConcurrently: concurrency,
  });
  const run = Date.now();
  for (let i = 0; i < n; i += 500) {
    const count = Math.min(500, n - i);
    await bus.publish(
      Array.from({ length: count }, (_, j) => ({
        topic: 'pa.orders.hl7v2',
        key: `ORD-${run}-${i + j}`,
        value: Buffer.from(
          buildOrmOrder({
            messageId: `BENCH-${run}-${i + j}`,
            placerOrderNumber: `ORD-${run}-${i + j}`,
            memberId: `W${i + j}`,
            cpt: '70553',
          }),
        ),
        headers: { 'pagw-tenant': 'clinic-bench' },
      })),
    );
  }
  const outbound = createCaseOutboundPlanner({
    tenants: loadTenantDirectory(path.join(import.meta.dirname, '..', 'tenants')),
    payers: loadPayerDirectory(),
    topics: { claimResponse: 'pa.claimresponse.v1', status: 'pa.status.v1' },
  });
  const handlers = createOrderTopicHandlers(
    {
      db,
      clock: systemClock,
      logger,
      deadLetterTopic: 'pa.deadletter.v1',
      outbound,
      phi: createVault({ pool: db.pool, keys: masterKeyRingOf([randomBytes(32)]), clock: systemClock }).phi,
    },
    { ordersHl7v2: 'pa.orders.hl7v2', ordersFhir: 'pa.orders.fhir' },
  );
  let startedAt = 0;
  const subscription = await bus.subscribe({
    group: uniqueName('bench-mapped-orders'),
    topics: ['pa.orders.hl7v2'],
    handle: async (message) => {
      startedAt ||= Date.now();
      await handlers['pa.orders.hl7v2']!(message);
    },
  });
  const relay = startOutboxRelay({ db, bus, clock: systemClock, logger, intervalMs: 10 });
  await until(async () => {
    const { rows } = await db.pool.query<{ n: number }>(
      `SELECT count(*)::int AS n FROM outbox WHERE tenant_id = 'clinic-bench' AND published_at IS NOT NULL`,
    );
    return rows[0]!.n >= 2 * n;
  });
  const rate = report('gateway, real HL7 order handler → 2 status events', startedAt, Date.now());
  await subscription.stop();
  await relay.stop();
  await bus.close();
  return rate;
}

async function main(): Promise<void> {
  console.log(
    `bench/bus — ${n} orders, ${partitions} partitions, ${concurrency} partitions in parallel, node ${process.version}`,
  );
  const prefixA = `${uniqueName('bench')}.`;
  const prefixB = `${uniqueName('bench')}.`;
  const prefixC = `${uniqueName('bench')}.`;
  const cluster = await startKafka([
    { name: `${prefixA}in`, partitions },
    { name: `${prefixA}out`, partitions },
    { name: `${prefixB}pa.orders.hl7v2`, partitions },
    { name: `${prefixB}pa.status.v1`, partitions },
    { name: `${prefixB}pa.deadletter.v1`, partitions: 1 },
    { name: `${prefixC}pa.orders.hl7v2`, partitions },
    { name: `${prefixC}pa.status.v1`, partitions },
    { name: `${prefixC}pa.deadletter.v1`, partitions: 1 },
  ]);
  console.log(
    `broker: ${cluster.mock ? 'librdkafka mock cluster' : 'KAFKA_BROKERS'} ${cluster.brokers.join(',')}`,
  );
  const schema = `bench_bus_${Date.now()}`;
  const admin = new pg.Client({ connectionString: values.postgres });
  await admin.connect();
  await admin.query(`CREATE SCHEMA ${schema}`);
  const db = await openDatabase({
    databaseUrl: values.postgres,
    poolOptions: { options: `-c search_path=${schema}` },
  });
  console.log(`database: ${db.description} (schema ${schema})\n`);
  try {
    await migrate(db.pool);
    const baseline = await passthrough(cluster.brokers, `${prefixA}in`, `${prefixA}out`);
    const pipeline = await gateway(cluster.brokers, prefixB, db);
    const mapped = await gatewayWithMapping(cluster.brokers, prefixC, db);
    console.log(
      `\nsummary: bare passthrough ${baseline.toFixed(0)} msg/s; gateway (minimal consumer) ${pipeline.toFixed(0)} orders/s, ratio ${(pipeline / baseline).toFixed(2)}; gateway (real HL7 order handler) ${mapped.toFixed(0)} orders/s, ratio ${(mapped / baseline).toFixed(2)}`,
    );
  } finally {
    await db.close();
    await admin.query(`DROP SCHEMA IF EXISTS ${schema} CASCADE`).catch(() => {});
    await admin.end();
    await cluster.stop();
  }
}

await main();
