/**
 * A crash between submission and response never leads to a second live submission. A separate gateway process
 * submits a 278 to the simulated clearinghouse (a slow payer that holds its answer) and is SIGKILLed after the
 * payer took the request in, leaving its attempt recorded as `sending`. The next submit() for the case must
 * find the trace by a 278 inquiry and return the payer's answer — and the payer must hold exactly one request.
 */
import { spawn } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { x12PayerTarget } from '../../connectors/x12/connector.ts';
import { databaseUrlOf } from '../helpers/cli.ts';
import { testVault } from '../helpers/vault.ts';
import { type Harness, openHarness } from '../integration/clearinghouse-harness.ts';

let h: Harness;
beforeAll(async () => {
  h = await openHarness({ slowMs: 60_000 });
});
afterAll(async () => {
  await h?.close();
});

async function until<T>(probe: () => Promise<T | undefined>, timeoutMs = 240_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error('condition not reached in time');
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

describe('x12 submission survives a gateway crash between submission and response', () => {
  it('reconciles the orphaned attempt by trace number instead of submitting again', async () => {
    const caseId = randomUUID();
    const traceNumber = `PAGWCRASH${caseId.slice(0, 8).toUpperCase()}`;
    const memberId = 'SLOWCRASH1';
    const child = spawn(
      process.execPath,
      ['--import', 'tsx', path.join(import.meta.dirname, 'x12-submit-child.ts')],
      {
        env: {
          ...process.env,
          PAGW_CHILD: JSON.stringify({
            databaseUrl: databaseUrlOf(h.db),
            masterKey: testVault(h.db).keys.current.key.toString('hex'),
            endpoint: h.sim.endpoint,
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
    await until(async () => {
      const received = await h.sim.received();
      return received.find((r) => r.traceNumber === traceNumber && r.kind === '278-request' && r.accepted);
    });
    child.kill('SIGKILL');
    expect(await exited).toBe('SIGKILL');
    expect(output).not.toContain('"kind"');

    const orphan = await h.store.latest(caseId, 'submit');
    expect(orphan).toMatchObject({ attempt: 1, status: 'sending', traceNumber });

    // The gateway comes back and the workflow submits the case again.
    const ctx = {
      tenant: 'clinic-a',
      caseId,
      traceNumber,
      payer: x12PayerTarget(h.payer),
      attempt: 2,
      at: new Date(),
    };
    const outcome = await h.connector().submit(h.request(memberId), ctx);
    expect(outcome.kind === 'decided' && outcome.decision.outcome).toBe('approved');

    expect(await h.liveSubmissions(traceNumber)).toBe(1);
    const kinds = (await h.sim.received()).filter((r) => r.traceNumber === traceNumber).map((r) => r.kind);
    expect(kinds).toEqual(['278-request', '278-inquiry']);
    const rows = await h.store.forCase(caseId);
    expect(rows.map((r) => [r.purpose, r.attempt, r.status])).toEqual([
      ['submit', 1, 'answered'],
      ['reconcile', 1, 'answered'],
    ]);
  });

  it('sends nothing while the payer cannot be asked: the orphan stays unresolved and the call fails retriably', async () => {
    const caseId = randomUUID();
    const traceNumber = `PAGWORPHAN${caseId.slice(0, 8).toUpperCase()}`;
    await h.store.recordAttempt({
      tenant: 'clinic-a',
      caseId,
      payerId: 'example-health-plan',
      channel: 'x12',
      purpose: 'submit',
      traceNumber,
      request: 'ISA*(recorded, then the process died)',
      at: new Date(),
    });
    const ctx = {
      tenant: 'clinic-a',
      caseId,
      traceNumber,
      payer: x12PayerTarget(h.payer),
      attempt: 2,
      at: new Date(),
    };
    let thrown: unknown;
    try {
      await h
        .connector()
        .submit(h.request('FAIL5XXORPHAN'), { ...ctx, payer: { ...ctx.payer, id: 'orphan-payer' } });
    } catch (error) {
      thrown = error;
    }
    expect(thrown).toMatchObject({ retriable: true });
    const received = (await h.sim.received()).filter((r) => r.traceNumber === traceNumber);
    expect(received.map((r) => r.kind).every((k) => k === '278-inquiry')).toBe(true);
    expect((await h.store.latest(caseId, 'submit'))?.status).toBe('sending');
  });
});
