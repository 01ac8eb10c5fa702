/**
 * The broker goes down for 10 seconds in the middle of the work and comes back: consumers, relay and producer
 * recover by themselves, and nothing is lost (every order becomes one case and one downstream event).
 * Needs the librdkafka mock (a real cluster in KAFKA_BROKERS cannot be taken down by the tests).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createKafkaBus, type KafkaBus } from '../../src/bus/kafka/kafka-bus.ts';
import type { IncomingMessage } from '../../src/bus/port.ts';
import { systemClock } from '../../src/clock.ts';
import { createLogger } from '../../src/log/logger.ts';
import { type Database, OutboxHeader } from '../../src/store/index.ts';
import { startOutboxRelay } from '../../src/store/outbox-relay.ts';
import { caseCreatingHandler, caseIdOfOrder, orderMessage } from '../helpers/bus-scenario.ts';
import { openTestDatabase, testDatabaseKind } from '../helpers/database.ts';
import { type KafkaTestCluster, kafkaUnavailableReason, startKafka, uniqueName } from '../helpers/kafka.ts';
import { serviceMissing } from '../helpers/services.ts';
import { countRows, waitFor } from '../helpers/store.ts';

const logger = createLogger({ level: process.env.TEST_LOG_LEVEL ?? 'silent' });
const realCluster = Boolean(process.env.KAFKA_BROKERS);
if (realCluster)
  console.warn('[pagw tests] bus-kafka-outage: needs the mock broker to simulate an outage; not run');
const reason = realCluster ? undefined : kafkaUnavailableReason();
const missing = reason !== undefined && serviceMissing('the librdkafka mock broker', reason);

describe.skipIf(realCluster || missing)(`Kafka outage of 10 s (${testDatabaseKind()})`, () => {
  let cluster: KafkaTestCluster;
  let db: Database;
  const buses: KafkaBus[] = [];
  beforeAll(async () => {
    cluster = await startKafka([]);
    db = await openTestDatabase();
  });
  afterAll(async () => {
    await Promise.all(buses.map((b) => b.close()));
    await cluster?.stop();
    await db?.close();
  });

  it('the gateway side recovers by itself and loses nothing', async () => {
    const prefix = `${uniqueName('t')}.`;
    await cluster.createTopics(
      ['pa.orders.hl7v2', 'pa.status.v1', 'pa.deadletter.v1'].map((name) => ({
        name: prefix + name,
        partitions: 3,
      })),
    );
    const newBus = async () => {
      const bus = await createKafkaBus({
        kafka: { brokers: cluster.brokers, clientId: 'pagw-test', topicPrefix: prefix, ssl: false },
        logger,
        deadLetterTopic: 'pa.deadletter.v1',
      });
      buses.push(bus);
      return bus;
    };
    const [gatewayBus, producerBus, downstreamBus] = await Promise.all([newBus(), newBus(), newBus()]);
    const orders = Array.from({ length: 100 }, (_, i) => ({
      tenant: 'clinic-a',
      orderId: uniqueName(`o${i}`),
    }));
    const sub = await gatewayBus.subscribe({
      group: uniqueName('orders'),
      topics: ['pa.orders.hl7v2'],
      handle: caseCreatingHandler({
        pool: db.pool,
        statusTopic: 'pa.status.v1',
        beforeWrite: () => new Promise((resolve) => setTimeout(resolve, 40)),
      }),
    });
    const relay = startOutboxRelay({ db, bus: gatewayBus, clock: systemClock, logger, intervalMs: 20 });
    const events: IncomingMessage[] = [];
    const downstream = await downstreamBus.subscribe({
      group: uniqueName('erp'),
      topics: ['pa.status.v1'],
      handle: async (m) => void events.push(m),
    });

    await producerBus.publish(orders.slice(0, 60).map((o) => orderMessage('pa.orders.hl7v2', o)));
    await waitFor(async () => (await countRows(db.pool, 'cases')) >= 10, {
      timeoutMs: 30_000,
      what: 'work under way',
    });

    await cluster.down();
    const downAt = Date.now();
    // The outage itself lasts 10 s (the scenario), during which the gateway keeps failing and retrying.
    await new Promise((resolve) => setTimeout(resolve, 10_000));
    const casesDuringOutage = await countRows(db.pool, 'cases');
    await cluster.up();
    console.log(
      `[bus-kafka-outage] brokers down for ${Date.now() - downAt} ms; ${casesDuringOutage} cases when they came back`,
    );

    await producerBus.publish(orders.slice(60).map((o) => orderMessage('pa.orders.hl7v2', o)));
    await waitFor(async () => (await countRows(db.pool, 'cases')) === 100, {
      timeoutMs: 90_000,
      intervalMs: 250,
      what: '100 cases after the outage',
    });
    await waitFor(() => new Set(events.map((e) => e.headers[OutboxHeader.caseId])).size === 100, {
      timeoutMs: 60_000,
      intervalMs: 250,
      what: 'an event for every case downstream',
    });
    await sub.stop();
    await relay.stop();
    await downstream.stop();
    expect(await countRows(db.pool, 'outbox', 'published_at IS NULL')).toBe(0);
    expect(new Set(events.map((e) => e.headers[OutboxHeader.caseId]))).toEqual(
      new Set(orders.map(caseIdOfOrder)),
    );
    const ids = events.map((e) => e.headers[OutboxHeader.eventId]);
    expect(new Set(ids).size).toBe(100);
    console.log(`[bus-kafka-outage] events on the wire ${ids.length}, distinct ${new Set(ids).size}`);
  }, 900_000);
});
