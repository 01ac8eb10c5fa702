/**
 * The PAS connector keeps the same PayerConnector contract as the X12 one (connector-contract.ts), against the
 * simulated PAS payer as its own process, with real SMART Backend Services auth (RS384 client assertion).
 */
import { randomUUID } from 'node:crypto';
import { createPasConnector, pasPayerTarget } from '../../connectors/pas/connector.ts';
import { createX12Store } from '../../connectors/x12/store.ts';
import { systemClock } from '../../src/clock.ts';
import { traceNumberFor } from '../../src/workflow/case-workflow.ts';
import { openTestDatabase } from '../helpers/database.ts';
import { sampleRequest } from '../helpers/fixtures.ts';
import { createPasClientKeys, pasChannelFor, pasPayerFor, startPasSimWithClient } from '../helpers/pas.ts';
import { testVault } from '../helpers/vault.ts';
import { type ContractScenario, connectorContract } from './connector-contract.ts';

const members: Record<ContractScenario, string> = {
  approve: 'W100',
  deny: 'DENY100',
  pend: 'PEND100',
  unreachable: 'UNAVAIL100',
  aaa: 'REJECT100',
};

connectorContract('pas via the simulated PAS payer', async () => {
  const keys = await createPasClientKeys('RS384');
  const db = await openTestDatabase();
  const sim = await startPasSimWithClient(keys);
  const payer = pasPayerFor(pasChannelFor(sim, keys));
  const connector = createPasConnector({
    store: createX12Store(db.pool, { phi: testVault(db).phi }),
    clock: systemClock,
  });
  return {
    connector,
    context() {
      const caseId = randomUUID();
      return {
        tenant: 'clinic-a',
        caseId,
        traceNumber: traceNumberFor(caseId),
        payer: pasPayerTarget(payer),
        attempt: 1,
        at: new Date(),
      };
    },
    request(scenario) {
      const base = sampleRequest();
      return sampleRequest({ coverage: { ...base.coverage, memberId: members[scenario] } });
    },
    async liveSubmissions(trace) {
      return (await sim.received()).filter(
        (r) => r.kind === 'submit' && r.accepted && r.key?.endsWith(`|${trace}`),
      ).length;
    },
    async close() {
      await sim.stop();
      await db.close();
    },
  };
});
