/**
 * The Kafka adapter against a Kafka-protocol broker: librdkafka's mock cluster (test/kafka/mock-broker.c), or
 * the real cluster in KAFKA_BROKERS. Topic names carry a unique prefix per test, as the gateway's config would.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DeadLetterHeader } from '../../src/bus/dead-letter.ts';
import { createKafkaBus, type KafkaBus } from '../../src/bus/kafka/kafka-bus.ts';
import type { IncomingMessage } from '../../src/bus/port.ts';
import { systemClock } from '../../src/clock.ts';
import { GatewayError } from '../../src/errors/index.ts';
import { createLogger } from '../../src/log/logger.ts';
import { createMetrics } from '../../src/metrics/metrics.ts';
import { type Database, OutboxHeader } from '../../src/store/index.ts';
import { startOutboxRelay } from '../../src/store/outbox-relay.ts';
import { caseCreatingHandler, caseIdOfOrder, orderMessage } from '../helpers/bus-scenario.ts';
import { openTestDatabase } from '../helpers/database.ts';
import { type KafkaTestCluster, kafkaUnavailableReason, startKafka, uniqueName } from '../helpers/kafka.ts';
import { serviceMissing } from '../helpers/services.ts';
import { countRows, waitFor } from '../helpers/store.ts';

const reason = kafkaUnavailableReason();
const missing = reason !== undefined && serviceMissing('a Kafka-protocol broker', reason);
const logger = createLogger({ level: process.env.TEST_LOG_LEVEL ?? 'silent' });

describe.skipIf(missing)('Kafka bus', () => {
  let cluster: KafkaTestCluster;
  const buses: KafkaBus[] = [];

  beforeAll(async () => {
    cluster = await startKafka([]);
  });
  afterAll(async () => {
    await Promise.all(buses.map((b) => b.close()));
    await cluster?.stop();
  });

  /** A bus with a fresh topic prefix, and its topics created on the cluster. */
  async function newBus(topics: Record<string, number>) {
    const prefix = `${uniqueName('t')}.`;
    const deadLetterTopic = 'pa.deadletter.v1';
    await cluster.createTopics(
      Object.entries({ ...topics, [deadLetterTopic]: 1 }).map(([name, partitions]) => ({
        name: prefix + name,
        partitions,
      })),
    );
    const bus = await createKafkaBus({
      kafka: { brokers: cluster.brokers, clientId: 'pagw-test', topicPrefix: prefix, ssl: false },
      logger,
      deadLetterTopic,
      backoff: { initialMs: 20, maxMs: 200 },
      sessionTimeoutMs: 6000,
    });
    buses.push(bus);
    return bus;
  }

  it('delivers every message to a group, in order per key, with the prefix off the topic and headers intact', async () => {
    const bus = await newBus({ 'pa.orders.hl7v2': 3 });
    const topic = 'pa.orders.hl7v2';
    await bus.publish(
      Array.from({ length: 60 }, (_, i) => ({
        topic,
        key: `order-${i % 7}`,
        value: Buffer.from(String(i)),
        headers: { 'pagw-event-id': `e-${i}` },
      })),
    );
    const seen: IncomingMessage[] = [];
    const sub = await bus.subscribe({
      group: uniqueName('g'),
      topics: [topic],
      handle: async (m) => void seen.push(m),
    });
    await waitFor(() => seen.length >= 60, { timeoutMs: 30_000, what: '60 messages' });
    await sub.stop();
    expect(seen).toHaveLength(60);
    expect(seen.every((m) => m.topic === topic && m.attempt === 1)).toBe(true);
    expect(new Set(seen.map((m) => m.headers['pagw-event-id'])).size).toBe(60);
    const byKey = new Map<string, { values: number[]; partitions: Set<number> }>();
    for (const m of seen) {
      const entry = byKey.get(m.key!) ?? { values: [], partitions: new Set() };
      entry.values.push(Number(m.value.toString()));
      entry.partitions.add(m.partition);
      byKey.set(m.key!, entry);
    }
    for (const { values, partitions } of byKey.values()) {
      expect(values).toEqual([...values].sort((a, b) => a - b));
      expect(partitions.size).toBe(1);
    }
  });

  it('dead-letters a poison message with its reason and source coordinates, and processes the ones after it', async () => {
    const bus = await newBus({ 'pa.orders.hl7v2': 1 });
    const topic = 'pa.orders.hl7v2';
    await bus.publish([
      { topic, key: 'k', value: Buffer.from('ok-1') },
      { topic, key: 'k', value: Buffer.from('poison'), headers: { 'pagw-tenant': 'clinic-a' } },
      { topic, key: 'k', value: Buffer.from('ok-2') },
    ]);
    const handled: string[] = [];
    const group = uniqueName('g');
    const sub = await bus.subscribe({
      group,
      topics: [topic],
      maxAttempts: 3,
      handle: async (m) => {
        if (m.value.toString() === 'poison') throw new TypeError('cannot read properties of undefined');
        handled.push(m.value.toString());
      },
    });
    const dead: IncomingMessage[] = [];
    const dlq = await bus.subscribe({
      group: uniqueName('dlq'),
      topics: ['pa.deadletter.v1'],
      handle: async (m) => void dead.push(m),
    });
    await waitFor(() => handled.length === 2 && dead.length === 1, {
      timeoutMs: 30_000,
      what: 'dead letter',
    });
    await Promise.all([sub.stop(), dlq.stop()]);
    expect(handled).toEqual(['ok-1', 'ok-2']);
    const letter = dead[0]!;
    expect(letter.key).toBe('k');
    expect(letter.value.toString()).toBe('poison');
    expect(letter.headers).toMatchObject({
      'pagw-tenant': 'clinic-a',
      [DeadLetterHeader.errorCode]: 'PAGW_BUS_HANDLER_FAILED',
      [DeadLetterHeader.reason]: 'TypeError: cannot read properties of undefined',
      [DeadLetterHeader.sourceTopic]: bus.wireTopic(topic),
      [DeadLetterHeader.sourcePartition]: '0',
      [DeadLetterHeader.sourceOffset]: '1',
      [DeadLetterHeader.group]: group,
      [DeadLetterHeader.attempts]: '3',
    });
  });

  it('commits only handled messages: a group restarted after a failure resumes at the unhandled one', async () => {
    const bus = await newBus({ 'pa.orders.fhir': 1 });
    const topic = 'pa.orders.fhir';
    await bus.publish(['a', 'b', 'c'].map((v) => ({ topic, key: 'k', value: Buffer.from(v) })));
    const group = uniqueName('g');
    const first: string[] = [];
    const sub = await bus.subscribe({
      group,
      topics: [topic],
      handle: async (m) => {
        if (m.value.toString() === 'b') throw new GatewayError('PAGW_STORE_UNAVAILABLE', 'database down');
        first.push(m.value.toString());
      },
    });
    await waitFor(() => first.length === 1, { timeoutMs: 30_000 });
    await sub.stop();
    const second: string[] = [];
    const again = await bus.subscribe({
      group,
      topics: [topic],
      handle: async (m) => void second.push(m.value.toString()),
    });
    await waitFor(() => second.length === 2, { timeoutMs: 30_000 });
    await again.stop();
    expect(first).toEqual(['a']);
    expect(second).toEqual(['b', 'c']);
  });

  it('round-trips an order: topic → case (deduped on redelivery) → outbox → relay → status topic with its event id', async () => {
    const db: Database = await openTestDatabase();
    try {
      const bus = await newBus({ 'pa.orders.hl7v2': 3, 'pa.status.v1': 3 });
      const metrics = createMetrics({ processMetrics: false });
      const orders = Array.from({ length: 20 }, (_, i) => ({
        tenant: 'clinic-a',
        orderId: uniqueName(`o${i}`),
      }));
      // Every order twice: a redelivery must be acknowledged with no side effect.
      await bus.publish([...orders, ...orders].map((o) => orderMessage('pa.orders.hl7v2', o)));
      const sub = await bus.subscribe({
        group: uniqueName('orders'),
        topics: ['pa.orders.hl7v2'],
        handle: caseCreatingHandler({ pool: db.pool, statusTopic: 'pa.status.v1' }),
      });
      const relay = startOutboxRelay({
        db,
        bus,
        clock: systemClock,
        logger,
        metrics: metrics.outbox,
        intervalMs: 50,
      });
      const events: IncomingMessage[] = [];
      const downstream = await bus.subscribe({
        group: uniqueName('erp'),
        topics: ['pa.status.v1'],
        handle: async (m) => void events.push(m),
      });
      await waitFor(() => events.length >= 20, { timeoutMs: 30_000, what: '20 status events' });
      await sub.stop();
      await relay.stop();
      await downstream.stop();
      expect(await countRows(db.pool, 'cases')).toBe(20);
      expect(await countRows(db.pool, 'outbox', 'published_at IS NULL')).toBe(0);
      expect(events).toHaveLength(20);
      expect(new Set(events.map((e) => e.headers[OutboxHeader.eventId])).size).toBe(20);
      for (const event of events) {
        const body = JSON.parse(event.value.toString());
        const order = orders.find((o) => o.orderId === body.orderId)!;
        expect(event.key).toBe(caseIdOfOrder(order));
        expect(event.headers).toMatchObject({
          [OutboxHeader.tenant]: 'clinic-a',
          [OutboxHeader.caseId]: caseIdOfOrder(order),
          [OutboxHeader.correlationId]: order.orderId,
          [OutboxHeader.schemaVersion]: 'status.v1',
        });
      }
      expect(await metrics.registry.getSingleMetricAsString('pagw_outbox_published_events_total')).toMatch(
        / 20$/m,
      );
    } finally {
      await db.close();
    }
  });
});
