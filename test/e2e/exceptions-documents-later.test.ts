/**
 * Documents asked for on a later look, end to end with real parts (issue #14, more information needed): the simulated
 * payer (a separate process) pends the 278 asking for nothing (HCR A4, no PWK); its first 278 inquiry answer asks for
 * a progress report (PWK*09*EL***AC*<attachment control number>, MSG). The gateway records that answer
 * (`information_requested`, pended → pended) and opens the same documents task a first answer asking for documents
 * opens — once: the next inquiry asks the same and changes nothing. The care team uploads a PDF and sends it (a 275
 * under the payer's control number); the payer decides on the next inquiry and the case is delivered.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { OffsetClock } from '../../src/clock.ts';
import { traceNumberFor } from '../../src/workflow/case-workflow.ts';
import { testDatabaseKind } from '../helpers/database.ts';
import { samplePdf as pdf, sendDocuments, uploadDocument } from '../helpers/documents.ts';
import { startTestGateway, type TestGateway } from '../helpers/gateway.ts';
import { buildOrmOrder } from '../helpers/hl7-orders.ts';
import { readJson } from '../helpers/http.ts';
import { waitFor } from '../helpers/store.ts';
import { type SimProcess, startClearinghouseSim } from '../sim/clearinghouse/process.ts';

/** Example Health Plan asks about a pended case every 60 minutes (payers/example-health-plan.json). */
const INQUIRY_INTERVAL_MS = 61 * 60_000;

describe(`documents asked for by a later inquiry: one task, upload, 275, decision (${testDatabaseKind()})`, () => {
  let sim: SimProcess;
  let gw: TestGateway;
  const clock = new OffsetClock();

  beforeAll(async () => {
    sim = await startClearinghouseSim();
    gw = await startTestGateway({
      clock,
      env: { CLEARINGHOUSE_ENDPOINTS: `pagw-sim=${sim.endpoint}`, STEP_LEASE_MS: '20000' },
    });
  });
  afterAll(async () => {
    await gw?.stop();
    await sim?.stop();
  });

  type CaseView = {
    state: string;
    decision: Record<string, unknown> & { documentsRequested?: { attachmentControlNumber?: string }[] };
    events: { event: string; data: Record<string, unknown> }[];
  };
  const caseWhen = (id: string, done: (c: CaseView) => boolean, what: string) =>
    waitFor(
      async () => {
        const c = (await readJson(await gw.get(`/cases/${id}`))) as CaseView;
        return done(c) ? c : undefined;
      },
      { timeoutMs: 60_000, what },
    );
  const documentTasks = async (caseId: string) =>
    (
      await gw.gateway.db.pool.query<{ id: string; state: string }>(
        `SELECT id, state FROM case_tasks WHERE case_id = $1 AND kind = 'more_information' ORDER BY created_at`,
        [caseId],
      )
    ).rows;
  /** The next inquiry the advancer scheduled after the `n`th answer (its payload counts the inquiries). */
  const inquiryScheduled = (caseId: string, n: number) =>
    waitFor(
      async () =>
        (
          await gw.gateway.db.pool.query(
            `SELECT id FROM timers WHERE case_id = $1 AND kind = 'workflow.advance' AND fired_at IS NULL
                AND cancelled_at IS NULL AND payload->>'inquiries' = $2`,
            [caseId, String(n)],
          )
        ).rows[0],
      { timeoutMs: 60_000, what: `inquiry ${n + 1} scheduled` },
    );

  it('records the later request once, opens one documents task, sends the 275 and ends decided', async () => {
    const res = await gw.postHl7(
      buildOrmOrder({ messageId: `LATEDOCS-${Date.now()}`, memberId: 'LATEDOCS01', cpt: '70553' }),
    );
    const caseId = (await readJson(res)).caseIds[0];
    const trace = traceNumberFor(caseId);

    // The 278 answer pends the case asking for nothing: no documents task.
    const pended = await caseWhen(caseId, (c) => c.state === 'pended', 'pended');
    expect(pended.decision).toMatchObject({ outcome: 'pended', followUp: 'none' });
    expect(pended.decision.documentsRequested).toBeUndefined();
    expect(await documentTasks(caseId)).toEqual([]);

    // The first inquiry's answer asks for a progress report: recorded, with the new decision; the task opens.
    clock.advance(INQUIRY_INTERVAL_MS);
    const asked = await caseWhen(
      caseId,
      (c) =>
        c.events.at(-1)?.event === 'information_requested' && c.decision.followUp === 'send_documentation',
      'information requested',
    );
    expect(asked.state).toBe('pended');
    const acn = asked.decision.documentsRequested?.[0]?.attachmentControlNumber;
    expect(asked.decision).toMatchObject({
      outcome: 'pended',
      followUp: 'send_documentation',
      documentsRequested: [
        {
          type: { system: 'https://codesystem.x12.org/005010/755', code: '09', display: 'Progress report' },
          transmission: 'EL',
          attachmentControlNumber: expect.stringMatching(/^ACN\d+$/),
        },
      ],
      messages: ['SEND PROGRESS NOTES'],
    });
    expect(asked.events.at(-1)!.data).toMatchObject({
      reason: 'DOCUMENTS_REQUESTED',
      via: 'x12',
      documentsRequested: [{ code: '09', attachmentControlNumber: acn }],
    });
    const task = await waitFor(
      async () =>
        (await readJson(await gw.get(`/tasks?caseId=${caseId}&kind=more_information`))).items[0] as
          | { id: string; version: number; needed: unknown[]; ownerRole: string; reasonCodes: string[] }
          | undefined,
      { what: 'documents task' },
    );
    expect(task).toMatchObject({
      ownerRole: 'ehr',
      reasonCodes: ['DOCUMENTS_REQUESTED', '0U'],
      needed: [
        {
          type: 'document',
          label: 'Progress report',
          code: '09',
          source: `attachment control number ${acn}`,
        },
      ],
    });
    // Published like the first pended answer: a status event and a ClaimResponse for this change; audited.
    const { rows: outbox } = await gw.gateway.db.pool.query<{ topic: string; value: Buffer }>(
      `SELECT topic, value FROM outbox WHERE case_id = $1 AND topic IN ('pa.status.v1', 'pa.claimresponse.v1')
        ORDER BY id`,
      [caseId],
    );
    const statuses = outbox
      .filter((o) => o.topic === 'pa.status.v1')
      .map((o) => JSON.parse(o.value.toString('utf8')));
    const status = statuses.find((s) => s.status.event === 'information_requested');
    expect(status.status).toMatchObject({
      state: 'pended',
      previousState: 'pended',
      outcome: 'pended',
      followUp: 'send_documentation',
    });
    expect(outbox.filter((o) => o.topic === 'pa.claimresponse.v1')).toHaveLength(2); // pended, information_requested
    const { rows: audit } = await gw.gateway.db.pool.query(
      `SELECT 1 FROM audit_log WHERE case_id = $1 AND action = 'case.information_requested'`,
      [caseId],
    );
    expect(audit).toHaveLength(1);

    // The next inquiry asks the same: no second event, no second task.
    await inquiryScheduled(caseId, 1);
    clock.advance(INQUIRY_INTERVAL_MS);
    await inquiryScheduled(caseId, 2);
    const inquiries = (await sim.received()).filter(
      (r) => r.traceNumber === trace && r.kind === '278-inquiry',
    );
    expect(inquiries).toHaveLength(2);
    const again = (await readJson(await gw.get(`/cases/${caseId}`))) as CaseView;
    expect(again.events.filter((e) => e.event === 'information_requested')).toHaveLength(1);
    expect(await documentTasks(caseId)).toEqual([{ id: task.id, state: 'open' }]);

    // The care team uploads the report and sends it: a 275 under the payer's number, then the payer decides.
    const uploaded = await uploadDocument(gw, caseId, pdf);
    expect(uploaded.status).toBe(201);
    const current = (await readJson(await gw.get(`/tasks/${task.id}`))) as { version: number };
    const sent = await sendDocuments(gw, task.id, current.version);
    expect(sent.status).toBe(200);

    const final = await caseWhen(caseId, (c) => c.state === 'delivered', 'delivered');
    expect(final.decision).toMatchObject({ outcome: 'approved' });
    expect(final.events.map((e) => e.event)).toEqual([
      'received',
      'validated',
      'eligibility_checked',
      'submitted',
      'pended',
      'information_requested',
      'documents_sent',
      'decided',
      'delivered',
    ]);
    const exchanges = (await sim.received()).filter((r) => r.traceNumber === trace);
    expect(exchanges.map((r) => r.kind)).toEqual([
      '270',
      '278-request',
      '278-inquiry',
      '278-inquiry',
      '275',
      '278-inquiry',
    ]);
    expect(exchanges.find((r) => r.kind === '275')).toMatchObject({
      accepted: true,
      attachment: { controlNumber: acn, reportType: '09', contentType: 'application/pdf' },
    });
    expect((await documentTasks(caseId)).map((t) => t.state)).toEqual(['resolved']);
  });
});
