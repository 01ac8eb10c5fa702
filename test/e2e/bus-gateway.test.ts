/**
 * The whole gateway on each bus: an HL7v2 order on pa.orders.hl7v2 becomes a case (a redelivery does not), an
 * unmappable order's dead-letter outbox row is published to pa.deadletter.v1 with its reason while the orders
 * after it are processed, and a message the handler refuses outright is dead-lettered by the bus.
 * Then two `pagw start` PROCESSES in group pa-gateway-orders (PostgreSQL): one is SIGKILLed mid-work and the
 * other finishes, every order recorded exactly once.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { createInterface } from 'node:readline';
import { afterAll, describe, expect, it } from 'vitest';
import { DeadLetterHeader } from '../../src/bus/dead-letter.ts';
import { createEmbeddedBus } from '../../src/bus/embedded/embedded-bus.ts';
import { createKafkaBus } from '../../src/bus/kafka/kafka-bus.ts';
import type { Bus, IncomingMessage, OutgoingMessage } from '../../src/bus/port.ts';
import { loadConfig } from '../../src/config/load-config.ts';
import { startGateway } from '../../src/gateway.ts';
import { createLogger } from '../../src/log/logger.ts';
import { OutboxHeader } from '../../src/store/index.ts';
import { cleanEnv, databaseUrlOf, pagwBin, repoRoot } from '../helpers/cli.ts';
import { describeOnPostgres, openTestDatabase, testDatabaseKind } from '../helpers/database.ts';
import { fixturePath } from '../helpers/fixtures.ts';
import { type KafkaTestCluster, kafkaUnavailableReason, startKafka, uniqueName } from '../helpers/kafka.ts';
import { serviceMissing } from '../helpers/services.ts';
import { countRows, waitFor } from '../helpers/store.ts';

const logger = createLogger({ level: 'silent' });
const kafkaReason = kafkaUnavailableReason();
const kafkaMissing = kafkaReason !== undefined && serviceMissing('a Kafka-protocol broker', kafkaReason);
const onPostgres = testDatabaseKind() === 'postgres';

const readOrder = (file: string) => readFileSync(fixturePath('hl7v2', file), 'utf8').replace(/^\uFEFF/, '');
const goodOrder = readOrder('fhirconverter_ORM-O01-02.hl7');
const badOrder = readOrder('synthetic_ORM-O01_bad-date.hl7');

/** The fixture with its own MSH-10 (the idempotency key) and placer number. */
function hl7Order(id: string, template = goodOrder): Buffer {
  const lines = template.split(/\r\n|\r|\n/);
  const msh = lines.findIndex((l) => l.startsWith('MSH'));
  const fields = lines[msh]!.split('|');
  fields[9] = id;
  lines[msh] = fields.join('|');
  return Buffer.from(lines.join('\r'), 'utf8');
}

const order = (
  topic: string,
  id: string,
  tenant: string | undefined,
  template?: string,
): OutgoingMessage => ({
  topic,
  key: id,
  value: hl7Order(id, template),
  headers: tenant ? { 'pagw-tenant': tenant } : {},
});

const TOPICS = [
  'pa.orders.hl7v2',
  'pa.orders.fhir',
  'pa.status.v1',
  'pa.claimresponse.v1',
  'pa.deadletter.v1',
];

describe.each([
  { kind: 'embedded' as const, skip: false },
  { kind: 'kafka' as const, skip: kafkaMissing },
])('gateway on the $kind bus', ({ kind, skip }) => {
  const cleanups: Array<() => Promise<void>> = [];
  afterAll(async () => {
    for (const cleanup of cleanups.reverse()) await cleanup().catch(() => {});
  });

  it.skipIf(skip)(
    'orders round-trip: case once, unmappable and tenant-less orders dead-lettered, others go on',
    async () => {
      const env: Record<string, string> = { PORT: '0', LOG_LEVEL: 'silent', WORKERS_POLL: '' };
      let cluster: KafkaTestCluster | undefined;
      const prefix = `${uniqueName('t')}.`;
      if (kind === 'kafka') {
        cluster = await startKafka(TOPICS.map((name) => ({ name: prefix + name, partitions: 2 })));
        cleanups.push(() => cluster!.stop());
        Object.assign(env, { KAFKA_BROKERS: cluster.brokers.join(','), KAFKA_TOPIC_PREFIX: prefix });
      }
      if (onPostgres) {
        const db = await openTestDatabase({ migrate: false });
        cleanups.push(() => db.close());
        env.DATABASE_URL = databaseUrlOf(db);
      } else {
        const dir = mkdtempSync(path.join(tmpdir(), 'pagw-gw-'));
        cleanups.push(async () => rmSync(dir, { recursive: true, force: true }));
        env.DATA_DIR = dir;
      }
      const config = loadConfig({ env });
      const gateway = await startGateway(
        { ...config, workers: { ...config.workers, pollIntervalMs: 50 } },
        logger,
      );
      cleanups.push(() => gateway.stop());
      const bus: Bus = gateway.eventBus;
      const { pool } = gateway.db;
      const tenant = uniqueName('clinic');
      const dead: IncomingMessage[] = [];
      const reader = await bus.subscribe({
        group: uniqueName('dlq-reader'),
        topics: ['pa.deadletter.v1'],
        handle: async (m) => void dead.push(m),
      });
      cleanups.push(() => reader.stop());

      const topic = 'pa.orders.hl7v2';
      await bus.publish([
        order(topic, uniqueName('MSG'), tenant, badOrder),
        order(topic, 'MSG-ok-1', tenant),
        order(topic, uniqueName('MSG'), undefined),
        order(topic, 'MSG-ok-1', tenant), // the same order again: no second case
        order(topic, 'MSG-ok-2', tenant),
      ]);
      await waitFor(
        async () => (await countRows(pool, 'inbound_messages', 'tenant_id = $1', [tenant])) === 3,
        {
          timeoutMs: 45_000,
          what: 'three distinct order messages recorded',
        },
      );
      await waitFor(() => dead.length >= 2, { timeoutMs: 45_000, what: 'two dead-letter records' });
      expect(await countRows(pool, 'cases', 'tenant_id = $1', [tenant])).toBe(2);

      const unmappable = dead.find((d) => d.headers[DeadLetterHeader.errorCode] === 'PAGW_MAP_INVALID_VALUE');
      expect(unmappable?.headers[OutboxHeader.eventId]).toBeTruthy();
      expect(unmappable?.headers[DeadLetterHeader.reason]).toBeTruthy();
      expect(unmappable?.value.toString('utf8')).toContain('MSH|');
      const tenantless = dead.find((d) => d.headers[DeadLetterHeader.errorCode] === 'PAGW_INBOUND_NO_TENANT');
      expect(tenantless?.headers).toMatchObject({
        [DeadLetterHeader.sourceTopic]: kind === 'kafka' ? `${prefix}${topic}` : topic,
        [DeadLetterHeader.group]: 'pa-gateway-orders',
        [DeadLetterHeader.attempts]: '5',
      });
      // The cases keep moving (status events) for a moment; once the relay has caught up, the lag metric says 0.
      const metrics = await waitFor(
        async () => {
          const text = await gateway.metrics.registry.getSingleMetricAsString(
            'pagw_outbox_unpublished_events',
          );
          return /pagw_outbox_unpublished_events 0$/m.test(text) ? text : undefined;
        },
        { timeoutMs: 30_000, what: 'the outbox lag metric to reach 0' },
      );
      expect(metrics).toMatch(/pagw_outbox_unpublished_events 0$/m);
    },
    600_000,
  );
});

describeOnPostgres.each([
  { kind: 'kafka' as const, skip: kafkaMissing },
  { kind: 'embedded' as const, skip: false },
])('two `pagw start` processes in one group ($kind bus, PostgreSQL)', ({ kind, skip }) => {
  const children: ChildProcess[] = [];
  const cleanups: Array<() => Promise<void>> = [];
  afterAll(async () => {
    for (const child of children) if (child.exitCode === null) child.kill('SIGKILL');
    for (const cleanup of cleanups.reverse()) await cleanup().catch(() => {});
  });

  function startPagw(env: NodeJS.ProcessEnv) {
    const child = spawn(process.execPath, [pagwBin, 'start'], {
      env,
      cwd: repoRoot,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    children.push(child);
    const state = { ready: false, assignment: undefined as Record<string, number[]> | undefined, out: '' };
    createInterface({ input: child.stdout! }).on('line', (line) => {
      state.out += `${line}\n`;
      if (line.startsWith('PA Gateway listening')) state.ready = true;
      // Other groups (PAS notifier, pharmacy write-back) join too: only the orders group's assignment counts.
      if (line.includes('joined consumer group')) {
        const joined = JSON.parse(line) as { group?: string; assignment?: Record<string, number[]> };
        if (joined.group === 'pa-gateway-orders') state.assignment = joined.assignment;
      }
    });
    child.stderr!.on('data', (d) => {
      state.out += d;
    });
    const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
    return { child, state, exited };
  }

  it.skipIf(skip)(
    'one is SIGKILLed mid-work; the other records every order exactly once',
    async () => {
      const ORDERS = 120;
      const db = await openTestDatabase();
      cleanups.push(() => db.close());
      const prefix = `${uniqueName('t')}.`;
      const env = cleanEnv({ DATABASE_URL: databaseUrlOf(db), PORT: '0', LOG_LEVEL: 'info' });
      let bus: Bus;
      if (kind === 'kafka') {
        const cluster = await startKafka(TOPICS.map((name) => ({ name: prefix + name, partitions: 4 })));
        cleanups.push(() => cluster.stop());
        Object.assign(env, { KAFKA_BROKERS: cluster.brokers.join(','), KAFKA_TOPIC_PREFIX: prefix });
        bus = await createKafkaBus({
          kafka: { brokers: cluster.brokers, clientId: 'pagw-test', topicPrefix: prefix, ssl: false },
          logger,
          deadLetterTopic: 'pa.deadletter.v1',
        });
      } else {
        bus = await createEmbeddedBus({ pool: db.pool, logger, deadLetterTopic: 'pa.deadletter.v1' });
      }
      cleanups.push(() => bus.close());
      const a = startPagw(env);
      const b = startPagw(env);
      await waitFor(() => a.state.ready && b.state.ready, {
        timeoutMs: 60_000,
        what: 'both gateways listening',
      });
      const balanced = async () => {
        if (kind === 'kafka') {
          // The group reads both order topics (8 partitions), so the HL7 v2 topic's 4 need not split 2 + 2: what
          // matters is that both members work on it and together cover it.
          const owned = [a, b].map((g) => g.state.assignment?.[`${prefix}pa.orders.hl7v2`] ?? []);
          return (
            owned.every((partitions) => partitions.length > 0) &&
            new Set(owned.flat()).size === 4 &&
            owned[0]!.length + owned[1]!.length === 4
          );
        }
        const { rows } = await db.pool.query<{ n: number }>(
          `SELECT count(*)::int AS n FROM bus_leases WHERE group_id = 'pa-gateway-orders' AND expires_at > now() GROUP BY owner`,
        );
        return rows.length === 2;
      };
      await waitFor(balanced, {
        timeoutMs: 60_000,
        intervalMs: 250,
        what: 'the group split between the two',
      });

      const tenant = uniqueName('clinic');
      const ids = Array.from({ length: ORDERS }, (_, i) => `${tenant}-MSG-${i}`);
      // Every tenth order cannot be mapped: its dead-letter is an outbox event with a unique event id.
      await bus.publish(
        ids.map((id, i) => order('pa.orders.hl7v2', id, tenant, i % 10 === 9 ? badOrder : goodOrder)),
      );
      await waitFor(
        async () => (await countRows(db.pool, 'inbound_messages', 'tenant_id = $1', [tenant])) >= 30,
        {
          timeoutMs: 60_000,
          what: 'work under way',
        },
      );
      a.child.kill('SIGKILL');
      await a.exited;

      await waitFor(
        async () => (await countRows(db.pool, 'inbound_messages', 'tenant_id = $1', [tenant])) === ORDERS,
        {
          // A last guard only: the survivor first waits out the dead member's Kafka session (30 s) and the rebalance,
          // and on a starved machine that alone has taken over a minute.
          timeoutMs: 300_000,
          intervalMs: 250,
          what: `all ${ORDERS} orders recorded`,
        },
      );
      expect(await countRows(db.pool, 'cases', 'tenant_id = $1', [tenant])).toBe(ORDERS - ORDERS / 10);
      await waitFor(async () => (await countRows(db.pool, 'outbox', 'published_at IS NULL')) === 0, {
        timeoutMs: 30_000,
        what: 'outbox drained',
      });
      // Besides the cases' status events, exactly one dead-letter event per unmappable order.
      const deadLetterRows = await countRows(db.pool, 'outbox', 'tenant_id = $1 AND topic = $2', [
        tenant,
        'pa.deadletter.v1',
      ]);
      expect(deadLetterRows).toBe(ORDERS / 10);
      // One status event per case state change: as many as the cases' events, each event id once.
      const statusRows = await countRows(db.pool, 'outbox', 'tenant_id = $1 AND topic = $2', [
        tenant,
        'pa.status.v1',
      ]);
      expect(statusRows).toBe(await countRows(db.pool, 'case_events', 'tenant_id = $1', [tenant]));

      const dead: IncomingMessage[] = [];
      const reader = await bus.subscribe({
        group: uniqueName('dlq-reader'),
        topics: ['pa.deadletter.v1'],
        handle: async (m) => void dead.push(m),
      });
      await waitFor(() => new Set(dead.map((d) => d.headers[OutboxHeader.eventId])).size === ORDERS / 10, {
        timeoutMs: 60_000,
        what: 'every dead-letter event downstream',
      });
      await reader.stop();
      const eventIds = dead.map((d) => d.headers[OutboxHeader.eventId]);
      console.log(
        `[bus-gateway ${kind}] dead-letter events on the wire ${eventIds.length}, distinct ${new Set(eventIds).size}`,
      );
      if (kind === 'embedded') expect(eventIds.length).toBe(ORDERS / 10);

      b.child.kill('SIGTERM');
      await b.exited;
      expect(b.child.exitCode).toBe(0);
    },
    900_000,
  );
});
