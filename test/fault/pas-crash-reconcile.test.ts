/**
 * A crash between a PAS $submit and its answer never leads to a second live submission. A separate gateway process
 * submits to the simulated PAS payer (a slow payer that holds its answer) and is SIGKILLed after the payer took the
 * request in, leaving its attempt recorded as `sending`. The next submit() for the case must find the request by
 * $inquire (its Claim identifier) and return the payer's answer — and the payer must hold exactly one request.
 * Runs on PGlite (served over its socket to the child) and PostgreSQL.
 */
import { spawn } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createPasConnector, pasPayerTarget } from '../../connectors/pas/connector.ts';
import { createX12Store, type X12Store } from '../../connectors/x12/store.ts';
import { systemClock } from '../../src/clock.ts';
import type { Database } from '../../src/store/index.ts';
import { traceNumberFor } from '../../src/workflow/case-workflow.ts';
import type { PasChannel } from '../../src/workflow/rules/types.generated.ts';
import { databaseUrlOf } from '../helpers/cli.ts';
import { openTestDatabase } from '../helpers/database.ts';
import { sampleRequest } from '../helpers/fixtures.ts';
import { createPasClientKeys, pasChannelFor, pasPayerFor, startPasSimWithClient } from '../helpers/pas.ts';
import { waitFor } from '../helpers/store.ts';
import { testVault } from '../helpers/vault.ts';
import type { PasSimProcess } from '../sim/pas-payer/process.ts';

let db: Database;
let sim: PasSimProcess;
let store: X12Store;
let channel: PasChannel;

beforeAll(async () => {
  const keys = await createPasClientKeys('RS384');
  db = await openTestDatabase();
  sim = await startPasSimWithClient(keys, { slowMs: 60_000 });
  store = createX12Store(db.pool, { phi: testVault(db).phi });
  channel = pasChannelFor(sim, keys);
});
afterAll(async () => {
  await sim?.stop();
  await db?.close();
});

describe('PAS submission survives a gateway crash between $submit and its answer', () => {
  it('reconciles the orphaned attempt with $inquire instead of submitting again', async () => {
    const caseId = randomUUID();
    const traceNumber = traceNumberFor(caseId);
    const memberId = 'SLOWCRASH1';
    const child = spawn(
      process.execPath,
      ['--import', 'tsx', path.join(import.meta.dirname, 'pas-submit-child.ts')],
      {
        env: {
          ...process.env,
          PAGW_CHILD: JSON.stringify({
            databaseUrl: databaseUrlOf(db),
            masterKey: testVault(db).keys.current.key.toString('hex'),
            channel,
            caseId,
            traceNumber,
            memberId,
          }),
        },
        stdio: ['ignore', 'pipe', 'pipe'],
      },
    );
    let output = '';
    child.stdout.on('data', (d) => {
      output += d;
    });
    child.stderr.on('data', (d) => {
      output += d;
    });
    const exited = new Promise<NodeJS.Signals | null>((resolve) =>
      child.once('exit', (_code, signal) => resolve(signal)),
    );

    // The payer has taken the request in and is holding its answer: kill the gateway now.
    await waitFor(
      async () =>
        (await sim.received()).find(
          (r) => r.kind === 'submit' && r.accepted && r.key?.endsWith(`|${traceNumber}`),
        ),
      { timeoutMs: 60_000, what: 'the payer taking the request in' },
    );
    child.kill('SIGKILL');
    expect(await exited).toBe('SIGKILL');
    expect(output).not.toContain('"kind"');
    expect(await store.latest(caseId, 'submit')).toMatchObject({
      attempt: 1,
      status: 'sending',
      traceNumber,
    });

    // The gateway comes back and the workflow submits the case again.
    const base = sampleRequest();
    const outcome = await createPasConnector({ store, clock: systemClock }).submit(
      sampleRequest({ coverage: { ...base.coverage, memberId } }),
      {
        tenant: 'clinic-a',
        caseId,
        traceNumber,
        payer: pasPayerTarget(pasPayerFor(channel)),
        attempt: 2,
        at: new Date(),
      },
    );
    expect(outcome.kind === 'decided' && outcome.decision.outcome).toBe('approved');

    const mine = (await sim.received()).filter((r) => r.key?.endsWith(`|${traceNumber}`));
    expect(mine.filter((r) => r.kind === 'submit' && r.accepted)).toHaveLength(1);
    expect(mine.map((r) => r.kind)).toEqual(['submit', 'inquire']);
    expect((await store.forCase(caseId)).map((r) => [r.purpose, r.attempt, r.status])).toEqual([
      ['submit', 1, 'answered'],
      ['reconcile', 1, 'answered'],
    ]);
  });

  it('sends nothing while the payer cannot be asked: the orphan stays unresolved and the call fails retriably', async () => {
    const caseId = randomUUID();
    const traceNumber = traceNumberFor(caseId);
    await store.recordAttempt({
      tenant: 'clinic-a',
      caseId,
      payerId: 'insurer-example-pas',
      channel: 'pas',
      purpose: 'submit',
      traceNumber,
      request: '{"recorded, then the process died": true}',
      at: new Date(),
    });
    const base = sampleRequest();
    await expect(
      createPasConnector({ store, clock: systemClock, sleep: async () => {} }).submit(
        sampleRequest({ coverage: { ...base.coverage, memberId: 'UNAVAIL9' } }),
        {
          tenant: 'clinic-a',
          caseId,
          traceNumber,
          payer: pasPayerTarget(pasPayerFor(channel)),
          attempt: 2,
          at: new Date(),
        },
      ),
    ).rejects.toMatchObject({ retriable: true });
    expect(
      (await sim.received()).filter((r) => r.kind === 'submit' && r.key?.endsWith(`|${traceNumber}`)),
    ).toHaveLength(0);
    expect(await store.latest(caseId, 'submit')).toMatchObject({ status: 'sending' });
  });
});
