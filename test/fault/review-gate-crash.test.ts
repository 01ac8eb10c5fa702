/**
 * Retry paths of the review gate with a real gateway PROCESS killed (SIGKILL) at the worst moments: right after
 * a reviewer's approval committed, and after the approved 278 reached the payer but before its answer. The
 * restarted gateway must neither ask for the approval again nor submit twice: exactly one approval, at most one
 * live submission — and the case's retry context says so.
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

describe(`review gate: gateway killed around an approval (${testDatabaseKind()})`, () => {
  let sim: SimProcess;
  let dir: string;
  let schemaDb: Database | undefined;
  let ehr: Record<string, string>;
  let reviewer: Record<string, string>;
  const children: ChildProcess[] = [];

  const env = () =>
    cleanEnv({
      ...(schemaDb ? { DATABASE_URL: databaseUrlOf(schemaDb) } : { DATA_DIR: dir }),
      PORT: '0',
      POLL_INTERVAL_MS: '50',
      STEP_LEASE_MS: '2000',
      CLEARINGHOUSE_ENDPOINTS: `pagw-sim=${sim.endpoint}`,
    });

  beforeAll(async () => {
    sim = await startClearinghouseSim({ slowMs: 6000 });
    dir = mkdtempSync(path.join(tmpdir(), 'pagw-review-crash-'));
    if (process.env.DATABASE_URL) schemaDb = await openTestDatabase();
    const db = await openDatabase(schemaDb ? { databaseUrl: databaseUrlOf(schemaDb) } : { dataDir: dir });
    await migrate(db.pool);
    const token = async (roles: Parameters<typeof createApiToken>[1]['roles'], userId?: string) => ({
      authorization: `Bearer ${(await createApiToken(db.pool, { tenant: 'clinic-a', roles, ...(userId ? { userId } : {}), at: new Date() })).token}`,
      'content-type': 'application/json',
    });
    ehr = await token(['ehr']);
    reviewer = await token(['utilization_reviewer'], 'ur.nurse@goodhealth.example.org');
    await db.close();
  });
  afterAll(async () => {
    for (const child of children) if (child.exitCode === null) child.kill('SIGKILL');
    await sim?.stop();
    await schemaDb?.close();
    rmSync(dir, { recursive: true, force: true });
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

  async function kill(child: ChildProcess): Promise<void> {
    child.kill('SIGKILL');
    if (child.exitCode === null) await once(child, 'exit');
  }

  async function caseWhen(url: string, id: string, done: (c: { state: string }) => boolean) {
    return waitFor(
      async () => {
        const c = await readJson(await fetch(`${url}/cases/${id}`, { headers: ehr }));
        return done(c) ? c : undefined;
      },
      { timeoutMs: 90_000, what: `case ${id}` },
    );
  }

  async function orderAndReview(url: string, memberId: string) {
    const posted = await fetch(`${url}/orders/hl7v2`, {
      method: 'POST',
      headers: { ...ehr, 'content-type': 'x-application/hl7-v2+er7' },
      body: buildOrmOrder({
        messageId: `RCRASH-${Date.now()}-${memberId}`,
        memberId,
        cpt: '63030',
        cptText: 'Laminotomy',
      }),
    });
    expect(posted.status).toBe(201);
    const id: string = (await readJson(posted)).caseIds[0];
    await caseWhen(url, id, (c) => c.state === 'awaiting_review');
    const queue = await readJson(await fetch(`${url}/review/queue`, { headers: reviewer }));
    const item = queue.items.find((i: { id: string }) => i.id === id);
    return { id, item };
  }

  /** On a failure, say how the case ended: its last events with their data (codes and reasons, no PHI). */
  const howItEnded = (c: { events: Array<{ event: string; data: unknown }> }) =>
    JSON.stringify(c.events.slice(-4).map((e) => ({ event: e.event, data: e.data })));

  async function settledAfterRestart(id: string) {
    const second = await startGatewayProcess();
    try {
      const final = await caseWhen(second.url, id, (c) =>
        ['delivered', 'failed', 'rejected'].includes(c.state),
      );
      const received = (await sim.received()).filter((r) => r.traceNumber === traceNumberFor(id));
      return { final, received, url: second.url };
    } finally {
      second.child.kill('SIGTERM');
      await once(second.child, 'exit');
    }
  }

  it('killed right after the approval committed: the restarted gateway submits once, without asking again', async () => {
    const first = await startGatewayProcess();
    const { id, item } = await orderAndReview(first.url, 'W260000001');
    const approved = await fetch(`${first.url}/cases/${id}/review`, {
      method: 'POST',
      headers: reviewer,
      body: JSON.stringify({ action: 'approve', ...item.mustRepeat }),
    });
    expect(approved.status).toBe(200);
    await kill(first.child);

    const { final, received } = await settledAfterRestart(id);
    expect(final.state, howItEnded(final)).toBe('delivered');
    expect(received.filter((r) => r.kind === '278-request' && r.accepted)).toHaveLength(1);
    expect(final.events.filter((e: { event: string }) => e.event === 'review_requested')).toHaveLength(1);
    expect(final.retryContext).toMatchObject({
      gates: { count: 1, open: null },
      lastDecision: { action: 'approve', by: 'user:ur.nurse@goodhealth.example.org' },
      approval: {
        landed: true,
        approvers: ['user:ur.nurse@goodhealth.example.org'],
        submissionKey: item.submissionKey,
      },
      submission: {
        fired: true,
        live: true,
        traceNumber: traceNumberFor(id),
        submissionKey: item.submissionKey,
      },
    });
    expect(final.retryContext.submission.confirmation.certificationNumber).toMatch(/^SIMCERT/);
  });

  it('killed after the approved 278 reached the payer: the restart reconciles, one live submission, one approval', async () => {
    const first = await startGatewayProcess();
    const { id, item } = await orderAndReview(first.url, 'SLOW000261');
    await fetch(`${first.url}/cases/${id}/review`, {
      method: 'POST',
      headers: reviewer,
      body: JSON.stringify({ action: 'approve', ...item.mustRepeat }),
    });
    await waitFor(
      async () =>
        (await sim.received()).some(
          (r) => r.kind === '278-request' && r.traceNumber === traceNumberFor(id) && r.accepted,
        ),
      { timeoutMs: 30_000, what: 'the 278 at the payer' },
    );
    await kill(first.child);

    const { final, received } = await settledAfterRestart(id);
    expect(final.state, howItEnded(final)).toBe('delivered');
    expect(received.filter((r) => r.kind === '278-request' && r.accepted)).toHaveLength(1);
    expect(final.retryContext).toMatchObject({
      gates: { count: 1 },
      approval: { landed: true, approvers: ['user:ur.nurse@goodhealth.example.org'] },
      submission: { fired: true, live: true },
    });
    // The first attempt and what the restart did about it (a reconciling inquiry or a second, reconciled attempt).
    expect(final.retryContext.attempts.x12.total).toBeGreaterThanOrEqual(3);
    expect(final.retryContext.attempts.x12.byPurpose.eligibility).toBe(1);
  });
});
