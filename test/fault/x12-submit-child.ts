/**
 * A gateway process that submits one 278 and is killed by the test before the answer arrives
 * (test/fault/x12-crash-reconcile.test.ts). Input as JSON in PAGW_CHILD (database URL, endpoint, case, trace,
 * member); prints `submitting` when it starts and the outcome if it ever gets one.
 */
import { loadPayerDirectory } from '../../connectors/payer-directory.ts';
import { createX12Connector, x12PayerTarget } from '../../connectors/x12/connector.ts';
import { createX12Store } from '../../connectors/x12/store.ts';
import { systemClock } from '../../src/clock.ts';
import { openDatabase } from '../../src/store/index.ts';
import { createVault, masterKeyRingOf } from '../../src/vault/index.ts';
import { sampleRequest } from '../helpers/fixtures.ts';

const input = JSON.parse(process.env.PAGW_CHILD ?? '{}') as {
  databaseUrl: string;
  /** The parent's vault master key (hex): the child seals payloads the parent must open. */
  masterKey: string;
  endpoint: string;
  caseId: string;
  traceNumber: string;
  memberId: string;
};
const db = await openDatabase({ databaseUrl: input.databaseUrl, poolSize: 2 });
const directory = loadPayerDirectory(undefined, { clearinghouseEndpoints: { 'pagw-sim': input.endpoint } });
const payer = directory.byId('example-health-plan')!;
const target = x12PayerTarget({
  ...payer,
  channels: payer.channels.map((c) =>
    c.type === 'x12' ? { ...c, timeoutMs: 120_000, retry: { maxAttempts: 1 } } : c,
  ),
});
const connector = createX12Connector({
  store: createX12Store(db.pool, {
    phi: createVault({
      pool: db.pool,
      keys: masterKeyRingOf([Buffer.from(input.masterKey, 'hex')]),
      clock: systemClock,
    }).phi,
  }),
  clock: systemClock,
  sender: { qualifier: 'ZZ', id: 'PAGATEWAY', traceOriginator: '9PAGATEWAY' },
  directory,
});
const base = sampleRequest();
process.stdout.write('submitting\n');
const outcome = await connector.submit(
  sampleRequest({ coverage: { ...base.coverage, memberId: input.memberId } }),
  {
    tenant: 'clinic-a',
    caseId: input.caseId,
    traceNumber: input.traceNumber,
    payer: target,
    attempt: 1,
    at: new Date(),
  },
);
process.stdout.write(`${JSON.stringify(outcome)}\n`);
await db.close();
