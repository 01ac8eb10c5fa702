/**
 * A payer's changed decision, end to end with real parts (issue #14 item 4, `decision_updated`): the payer (the
 * simulated clearinghouse, a separate process) approves a request, the case is delivered; the payer then changes its
 * decision; the gateway asks again on the payer's schedule (followUp.recheckAfterDecisionHours, the clock moved on),
 * records `decision_updated` on the delivered case and publishes it — a status event and a ClaimResponse with the new
 * outcome — and a denial opens an appeal_consideration task. An unchanged answer publishes nothing.
 */
import { cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { OffsetClock } from '../../src/clock.ts';
import { traceNumberFor } from '../../src/workflow/case-workflow.ts';
import { testDatabaseKind } from '../helpers/database.ts';
import { startTestGateway, type TestGateway } from '../helpers/gateway.ts';
import { buildOrmOrder } from '../helpers/hl7-orders.ts';
import { readJson } from '../helpers/http.ts';
import { waitFor } from '../helpers/store.ts';
import { type SimProcess, startClearinghouseSim } from '../sim/clearinghouse/process.ts';

describe(`a payer's changed decision (${testDatabaseKind()})`, () => {
  let sim: SimProcess;
  let gw: TestGateway;
  let payersDir: string;
  const clock = new OffsetClock();
  let n = 0;

  beforeAll(async () => {
    // The shipped payer directory, with Example Health Plan asking again 24 h after a decision.
    payersDir = mkdtempSync(path.join(tmpdir(), 'pagw-payers-'));
    cpSync(path.join(import.meta.dirname, '..', '..', 'payers'), payersDir, { recursive: true });
    const file = path.join(payersDir, 'example-health-plan.json');
    const payer = JSON.parse(readFileSync(file, 'utf8'));
    payer.channels[0].followUp.recheckAfterDecisionHours = 24;
    writeFileSync(file, JSON.stringify(payer, null, 2));
    sim = await startClearinghouseSim({ slowMs: 500 });
    gw = await startTestGateway({
      clock,
      env: {
        CLEARINGHOUSE_ENDPOINTS: `pagw-sim=${sim.endpoint}`,
        STEP_LEASE_MS: '20000',
        PAYERS_DIR: payersDir,
      },
    });
  });
  afterAll(async () => {
    await gw?.stop();
    await sim?.stop();
    if (payersDir) rmSync(payersDir, { recursive: true, force: true });
  });

  const order = async (memberId: string) => {
    n++;
    const res = await gw.postHl7(
      buildOrmOrder({ messageId: `UPD-${Date.now()}-${n}`, memberId, cpt: '70553', quantity: 2 }),
    );
    expect(res.status).toBe(201);
    return (await readJson(res)).caseIds[0] as string;
  };
  // biome-ignore lint/suspicious/noExplicitAny: a case as the API returns it, navigated by assertions
  const caseWhen = (id: string, done: (c: any) => boolean) =>
    waitFor(
      async () => {
        const c = await readJson(await gw.get(`/cases/${id}`));
        return done(c) ? c : undefined;
      },
      { timeoutMs: 60_000, what: `case ${id}` },
    );
  const outbox = async (caseId: string, topic: string) =>
    (
      await gw.gateway.db.pool.query<{ value: Buffer; published_at: Date | null }>(
        'SELECT value, published_at FROM outbox WHERE case_id = $1 AND topic = $2 ORDER BY id',
        [caseId, topic],
      )
    ).rows.map((row) => ({
      value: JSON.parse(row.value.toString('utf8')),
      published: row.published_at !== null,
    }));
  const inquiries = async (caseId: string) =>
    (await sim.received()).filter(
      (r) => r.kind === '278-inquiry' && r.traceNumber === traceNumberFor(caseId),
    );

  it('an approval the payer turns into a denial is recorded as decision_updated and published', async () => {
    const changed = await order('W300000001');
    const unchanged = await order('W300000002');
    await caseWhen(changed, (c) => c.state === 'delivered');
    await caseWhen(unchanged, (c) => c.state === 'delivered');
    expect(await inquiries(changed)).toHaveLength(0);
    await sim.changeDecision(traceNumberFor(changed), 'deny');

    clock.advance(25 * 3_600_000);
    // (The case and its events are read apart: wait for both to show the change.)
    const updated = await caseWhen(
      changed,
      (c) => c.events.at(-1).event === 'decision_updated' && c.decision?.outcome === 'denied',
    );
    expect(updated.state).toBe('delivered');
    expect(updated.events.at(-1)).toMatchObject({
      fromState: 'delivered',
      toState: 'delivered',
      data: { previousOutcome: 'approved', outcome: 'denied', reviewActionCode: 'A3', via: 'x12' },
    });
    expect(updated.decision).toMatchObject({ outcome: 'denied' });

    // Published like a decision: a status event and a ClaimResponse with the new outcome.
    const status = await waitFor(async () => {
      const rows = await outbox(changed, 'pa.status.v1');
      const last = rows.at(-1);
      return last?.value.status?.event === 'decision_updated' && last.published ? last.value : undefined;
    });
    expect(status.status).toMatchObject({ state: 'delivered', outcome: 'denied', authorized: false });
    const claimResponses = await outbox(changed, 'pa.claimresponse.v1');
    expect(claimResponses).toHaveLength(2);
    expect(claimResponses[1]!.value.outcome).toBe('complete');
    expect(JSON.stringify(claimResponses[1]!.value)).toContain('A3');

    // A denial now: a person considers an appeal.
    const tasks = (await readJson(await gw.get(`/tasks?caseId=${changed}`))).items;
    expect(tasks).toContainEqual(expect.objectContaining({ kind: 'appeal_consideration', state: 'open' }));

    // The other case was asked too; the payer's answer did not change, so nothing new was published.
    await waitFor(async () => ((await inquiries(unchanged)).length === 1 ? true : undefined));
    await waitFor(async () => {
      const { rows } = await gw.gateway.db.pool.query(
        `SELECT count(*)::int AS n FROM timers WHERE case_id = $1 AND fired_at IS NULL AND cancelled_at IS NULL`,
        [unchanged],
      );
      return rows[0].n === 0 ? true : undefined;
    });
    const quiet = await readJson(await gw.get(`/cases/${unchanged}`));
    expect(quiet.events.map((e: { event: string }) => e.event)).not.toContain('decision_updated');
    expect(await outbox(unchanged, 'pa.claimresponse.v1')).toHaveLength(1);
  });
});
