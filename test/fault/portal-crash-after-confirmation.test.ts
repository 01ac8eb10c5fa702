/**
 * A gateway SIGKILLed right after the payer portal showed the confirmation number — the payer holds the request,
 * the gateway has the attempt recorded as sending and never wrote down the answer — must not submit a second
 * time after restart: the restarted gateway takes the step over when its lease runs out, SEARCHES the portal for
 * the case's trace number, finds the request, and carries on from its confirmation. Real Chromium, real processes.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { once } from 'node:events';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config/load-config.ts';
import type { Database } from '../../src/store/index.ts';
import { createApiToken, openStore } from '../../src/store/index.ts';
import { traceNumberFor } from '../../src/workflow/case-workflow.ts';
import { browserMissing } from '../helpers/browser.ts';
import { cleanEnv, databaseUrlOf, pagwBin, repoRoot } from '../helpers/cli.ts';
import { openTestDatabase, testDatabaseKind } from '../helpers/database.ts';
import { seedVault } from '../helpers/gateway.ts';
import { buildOrmOrder } from '../helpers/hl7-orders.ts';
import { readJson } from '../helpers/http.ts';
import { portalLogin, portalPayerFiles, portalSecrets, portalSeed } from '../helpers/portal.ts';
import { waitFor } from '../helpers/store.ts';
import { type PortalSimProcess, startPortalSim } from '../sim/payer-portal/process.ts';

const missing = browserMissing();

describe.skipIf(missing)(`gateway killed right after the portal confirmed (${testDatabaseKind()})`, () => {
  let sim: PortalSimProcess;
  let dir: string;
  let payersDir: string;
  let schemaDb: Database | undefined;
  const children: ChildProcess[] = [];

  beforeAll(async () => {
    sim = await startPortalSim({
      ...portalLogin,
      totpSeed: portalSeed,
      holdConfirmMs: 180_000,
    });
    dir = mkdtempSync(path.join(tmpdir(), 'pagw-portal-crash-'));
    payersDir = mkdtempSync(path.join(tmpdir(), 'pagw-portal-crash-payers-'));
    portalPayerFiles(payersDir, sim.url);
    if (process.env.DATABASE_URL) schemaDb = await openTestDatabase();
  });
  afterAll(async () => {
    for (const child of children) if (child.exitCode === null) child.kill('SIGKILL');
    await sim?.stop();
    await schemaDb?.close();
    rmSync(dir, { recursive: true, force: true });
    rmSync(payersDir, { recursive: true, force: true });
  });

  const envVars = () => ({
    ...(schemaDb ? { DATABASE_URL: databaseUrlOf(schemaDb) } : {}),
    DATA_DIR: dir,
    PORT: '0',
    POLL_INTERVAL_MS: '50',
    STEP_LEASE_MS: '3000',
    PAYERS_DIR: payersDir,
  });

  async function startGatewayProcess(): Promise<{ child: ChildProcess; url: string }> {
    const child = spawn(process.execPath, [pagwBin, 'start'], {
      env: cleanEnv(envVars()),
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
      timeoutMs: 90_000,
      what: `the gateway to start: ${out}`,
    })) as string;
    return { child, url };
  }

  it('after restart the portal is searched, the confirmation taken, and nothing is submitted twice', async () => {
    const config = loadConfig({ env: envVars() });
    await seedVault(config, portalSecrets('clinic-a'));
    const tokenDb = await openStore({ databaseUrl: config.databaseUrl, dataDir: config.dataDir });
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
      body: buildOrmOrder({
        messageId: `PORTAL-CRASH-${Date.now()}`,
        memberId: 'SHOWNHOLD42',
        cpt: '70553',
        payerId: 'PORTALONLY',
      }),
    });
    expect(posted.status).toBe(201);
    const caseId: string = (await readJson(posted)).caseIds[0];
    const trace = traceNumberFor(caseId);

    // The portal has taken the request and shown its confirmation number: kill the gateway now.
    await waitFor(
      async () => (await sim.submissions()).some((s) => s.reference === trace && s.confirmationShown),
      { timeoutMs: 120_000, what: 'the confirmation at the portal' },
    );
    first.child.kill('SIGKILL');
    await once(first.child, 'exit');

    const second = await startGatewayProcess();
    const settled = await waitFor(
      async () => {
        const c = await readJson(await fetch(`${second.url}/cases/${caseId}`, { headers }));
        return ['pended', 'decided', 'delivered', 'failed', 'rejected'].includes(c.state) ? c : undefined;
      },
      { timeoutMs: 180_000, what: 'the case to move on after the restart' },
    );
    const held = (await sim.submissions()).filter((s) => s.reference === trace);
    expect(held).toHaveLength(1);
    expect(settled).toMatchObject({
      state: 'pended',
      channel: 'portal',
      decision: { outcome: 'pended', administrativeReference: held[0]!.confirmation },
    });
    second.child.kill('SIGTERM');
    await once(second.child, 'exit');
  });
});
