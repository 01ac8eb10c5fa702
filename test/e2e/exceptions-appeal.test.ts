/**
 * Appeals, end to end with real parts (issue #14 item 6): the simulated payer (a separate process) denies a 278; the
 * denial opens an appeal_consideration task; a reviewer prepares the appeal — a package and a PDF letter (opened with
 * PDF.js and read here) stored sealed with the case — and approves it; the gateway sends a 278 request for
 * reconsideration (UM02 2) and the letter in a 275, follows it up, and the case ends approved after appeal, counted so
 * by the analytics.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { OffsetClock } from '../../src/clock.ts';
import { traceNumberFor } from '../../src/workflow/case-workflow.ts';
import { testDatabaseKind } from '../helpers/database.ts';
import { startTestGateway, type TestGateway } from '../helpers/gateway.ts';
import { buildOrmOrder } from '../helpers/hl7-orders.ts';
import { readJson } from '../helpers/http.ts';
import { pdfText } from '../helpers/pdf.ts';
import { waitFor } from '../helpers/store.ts';
import { type SimProcess, startClearinghouseSim } from '../sim/clearinghouse/process.ts';

describe(`appeal of a denial to approved after appeal (${testDatabaseKind()})`, () => {
  let sim: SimProcess;
  let gw: TestGateway;
  const clock = new OffsetClock();

  beforeAll(async () => {
    sim = await startClearinghouseSim({ slowMs: 500 });
    gw = await startTestGateway({
      clock,
      env: { CLEARINGHOUSE_ENDPOINTS: `pagw-sim=${sim.endpoint}`, STEP_LEASE_MS: '20000' },
    });
  });
  afterAll(async () => {
    await gw?.stop();
    await sim?.stop();
  });

  const resolve = (taskId: string, body: Record<string, unknown>) =>
    fetch(`${gw.gateway.url}/tasks/${taskId}/resolve`, {
      method: 'POST',
      headers: { authorization: `Bearer ${gw.token}`, 'content-type': 'application/json' },
      body: JSON.stringify(body),
    });
  const taskOf = (caseId: string, kind: string) =>
    waitFor(
      async () =>
        (await readJson(await gw.get(`/tasks?caseId=${caseId}&kind=${kind}`))).items[0] as
          | {
              id: string;
              version: number;
              reasonCodes: string[];
              needed: Array<{ label: string }>;
              ownerRole: string;
            }
          | undefined,
      { timeoutMs: 60_000, what: `${kind} task` },
    );

  it('denied → package and PDF letter → approved → 278 reconsideration + 275 → approved after appeal', async () => {
    const res = await gw.postHl7(
      buildOrmOrder({
        messageId: `APPEAL-${Date.now()}`,
        memberId: 'DENY000077',
        cpt: '70553',
        cptText: 'MRI brain',
      }),
    );
    const caseId = (await readJson(res)).caseIds[0];
    await waitFor(async () => (await readJson(await gw.get(`/cases/${caseId}`))).state === 'delivered', {
      timeoutMs: 60_000,
      what: 'denied and delivered',
    });
    const consideration = await taskOf(caseId, 'appeal_consideration');
    expect(consideration).toMatchObject({ ownerRole: 'reviewer', reasonCodes: ['OUTCOME_DENIED', 'AO'] });

    const prepared = await resolve(consideration.id, {
      action: 'prepare_appeal',
      taskVersion: consideration.version,
    });
    expect(prepared.status).toBe(200);
    const { appeal, task } = await readJson(prepared);
    expect(task).toMatchObject({
      state: 'resolved',
      resolution: { action: 'prepare_appeal', appealId: appeal.id },
    });
    expect(appeal).toMatchObject({
      state: 'draft',
      seq: 1,
      package: {
        denial: { outcome: 'denied', reviewActionCode: 'A3', reasons: [{ code: 'AO' }] },
        criteria: {
          payerId: 'example-health-plan',
          ruleVersion: expect.stringMatching(/^example-health-plan@/),
        },
      },
    });
    expect(appeal.package.checklist).toContainEqual(
      expect.objectContaining({ item: 'Clinical documentation (notes, reports, results)', present: false }),
    );

    // The letter: a PDF held sealed with the case, readable by PDF.js.
    const docs = (await readJson(await gw.get(`/cases/${caseId}/documents`))).items;
    const letter = docs.find((d: { purpose: string }) => d.purpose === 'appeal_letter');
    expect(letter).toMatchObject({ contentType: 'application/pdf', id: appeal.letterId });
    const pdf = Buffer.from(await (await gw.get(`/cases/${caseId}/documents/${letter.id}`)).arrayBuffer());
    const text = (await pdfText(pdf)).join('\n');
    expect(text).toContain('Request for reconsideration of a prior authorization decision');
    expect(text).toContain('Member id: DENY000077');
    expect(text).toContain('to deny the following service(s):');
    expect(text).toContain('- 70553 MRI brain');
    expect(text).toContain('- AO');
    expect(text).toContain('Evidence checklist');
    expect(text).toContain('[ ] Clinical documentation (notes, reports, results)');

    // The review task lists what the checklist misses; approving it sends the appeal.
    const review = await taskOf(caseId, 'appeal_review');
    expect(review.needed).toEqual([
      expect.objectContaining({ label: 'Clinical documentation (notes, reports, results)' }),
    ]);
    const approved = await resolve(review.id, { action: 'approve_appeal', taskVersion: review.version });
    expect(approved.status).toBe(200);

    // The payer takes the request for reconsideration in (A4) and is asked again on its schedule (60 minutes).
    await waitFor(
      async () =>
        (await readJson(await gw.get(`/cases/${caseId}`))).events.at(-1)?.event === 'appeal_submitted',
      { timeoutMs: 60_000, what: 'appeal submitted' },
    );
    clock.advance(61 * 60_000);
    const final = await waitFor(
      async () => {
        const c = await readJson(await gw.get(`/cases/${caseId}`));
        // GET /cases/:id reads the row and the events in two statements: wait for both to show the decision.
        return c.events.at(-1)?.event === 'appeal_decided' && c.decision?.outcome === 'approved'
          ? c
          : undefined;
      },
      { timeoutMs: 60_000, what: 'appeal decided' },
    );
    expect(final).toMatchObject({
      state: 'delivered',
      decision: { outcome: 'approved', reviewActionCode: 'A1' },
    });
    expect(final.events.map((e: { event: string }) => e.event).slice(-2)).toEqual([
      'appeal_submitted',
      'appeal_decided',
    ]);
    const sent = (await sim.received()).filter((r) => r.traceNumber === traceNumberFor(caseId));
    expect(sent.map((r) => r.kind)).toEqual(['270', '278-request', '278-appeal', '275', '278-inquiry']);
    expect(sent.find((r) => r.kind === '275')?.attachment).toMatchObject({
      reportType: 'OZ',
      contentType: 'application/pdf',
    });

    // Tracked to its outcome, and counted: approved after appeal.
    const { rows } = await gw.gateway.db.pool.query<{
      state: string;
      first_outcome: string;
      outcome: string;
    }>(
      `SELECT a.state, c.first_outcome, c.outcome FROM case_appeals a JOIN cases c ON c.id = a.case_id WHERE a.id = $1`,
      [appeal.id],
    );
    expect(rows[0]).toEqual({ state: 'approved_after_appeal', first_outcome: 'denied', outcome: 'approved' });
    const outcomes = await readJson(await gw.get('/analytics/outcomes'));
    expect(JSON.stringify(outcomes)).toMatch(/"approvedAfterAppeal":1/);
    // The EHR gets the new decision as a ClaimResponse.
    const { rows: published } = await gw.gateway.db.pool.query<{ value: Buffer }>(
      `SELECT value FROM outbox WHERE case_id = $1 AND topic = 'pa.claimresponse.v1' ORDER BY id DESC LIMIT 1`,
      [caseId],
    );
    expect(JSON.parse(published[0]!.value.toString('utf8'))).toMatchObject({ resourceType: 'ClaimResponse' });
  });
});
