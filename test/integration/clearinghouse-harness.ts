/**
 * Test wiring for the X12 connector: a fresh database, the simulated clearinghouse as its own process, and
 * the example payer pointed at it with test-sized timeouts and backoff.
 */
import { randomUUID } from 'node:crypto';
import { loadPayerDirectory } from '../../connectors/payer-directory.ts';
import {
  createX12Connector,
  type X12Connector,
  type X12ConnectorOptions,
  x12PayerTarget,
} from '../../connectors/x12/connector.ts';
import { createX12Store, type X12Store } from '../../connectors/x12/store.ts';
import type { AuthorizationRequest } from '../../src/canonical/types.generated.ts';
import { type Clock, systemClock } from '../../src/clock.ts';
import type { Database } from '../../src/store/index.ts';
import type { PayerCallContext } from '../../src/workflow/ports/payer-connector.ts';
import type { PayerFile, X12Channel } from '../../src/workflow/rules/types.generated.ts';
import { openTestDatabase } from '../helpers/database.ts';
import { sampleRequest } from '../helpers/fixtures.ts';
import { testVault } from '../helpers/vault.ts';
import { type SimProcess, startClearinghouseSim } from '../sim/clearinghouse/process.ts';

export const sender = { qualifier: 'ZZ', id: 'PAGATEWAY', traceOriginator: '9PAGATEWAY' } as const;

export interface Harness {
  readonly db: Database;
  readonly sim: SimProcess;
  readonly store: X12Store;
  readonly payer: PayerFile;
  connector(options?: Partial<X12ConnectorOptions>): X12Connector;
  context(payer?: PayerFile, overrides?: Partial<X12Channel>): PayerCallContext;
  /** The sample request with another member id (which picks the simulator's behaviour) and quantity. */
  request(memberId: string, extra?: Partial<AuthorizationRequest>): AuthorizationRequest;
  /** 278 review requests the payer took in (live submissions) for a trace, as the simulator saw them. */
  liveSubmissions(traceNumber: string): Promise<number>;
  close(): Promise<void>;
}

export const testChannel: Partial<X12Channel> = {
  // Generous: on a busy machine the simulator can take seconds to answer, and a timeout here would turn a plain
  // approval into the reconcile path. The slow-payer test holds its answer far longer (slowMs) to time out.
  timeoutMs: 20_000,
  retry: { maxAttempts: 3, initialBackoffMs: 5, maxBackoffMs: 20 },
  circuitBreaker: { failureThreshold: 4, cooldownMs: 60_000 },
  followUp: { inquiryIntervalMinutes: 1, maxInquiries: 5 },
};

export async function openHarness(
  options: { slowMs?: number; clock?: Clock; login?: { username: string; password: string } } = {},
): Promise<Harness> {
  const db = await openTestDatabase();
  let sim: SimProcess;
  try {
    sim = await startClearinghouseSim({
      slowMs: options.slowMs ?? 5000,
      ...(options.login ? { login: options.login } : {}),
    });
  } catch (error) {
    await db.close();
    throw error;
  }
  const directory = loadPayerDirectory(undefined, { clearinghouseEndpoints: { 'pagw-sim': sim.endpoint } });
  const payer = directory.byId('example-health-plan')!;
  const store = createX12Store(db.pool, { phi: testVault(db).phi });
  const withChannel = (p: PayerFile, overrides: Partial<X12Channel>): PayerFile => ({
    ...p,
    channels: p.channels.map((c) => (c.type === 'x12' ? { ...c, ...testChannel, ...overrides } : c)),
  });
  return {
    db,
    sim,
    store,
    payer,
    connector(connectorOptions = {}) {
      return createX12Connector({
        store,
        clock: options.clock ?? systemClock,
        sender,
        directory,
        ...connectorOptions,
      });
    },
    context(p = payer, overrides = {}) {
      return {
        tenant: 'clinic-a',
        caseId: randomUUID(),
        traceNumber: `PAGW${randomUUID().replace(/-/g, '').slice(0, 16).toUpperCase()}`,
        payer: x12PayerTarget(withChannel(p, overrides)),
        attempt: 1,
        at: new Date(),
      };
    },
    request(memberId, extra = {}) {
      const base = sampleRequest();
      return sampleRequest({
        coverage: { ...base.coverage, memberId },
        serviceLines: [
          {
            ...base.serviceLines[0]!,
            quantity: { value: 6, unit: 'UN' },
            servicePeriod: { start: '2026-03-02', end: '2026-03-31' },
          },
        ],
        ...extra,
      });
    },
    async liveSubmissions(traceNumber) {
      const received = await sim.received();
      return received.filter((r) => r.kind === '278-request' && r.traceNumber === traceNumber && r.accepted)
        .length;
    },
    async close() {
      await sim.stop();
      await db.close();
    },
  };
}
