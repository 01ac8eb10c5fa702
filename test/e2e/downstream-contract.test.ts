/**
 * Contract tests from a downstream system's seat: subscribe to pa.claimresponse.v1 and pa.status.v1 the way an
 * EHR integration or an ERP would (own consumer group, on the embedded bus and on Kafka), drive real orders
 * through the gateway and the simulated clearinghouse, and check every event: ClaimResponses against the FHIR R4
 * definitions, status events against schemas/events/status.v1.json; each state change published once (a repeat
 * only ever with the same event id), keyed by case id, in the case's own order.
 */
import { Ajv2020 } from 'ajv/dist/2020.js';
import addFormatsModule from 'ajv-formats';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import statusSchema from '../../schemas/events/status.v1.json' with { type: 'json' };
import type { IncomingMessage } from '../../src/bus/port.ts';
import { r4Problems } from '../../src/outbound/fhir-r4.ts';
import { OutboxHeader } from '../../src/store/outbox.ts';
import { testDatabaseKind } from '../helpers/database.ts';
import { startTestGateway, type TestGateway } from '../helpers/gateway.ts';
import { buildOrmOrder } from '../helpers/hl7-orders.ts';
import { readJson } from '../helpers/http.ts';
import { type KafkaTestCluster, kafkaUnavailableReason, startKafka, uniqueName } from '../helpers/kafka.ts';
import { serviceMissing } from '../helpers/services.ts';
import { waitFor } from '../helpers/store.ts';
import { type SimProcess, startClearinghouseSim } from '../sim/clearinghouse/process.ts';

const addFormats = addFormatsModule as unknown as typeof addFormatsModule.default;
const ajv = new Ajv2020({ allErrors: true, strict: false });
addFormats(ajv);
const validateStatus = ajv.compile(statusSchema);

const kafkaReason = kafkaUnavailableReason();
const kafkaMissing = kafkaReason !== undefined && serviceMissing('a Kafka-protocol broker', kafkaReason);
const settled = new Set(['delivered', 'rejected', 'failed', 'not_required']);
const topicNames = [
  'pa.orders.hl7v2',
  'pa.orders.fhir',
  'pa.claimresponse.v1',
  'pa.status.v1',
  'pa.deadletter.v1',
  'pa.notify.email.v1',
  'pa.hl7v2.status.v1',
];

describe.each([
  { bus: 'embedded', skip: false },
  { bus: 'kafka', skip: kafkaMissing },
])(`downstream contract on the $bus bus (${testDatabaseKind()})`, ({ bus, skip }) => {
  let sim: SimProcess;
  let cluster: KafkaTestCluster | undefined;
  let gw: TestGateway;
  const seen: IncomingMessage[] = [];
  const stops: Array<() => Promise<void>> = [];

  beforeAll(async () => {
    if (skip) return;
    sim = await startClearinghouseSim({ slowMs: 500 });
    const env: Record<string, string> = { CLEARINGHOUSE_ENDPOINTS: `pagw-sim=${sim.endpoint}` };
    if (bus === 'kafka') {
      const prefix = `${uniqueName('c')}.`;
      cluster = await startKafka(topicNames.map((name) => ({ name: prefix + name, partitions: 3 })));
      Object.assign(env, { KAFKA_BROKERS: cluster.brokers.join(','), KAFKA_TOPIC_PREFIX: prefix });
    }
    gw = await startTestGateway({ env });
    const subscription = await gw.gateway.eventBus.subscribe({
      group: uniqueName('downstream'),
      topics: ['pa.claimresponse.v1', 'pa.status.v1'],
      fromBeginning: true,
      handle: async (message) => {
        seen.push(message);
      },
    });
    stops.push(() => subscription.stop());
  });
  afterAll(async () => {
    for (const stop of stops) await stop();
    await gw?.stop();
    await cluster?.stop();
    await sim?.stop();
  });

  it.skipIf(skip)(
    'publishes every state change once, valid against its contract, keyed and ordered by case',
    async () => {
      const orders = [
        ['W200000001', '70553'],
        ['DENY000002', '70553'],
        ['PEND000002', '70553'],
        ['AAA0000002', '70553'],
        ['W200000002', '99213'],
      ] as const;
      const caseIds: string[] = [];
      for (const [i, [memberId, cpt]] of orders.entries()) {
        const res = await gw.postHl7(
          buildOrmOrder({ messageId: `CONTRACT-${bus}-${Date.now()}-${i}`, memberId, cpt }),
        );
        expect(res.status).toBe(201);
        caseIds.push((await readJson(res)).caseIds[0]);
      }
      const cases = (await waitFor(
        async () => {
          const all = await Promise.all(caseIds.map(async (id) => readJson(await gw.get(`/cases/${id}`))));
          return all.every((c) => settled.has(c.state) || c.state === 'pended') ? all : undefined;
        },
        { timeoutMs: 60_000, what: 'every case to settle' },
      ))!;
      const expectedEvents = cases.reduce((sum, c) => sum + c.events.length, 0);
      await waitFor(
        () =>
          new Set(
            seen.filter((m) => m.topic.endsWith('pa.status.v1')).map((m) => m.headers[OutboxHeader.eventId]),
          ).size >= expectedEvents,
        {
          timeoutMs: 30_000,
          what: `${expectedEvents} status events downstream`,
        },
      );

      // A repeat (at-least-once delivery) may only ever carry the same event id and the same bytes.
      const byEventId = new Map<string, IncomingMessage>();
      for (const message of seen) {
        const id = message.headers[OutboxHeader.eventId];
        expect(id, 'every event carries an event id').toBeTruthy();
        const earlier = byEventId.get(id!);
        if (earlier) expect(earlier.value.equals(message.value)).toBe(true);
        byEventId.set(id!, message);
      }
      const unique = [...byEventId.values()];

      for (const record of cases) {
        const statusEvents = unique
          .filter((m) => m.topic.endsWith('pa.status.v1') && m.key === record.id)
          .map((m) => JSON.parse(m.value.toString('utf8')));
        for (const event of statusEvents)
          expect(validateStatus(event), JSON.stringify(validateStatus.errors)).toBe(true);
        // Exactly one status event per case event (state change), in the case's order.
        const versions = statusEvents.map((e) => e.caseVersion ?? e.version);
        expect(statusEvents).toHaveLength(record.events.length);
        expect(versions, 'status events arrive in the case’s order').toEqual(
          record.events.map((e: { seq: number }) => e.seq),
        );

        const claimResponses = unique
          .filter((m) => m.topic.endsWith('pa.claimresponse.v1') && m.key === record.id)
          .map((m) => JSON.parse(m.value.toString('utf8')));
        const decisionsMade = record.events.filter(
          (e: { toState: string }) => e.toState === 'pended' || e.toState === 'decided',
        ).length;
        expect(claimResponses).toHaveLength(decisionsMade);
        for (const claimResponse of claimResponses) {
          expect(claimResponse).toMatchObject({ resourceType: 'ClaimResponse', use: 'preauthorization' });
          expect(r4Problems(claimResponse)).toEqual([]);
        }
      }
      const approved = cases.find((c) => c.decision?.outcome === 'approved')!;
      const approvedResponse = unique.find(
        (m) => m.topic.endsWith('pa.claimresponse.v1') && m.key === approved.id,
      )!;
      expect(JSON.parse(approvedResponse.value.toString('utf8')).preAuthRef).toBe(
        approved.decision.certificationNumber,
      );
    },
  );
});
