/**
 * More information needed, end to end with real parts (issue #14 item 3): the simulated payer (a separate process)
 * pends a 278 asking for a progress report (HCR A4, PWK*09*EL***AC*<attachment control number>, MSG). The gateway
 * reads it into a documents task; the care team uploads a PDF (type and size checked, sealed under the tenant's data
 * key), sends it — a 275 under the payer's control number — and the payer decides on the next inquiry.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { OffsetClock } from '../../src/clock.ts';
import { traceNumberFor } from '../../src/workflow/case-workflow.ts';
import { testDatabaseKind } from '../helpers/database.ts';
import { samplePdf as pdf, uploadDocument } from '../helpers/documents.ts';
import { startTestGateway, type TestGateway } from '../helpers/gateway.ts';
import { buildOrmOrder } from '../helpers/hl7-orders.ts';
import { readJson } from '../helpers/http.ts';
import { waitFor } from '../helpers/store.ts';
import { type SimProcess, startClearinghouseSim } from '../sim/clearinghouse/process.ts';

const png = Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a, 0, 0, 0, 0]);

describe(`documents the payer asks for: task, upload, 275, decision (${testDatabaseKind()})`, () => {
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

  const caseWhen = (id: string, done: (c: { state: string }) => boolean) =>
    waitFor(
      async () => {
        const c = await readJson(await gw.get(`/cases/${id}`));
        return done(c) ? c : undefined;
      },
      { timeoutMs: 60_000, what: `case ${id}` },
    );

  it('reads the request for a progress report, takes the PDF, sends a 275 and ends decided', async () => {
    const res = await gw.postHl7(
      buildOrmOrder({ messageId: `DOCS-${Date.now()}`, memberId: 'DOCS000001', cpt: '70553' }),
    );
    const caseId = (await readJson(res)).caseIds[0];
    const pended = await caseWhen(caseId, (c) => c.state === 'pended');
    const acn = pended.decision.documentsRequested?.[0]?.attachmentControlNumber;
    expect(pended.decision).toMatchObject({
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

    // Sending before anything was uploaded is refused.
    const early = await fetch(`${gw.gateway.url}/tasks/${task.id}/resolve`, {
      method: 'POST',
      headers: { authorization: `Bearer ${gw.token}`, 'content-type': 'application/json' },
      body: JSON.stringify({ action: 'send_documents', taskVersion: task.version }),
    });
    expect(early.status).toBe(409);

    // Type and size are checked against the bytes.
    expect((await uploadDocument(gw, caseId, Buffer.from('hello'), 'text/plain')).status).toBe(415);
    const disguised = await uploadDocument(gw, caseId, png, 'application/pdf');
    expect(disguised.status).toBe(415);
    expect(JSON.stringify(await readJson(disguised))).toContain(
      'the bytes are image/png, not the declared application/pdf',
    );
    expect(
      (await uploadDocument(gw, caseId, Buffer.alloc(10 * 1024 * 1024 + 1, 0x25), 'application/pdf')).status,
    ).toBe(413);

    const uploaded = await uploadDocument(gw, caseId, pdf, 'application/pdf');
    expect(uploaded.status).toBe(201);
    const doc = await readJson(uploaded);
    expect(doc).toMatchObject({
      contentType: 'application/pdf',
      sizeBytes: pdf.length,
      code: '09',
      sentAt: null,
    });
    // Stored sealed: the bytes at rest are not the PDF.
    const { rows } = await gw.gateway.db.pool.query<{ sealed: Buffer }>(
      'SELECT sealed FROM case_documents WHERE id = $1',
      [doc.id],
    );
    expect(rows[0]!.sealed.includes(Buffer.from('%PDF'))).toBe(false);
    const read = await gw.get(`/cases/${caseId}/documents/${doc.id}`);
    expect(read.headers.get('content-type')).toBe('application/pdf');
    expect(Buffer.from(await read.arrayBuffer()).equals(pdf)).toBe(true);

    // The payer's decision clock runs while the case is pended (its SLA timers), and stops with the decision.
    const slaTimers = async () =>
      (
        await gw.gateway.db.pool.query<{ n: number }>(
          `SELECT count(*)::int AS n FROM timers WHERE case_id = $1 AND kind IN ('sla.warn', 'sla.check')
              AND fired_at IS NULL AND cancelled_at IS NULL`,
          [caseId],
        )
      ).rows[0]!.n;
    expect(await slaTimers()).toBeGreaterThan(0);

    const sent = await fetch(`${gw.gateway.url}/tasks/${task.id}/resolve`, {
      method: 'POST',
      headers: { authorization: `Bearer ${gw.token}`, 'content-type': 'application/json' },
      body: JSON.stringify({ action: 'send_documents', taskVersion: task.version }),
    });
    expect(sent.status).toBe(200);

    const final = await caseWhen(caseId, (c) => c.state === 'delivered');
    expect(final.decision).toMatchObject({ outcome: 'approved' });
    expect(await slaTimers()).toBe(0);
    expect(final.events.map((e: { event: string }) => e.event)).toEqual([
      'received',
      'validated',
      'eligibility_checked',
      'submitted',
      'pended',
      'documents_sent',
      'decided',
      'delivered',
    ]);
    const attachments = (await sim.received()).filter((r) => r.kind === '275');
    expect(attachments).toEqual([
      expect.objectContaining({
        traceNumber: traceNumberFor(caseId),
        accepted: true,
        attachment: {
          controlNumber: acn,
          reportType: '09',
          bytes: expect.any(Number),
          contentType: 'application/pdf',
        },
      }),
    ]);
    const docs = (await readJson(await gw.get(`/cases/${caseId}/documents`))).items;
    expect(docs).toEqual([expect.objectContaining({ id: doc.id, sentVia: 'x12-275' })]);
    expect(docs[0].sentAt).not.toBeNull();
    const { rows: audit } = await gw.gateway.db.pool.query<{ action: string; actor: string }>(
      `SELECT action, actor FROM audit_log WHERE case_id = $1 AND action IN ('case.document_added', 'vault.phi_opened')
        ORDER BY seq`,
      [caseId],
    );
    expect(audit.map((a) => a.action)).toContain('case.document_added');
  });
});
