/**
 * The order topic handlers subscribed on the embedded bus (the real adapter, on PGlite or PostgreSQL):
 * an order published to pa.orders.hl7v2 / pa.orders.fhir becomes a case; a redelivery makes no second case;
 * an unmappable one is dead-lettered by the handler itself (and its offset moves on); a message with no
 * tenant is refused to the bus.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createEmbeddedBus, type EmbeddedBus } from '../../src/bus/embedded/embedded-bus.ts';
import type { IncomingMessage } from '../../src/bus/port.ts';
import { systemClock } from '../../src/clock.ts';
import {
  createOrderTopicHandler,
  createOrderTopicHandlers,
  type InboundDeps,
  OrderHeader,
} from '../../src/inbound/index.ts';
import { createLogger } from '../../src/log/logger.ts';
import type { Database } from '../../src/store/index.ts';
import { readFixture } from '../conformance/mapping-cases.ts';
import { openTestDatabase, testDatabaseKind } from '../helpers/database.ts';
import { uniqueName } from '../helpers/kafka.ts';
import { countRows, waitFor } from '../helpers/store.ts';
import { testVault } from '../helpers/vault.ts';

const logger = createLogger({ level: 'silent' });
let db: Database;
let bus: EmbeddedBus;
let deps: InboundDeps;
const topics = { ordersHl7v2: uniqueName('orders-hl7v2'), ordersFhir: uniqueName('orders-fhir') };
const deadLetter = uniqueName('deadletter');

beforeAll(async () => {
  db = await openTestDatabase({ poolSize: 10 });
  bus = await createEmbeddedBus({
    pool: db.pool,
    logger,
    deadLetterTopic: uniqueName('bus-dlq'),
    topics: [{ name: topics.ordersHl7v2 }, { name: topics.ordersFhir }],
    pollIntervalMs: 50,
  });
  deps = { db, clock: systemClock, logger, deadLetterTopic: deadLetter, phi: testVault(db).phi };
});
afterAll(async () => {
  await bus?.close();
  await db?.close();
});

function incoming(topic: string, value: Buffer, headers: Record<string, string>): IncomingMessage {
  return { topic, partition: 0, offset: '7', key: 'ord-1', value, headers, attempt: 1 };
}

describe(`order topic handlers (${testDatabaseKind()})`, () => {
  it('turns orders published on both topics into cases, once each even when delivered twice', async () => {
    const handlers = createOrderTopicHandlers(deps, topics);
    const subscription = await bus.subscribe({
      group: uniqueName('inbound'),
      topics: [topics.ordersHl7v2, topics.ordersFhir],
      handle: (message) => handlers[message.topic]!(message),
    });
    const hl7 = readFixture('hl7v2/synthetic_ORM-O01_rxo-ndc.hl7');
    const fhir = readFixture('fhir/synthetic_medicationrequest-contained.json');
    const headers = { [OrderHeader.tenant]: 'clinic-t', [OrderHeader.sender]: 'pharmacy-feed' };
    await bus.publish([
      { topic: topics.ordersHl7v2, key: 'RX-ORD-1', value: hl7, headers },
      { topic: topics.ordersFhir, key: 'mr1', value: fhir, headers },
      { topic: topics.ordersHl7v2, key: 'RX-ORD-1', value: hl7, headers },
    ]);
    await waitFor(
      async () => (await countRows(db.pool, 'inbound_messages', `tenant_id = 'clinic-t'`)) === 2,
      {
        what: 'two recorded messages',
      },
    );
    await waitFor(async () => (await countRows(db.pool, 'cases', `tenant_id = 'clinic-t'`)) === 2, {
      what: 'cases',
    });
    await subscription.stop();
    expect(await countRows(db.pool, 'cases', `tenant_id = 'clinic-t'`)).toBe(2);
    const audit = await db.pool.query(
      `SELECT actor, on_behalf_of FROM audit_log WHERE tenant_id = 'clinic-t' AND action = 'inbound.accepted' ORDER BY seq`,
    );
    expect(audit.rows.map((r) => r.actor).sort()).toEqual([
      `bus:${topics.ordersFhir}`,
      `bus:${topics.ordersHl7v2}`,
    ]);
  });

  it('dead-letters an unmappable message itself, keeping key, bytes and source coordinates, and resolves', async () => {
    const handle = createOrderTopicHandler({ ...deps, format: 'fhir' });
    const value = readFixture('pas/Bundle-PASClaimInquiryBundleExample.json');
    await handle(incoming(topics.ordersFhir, value, { [OrderHeader.tenant]: 'clinic-u' }));
    const { rows } = await db.pool.query(
      `SELECT topic, message_key, value, headers FROM outbox WHERE tenant_id = 'clinic-u'`,
    );
    expect(rows).toHaveLength(1);
    expect(rows[0]).toMatchObject({ topic: deadLetter, message_key: 'ord-1' });
    expect(Buffer.compare(rows[0].value, value)).toBe(0);
    expect(rows[0].headers).toMatchObject({
      'pagw-dlq-error-code': 'PAGW_MAP_NOT_NEW_ORDER',
      'pagw-dlq-source-topic': topics.ordersFhir,
      'pagw-dlq-source-partition': '0',
      'pagw-dlq-source-offset': '7',
      'pagw-source-transport': 'bus',
      'pagw-source-sender': `topic:${topics.ordersFhir}`,
    });
  });

  it('refuses a message with no tenant header with a non-retriable error (the bus dead-letters it)', async () => {
    const handle = createOrderTopicHandler({ ...deps, format: 'hl7v2' });
    await expect(
      handle(incoming(topics.ordersHl7v2, readFixture('hl7v2/synthetic_ORM-O01_rxo-ndc.hl7'), {})),
    ).rejects.toMatchObject({
      code: 'PAGW_INBOUND_NO_TENANT',
      retriable: false,
    });
  });
});
