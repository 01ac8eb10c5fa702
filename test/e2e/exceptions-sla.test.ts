/**
 * SLA escalation and the inquiry limit, end to end with real parts (issue #14 item 5): an expedited request the
 * simulated payer (a separate process) pends and never decides. The gateway's clock is pushed forward (OffsetClock)
 * instead of waiting: at 75 % of the payer's 72 hours (counted from submission) the case raises a warning — a status
 * event, an `sla_at_risk` task — at 90 % the task's priority rises, and at 72 hours the case is flagged breached in
 * every view with an urgent `sla_breached` task. Meanwhile the payer's inquiry limit (2 here) stops the polling and
 * opens an `inquiry_limit` task; resolving it with `inquire_again` asks once more.
 */
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
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

const HOUR = 3_600_000;

/** The shipped payer files with a 2-inquiry limit, in a directory of their own. */
function payersWithInquiryLimit(limit: number): string {
  const dir = mkdtempSync(path.join(tmpdir(), 'pagw-payers-'));
  mkdirSync(dir, { recursive: true });
  const shipped = path.join(import.meta.dirname, '..', '..', 'payers');
  for (const file of readdirSync(shipped).filter((f) => f.endsWith('.json'))) {
    const payer = JSON.parse(readFileSync(path.join(shipped, file), 'utf8'));
    payer.$schema = undefined;
    for (const channel of payer.channels ?? [])
      if (channel.followUp) channel.followUp = { ...channel.followUp, maxInquiries: limit };
    writeFileSync(path.join(dir, file), JSON.stringify(payer));
  }
  return dir;
}

describe(`SLA escalation and the inquiry limit (${testDatabaseKind()})`, () => {
  let sim: SimProcess;
  let gw: TestGateway;
  const clock = new OffsetClock();

  beforeAll(async () => {
    sim = await startClearinghouseSim({ slowMs: 500 });
    gw = await startTestGateway({
      clock,
      env: {
        CLEARINGHOUSE_ENDPOINTS: `pagw-sim=${sim.endpoint}`,
        STEP_LEASE_MS: '20000',
        PAYERS_DIR: payersWithInquiryLimit(2),
      },
    });
  });
  afterAll(async () => {
    await gw?.stop();
    await sim?.stop();
  });

  const post = (p: string, body: unknown) =>
    fetch(`${gw.gateway.url}${p}`, {
      method: 'POST',
      headers: { authorization: `Bearer ${gw.token}`, 'content-type': 'application/json' },
      body: JSON.stringify(body),
    });
  const tasksOf = async (caseId: string, state = 'all') =>
    (await readJson(await gw.get(`/tasks?caseId=${caseId}&state=${state}`))).items as Array<{
      id: string;
      kind: string;
      state: string;
      priority: string;
      version: number;
      reasonCodes: string[];
    }>;
  const statusEvents = async (caseId: string) => {
    const { rows } = await gw.gateway.db.pool.query<{ value: Buffer }>(
      `SELECT value FROM outbox WHERE case_id = $1 AND topic = 'pa.status.v1' ORDER BY id`,
      [caseId],
    );
    return rows.map((r) => JSON.parse(r.value.toString('utf8')));
  };
  /**
   * After a clock jump, waits until the case's inquiry is done and its follow-up is scheduled (or the limit reached):
   * a jump while a step runs would expire its lease and run it twice.
   */
  const quiet = (caseId: string, asked: number) =>
    waitFor(
      async () => {
        if ((await inquiries(caseId)) !== asked) return false;
        const { rows } = await gw.gateway.db.pool.query<{ n: number }>(
          `SELECT count(*)::int AS n FROM timers WHERE case_id = $1 AND kind = 'workflow.advance'
              AND fired_at IS NULL AND cancelled_at IS NULL AND (payload ->> 'inquiries')::int = $2`,
          [caseId, asked],
        );
        const limited = (await tasksOf(caseId, 'open')).some((t) => t.kind === 'inquiry_limit');
        return rows[0]!.n === 1 || limited;
      },
      { timeoutMs: 60_000, what: `inquiry ${asked} settled` },
    );
  const inquiries = async (caseId: string) =>
    (await sim.received()).filter((r) => r.kind === '278-inquiry' && r.traceNumber === traceNumberFor(caseId))
      .length;

  it('warns at 75 % and 90 % of the 72 hours, then flags the breach; stops polling at the inquiry limit', async () => {
    const res = await gw.postHl7(
      buildOrmOrder({ messageId: `SLA-${Date.now()}`, memberId: 'NOANSWER01', cpt: '70553', priority: 'S' }),
    );
    expect(res.status).toBe(201);
    const caseId = (await readJson(res)).caseIds[0];
    const pended = await waitFor(
      async () => {
        const c = await readJson(await gw.get(`/cases/${caseId}`));
        return c.state === 'pended' ? c : undefined;
      },
      { timeoutMs: 60_000, what: 'pended' },
    );
    const submitted = pended.events.find((e: { event: string }) => e.event === 'submitted').at;
    // The CMS-0057-F clock: 72 hours for an expedited request, from submission.
    expect(Date.parse(pended.slaDueAt) - Date.parse(submitted)).toBe(72 * HOUR);
    expect(pended.request.urgency).toBe('expedited');
    expect(pended.slaBreachedAt).toBeNull();

    clock.advance(0.76 * 72 * HOUR);
    await quiet(caseId, 1);
    const atRisk = await waitFor(
      async () => (await tasksOf(caseId)).find((t) => t.kind === 'sla_at_risk' && t.state === 'open'),
      { timeoutMs: 60_000, what: 'sla_at_risk task' },
    );
    expect(atRisk).toMatchObject({ priority: 'high', reasonCodes: ['SLA_75'], version: 1 });
    const warning = (await statusEvents(caseId)).find((e) => e.status.event === 'sla_warning');
    expect(warning).toMatchObject({
      status: { state: 'pended', previousState: 'pended' },
      slaDueAt: pended.slaDueAt,
    });
    expect(warning.slaBreachedAt).toBeUndefined();

    clock.advance(0.15 * 72 * HOUR);
    await quiet(caseId, 2);
    const raised = await waitFor(
      async () => (await tasksOf(caseId)).find((t) => t.id === atRisk.id && t.priority === 'urgent'),
      { timeoutMs: 60_000, what: 'priority raised at 90 %' },
    );
    expect(raised).toMatchObject({ version: 2, reasonCodes: ['SLA_75', 'SLA_90'] });

    // Two inquiries so far (one per clock jump): the limit. The case is not polled again, a person follows up.
    const limit = await waitFor(
      async () => (await tasksOf(caseId)).find((t) => t.kind === 'inquiry_limit' && t.state === 'open'),
      { timeoutMs: 60_000, what: 'inquiry_limit task' },
    );
    expect(limit.reasonCodes).toEqual(['MAX_INQUIRIES']);
    expect(await inquiries(caseId)).toBe(2);

    clock.advance(0.1 * 72 * HOUR);
    const breached = await waitFor(
      async () => {
        const c = await readJson(await gw.get(`/cases/${caseId}`));
        return c.slaBreachedAt ? c : undefined;
      },
      { timeoutMs: 60_000, what: 'breach flag' },
    );
    expect(breached.state).toBe('pended');
    expect(breached.events.map((e: { event: string }) => e.event).slice(-3)).toEqual([
      'sla_warning',
      'sla_warning',
      'sla_breached',
    ]);
    const tasks = await tasksOf(caseId);
    expect(tasks.find((t) => t.kind === 'sla_breached')).toMatchObject({ state: 'open', priority: 'urgent' });
    expect(tasks.find((t) => t.kind === 'sla_at_risk')).toMatchObject({ state: 'resolved' });
    const breachEvent = (await statusEvents(caseId)).at(-1);
    expect(breachEvent).toMatchObject({
      status: { event: 'sla_breached' },
      slaBreachedAt: breached.slaBreachedAt,
    });
    // Flagged in the console's list and timeline too.
    const search = await readJson(await post('/cases/_search', { slaRisk: 'breached' }));
    expect(search.items.find((i: { id: string }) => i.id === caseId)).toMatchObject({
      slaBreachedAt: breached.slaBreachedAt,
    });
    const timeline = await readJson(await gw.get(`/cases/${caseId}/timeline`));
    expect(timeline.case.slaBreachedAt).toBe(breached.slaBreachedAt);
    // No polling past the limit, however much time passes.
    expect(await inquiries(caseId)).toBe(2);

    // A person asks the payer once more.
    const resolved = await post(`/tasks/${limit.id}/resolve`, { action: 'inquire_again', taskVersion: 1 });
    expect(resolved.status).toBe(200);
    expect((await readJson(resolved)).task).toMatchObject({
      state: 'resolved',
      resolution: { action: 'inquire_again' },
    });
    await waitFor(async () => (await inquiries(caseId)) === 3, { timeoutMs: 60_000, what: 'third inquiry' });
  });
});
