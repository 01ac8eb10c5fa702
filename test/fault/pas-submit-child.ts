/**
 * A gateway process that submits one PAS request and is killed by the test before the answer arrives
 * (test/fault/pas-crash-reconcile.test.ts). Input as JSON in PAGW_CHILD (database URL, payer channel, case,
 * trace, member); prints `submitting` when it starts and the outcome if it ever gets one.
 */
import { createPasConnector, pasPayerTarget } from '../../connectors/pas/connector.ts';
import { createX12Store } from '../../connectors/x12/store.ts';
import { systemClock } from '../../src/clock.ts';
import { openDatabase } from '../../src/store/index.ts';
import { createVault, masterKeyRingOf } from '../../src/vault/index.ts';
import type { PasChannel } from '../../src/workflow/rules/types.generated.ts';
import { sampleRequest } from '../helpers/fixtures.ts';
import { pasPayerFor } from '../helpers/pas.ts';

const input = JSON.parse(process.env.PAGW_CHILD ?? '{}') as {
  databaseUrl: string;
  /** The parent's vault master key (hex): the child seals payloads the parent must open. */
  masterKey: string;
  channel: PasChannel;
  caseId: string;
  traceNumber: string;
  memberId: string;
};
const db = await openDatabase({ databaseUrl: input.databaseUrl, poolSize: 2 });
const phi = createVault({
  pool: db.pool,
  keys: masterKeyRingOf([Buffer.from(input.masterKey, 'hex')]),
  clock: systemClock,
}).phi;
const connector = createPasConnector({ store: createX12Store(db.pool, { phi }), clock: systemClock });
const base = sampleRequest();
process.stdout.write('submitting\n');
const outcome = await connector.submit(
  sampleRequest({ coverage: { ...base.coverage, memberId: input.memberId } }),
  {
    tenant: 'clinic-a',
    caseId: input.caseId,
    traceNumber: input.traceNumber,
    payer: pasPayerTarget(pasPayerFor({ ...input.channel, timeoutMs: 120_000, retry: { maxAttempts: 1 } })),
    attempt: 1,
    at: new Date(),
  },
);
process.stdout.write(`${JSON.stringify(outcome)}\n`);
await db.close();
