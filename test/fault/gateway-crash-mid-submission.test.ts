/**
 * A gateway process killed (SIGKILL) after the payer took the 278 in but before its answer arrived must never
 * lead to a second live submission: the restarted gateway takes the step over when its lease runs out,
 * finds the first submission by trace number (278 inquiry) and carries the case to its decision.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { once } from 'node:events';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Database } from '../../src/store/index.ts';
import { createApiToken, migrate, openDatabase } from '../../src/store/index.ts';
import { traceNumberFor } from '../../src/workflow/case-workflow.ts';
import { cleanEnv, databaseUrlOf, pagwBin, repoRoot } from '../helpers/cli.ts';
import { openTestDatabase, testDatabaseKind } from '../helpers/database.ts';
import { buildOrmOrder } from '../helpers/hl7-orders.ts';
import { readJson } from '../helpers/http.ts';
import { waitFor } from '../helpers/store.ts';
import { type SimProcess, startClearinghouseSim } from '../sim/clearinghouse/process.ts';

describe(`gateway crash between submission and response (${testDatabaseKind()})`, () => {
  let sim: SimProcess;
  let dir: string;
  let schemaDb: Database | undefined;
  const children: ChildProcess[] = [];

  beforeAll(async () => {
    sim = await startClearinghouseSim({ slowMs: 6000 });
    dir = mkdtempSync(path.join(tmpdir(), 'pagw-crash-'));
    if (process.env.DATABASE_URL) schemaDb = await openTestDatabase();
  });
  afterAll(async () => {
    for (const child of children) if (child.exitCode === null) child.kill('SIGKILL');
    await sim?.stop();
    await schemaDb?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  const env = () =>
    cleanEnv({
      ...(schemaDb ? { DATABASE_URL: databaseUrlOf(schemaDb) } : { DATA_DIR: dir }),
      PORT: '0',
      POLL_INTERVAL_MS: '50',
      STEP_LEASE_MS: '2000',
      CLEARINGHOUSE_ENDPOINTS: `pagw-sim=${sim.endpoint}`,
    });

  async function startGatewayProcess(): Promise<{ child: ChildProcess; url: string }> {
    const child = spawn(process.execPath, [pagwBin, 'start'], {
      env: env(),
      cwd: repoRoot,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    children.push(child);
    let out = '';
    child.stdout!.on('data', (d) => {
      out += d;
    });
    child.stderr!.on('data', (d) => {
      out += d;
    });
    const url = (await waitFor(() => /listening on (http:\/\/\S+)/.exec(out)?.[1], {
      timeoutMs: 60_000,
      what: 'the gateway to start',
    })) as string;
    return { child, url };
  }

  it('the restarted gateway reconciles by trace number: exactly one live 278, case decided', async () => {
    // The token is made before the gateway starts (or through its shared database once it runs).
    const tokenDb = await openDatabase(
      schemaDb ? { databaseUrl: databaseUrlOf(schemaDb) } : { dataDir: dir },
    );
    await migrate(tokenDb.pool);
    const { token } = await createApiToken(tokenDb.pool, {
      tenant: 'clinic-a',
      roles: ['ehr'],
      at: new Date(),
    });
    await tokenDb.close();
    const headers = { authorization: `Bearer ${token}` };

    const first = await startGatewayProcess();
    const posted = await fetch(`${first.url}/orders/hl7v2`, {
      method: 'POST',
      headers: { ...headers, 'content-type': 'x-application/hl7-v2+er7' },
      body: buildOrmOrder({ messageId: `CRASH-${Date.now()}`, memberId: 'SLOW000042', cpt: '70553' }),
    });
    expect(posted.status).toBe(201);
    const caseId: string = (await readJson(posted)).caseIds[0];
    const trace = traceNumberFor(caseId);

    // The payer has taken the 278 in and is still working on its answer: kill the gateway now.
    await waitFor(
      async () =>
        (await sim.received()).some((r) => r.kind === '278-request' && r.traceNumber === trace && r.accepted),
      {
        timeoutMs: 30_000,
        what: 'the 278 at the payer',
      },
    );
    first.child.kill('SIGKILL');
    await once(first.child, 'exit');

    const second = await startGatewayProcess();
    const final = await waitFor(
      async () => {
        const c = await readJson(await fetch(`${second.url}/cases/${caseId}`, { headers }));
        return ['delivered', 'failed', 'rejected'].includes(c.state) ? c : undefined;
      },
      { timeoutMs: 60_000, what: 'the case to settle after the restart' },
    );
    expect(final).toMatchObject({ state: 'delivered', decision: { outcome: 'approved' } });
    const at = (await sim.received()).filter((r) => r.traceNumber === trace);
    expect(at.filter((r) => r.kind === '278-request' && r.accepted)).toHaveLength(1);
    expect(at.filter((r) => r.kind === '278-inquiry').length).toBeGreaterThanOrEqual(1);
    second.child.kill('SIGTERM');
    await once(second.child, 'exit');
  });
});
