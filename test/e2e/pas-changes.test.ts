/**
 * After the payer took a request over Da Vinci PAS, end to end with real parts (issue #14 remainder): the simulated
 * PAS payer is its own process. (a) The EHR changes the order (a ServiceRequest resent in a new version): the case is
 * `resubmitted` and the change goes to the payer as a PAS claim update (Claim/$submit, profile claim-update, the item
 * flagged `changed`), which the payer reviews afresh and decides on its next inquiry. (b) The payer pends asking for
 * a progress report (a CommunicationRequest in its answer): a documents task, an upload through the API, the document
 * sent by CDex $submit-attachment under the payer's tracking number, and the payer's decision at the next inquiry.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { OffsetClock } from '../../src/clock.ts';
import { traceNumberFor } from '../../src/workflow/case-workflow.ts';
import { testDatabaseKind } from '../helpers/database.ts';
import { samplePdf as pdf, sendDocuments, uploadDocument } from '../helpers/documents.ts';
import { startTestGateway, type TestGateway } from '../helpers/gateway.ts';
import { readJson } from '../helpers/http.ts';
import {
  createPasClientKeys,
  pasChannelFor,
  pasServiceRequestOrder,
  pasTestPayersDir,
  startPasSimWithClient,
} from '../helpers/pas.ts';
import { waitFor } from '../helpers/store.ts';
import type { PasSimProcess } from '../sim/pas-payer/process.ts';

describe(`changed orders and documents over Da Vinci PAS (${testDatabaseKind()})`, () => {
  let sim: PasSimProcess;
  let gw: TestGateway;
  const clock = new OffsetClock();

  beforeAll(async () => {
    const keys = await createPasClientKeys('RS384');
    sim = await startPasSimWithClient(keys, { slowMs: 500, notifyAfterMs: 600_000 });
    const channel = pasChannelFor(sim, keys, { followUp: { inquiryIntervalMinutes: 60, maxInquiries: 5 } });
    gw = await startTestGateway({
      clock,
      env: { PAYERS_DIR: pasTestPayersDir(channel), STEP_LEASE_MS: '20000' },
    });
  });
  afterAll(async () => {
    await gw?.stop();
    await sim?.stop();
  });

  const postOrder = async (body: string) => {
    const res = await fetch(`${gw.gateway.url}/orders/fhir`, {
      method: 'POST',
      headers: { authorization: `Bearer ${gw.token}`, 'content-type': 'application/fhir+json' },
      body,
    });
    expect(res.status).toBe(201);
    return (await readJson(res)).caseIds as string[];
  };
  const serviceRequest = (id: string, memberId: string, quantity: number, versionId: string) => {
    const sr = JSON.parse(pasServiceRequestOrder(id, memberId, '73721'));
    sr.meta.versionId = versionId;
    sr.quantityQuantity = { value: quantity };
    return JSON.stringify(sr);
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
  const traceKey = (caseId: string) => `urn:pagw:clinic-a:trace|${traceNumberFor(caseId)}`;

  it('(a) a changed order on a pended PAS request goes as a claim update; the case is resubmitted, then decided', async () => {
    const id = `sr-pas-chg-${Date.now()}`;
    const [caseId] = await postOrder(serviceRequest(id, 'PEND300001', 4, '1'));
    await caseWhen(caseId!, (c) => c.state === 'pended');
    expect(await postOrder(serviceRequest(id, 'PEND300001', 6, '2'))).toEqual([caseId]);
    // The payer reviews the changed request afresh (pended again); its next inquiry decides it.
    await caseWhen(caseId!, (c) => c.state === 'pended' && c.events.at(-2)?.event === 'resubmitted');
    clock.advance(61 * 60_000);
    const final = await caseWhen(caseId!, (c) => c.state === 'delivered');
    expect(final.decision).toMatchObject({ outcome: 'approved', channel: 'pas' });
    expect(final.request.serviceLines[0].quantity.value).toBe(6);
    const resubmitted = final.events.find((e: { event: string }) => e.event === 'resubmitted');
    expect(resubmitted).toMatchObject({ data: { reason: 'ORDER_CHANGED', atPayer: true } });
    expect(final.events.map((e: { event: string }) => e.event)).toEqual([
      'received',
      'validated',
      'eligibility_checked',
      'submitted',
      'pended',
      'resubmitted',
      'pended',
      'decided',
      'delivered',
    ]);
    const received = await sim.received();
    const updates = received.filter((r) => r.kind === 'update' && r.updates === traceKey(caseId!));
    expect(updates).toEqual([
      expect.objectContaining({
        accepted: true,
        disposition: 'revised',
        key: `${traceKey(caseId!)}-U1`,
        changes: [{ sequence: 1, change: 'changed', cancelled: false }],
      }),
    ]);
    expect(received.filter((r) => r.kind === 'submit' && r.key === traceKey(caseId!))).toHaveLength(1);
  });

  it('(b) pended for documents: task, upload, $submit-attachment under the tracking number, decision', async () => {
    const [caseId] = await postOrder(serviceRequest(`sr-pas-docs-${Date.now()}`, 'DOCS300001', 4, '1'));
    const pended = await caseWhen(caseId!, (c) => c.state === 'pended');
    const tracking = pended.decision.documentsRequested?.[0]?.attachmentControlNumber;
    expect(pended.decision).toMatchObject({
      outcome: 'pended',
      followUp: 'send_documentation',
      documentsRequested: [
        {
          type: { system: 'https://codesystem.x12.org/005010/755', code: '09' },
          transmission: 'CDEX',
          attachmentControlNumber: expect.stringMatching(/^ACN\d+$/),
        },
      ],
    });
    const task = await waitFor(
      async () =>
        (await readJson(await gw.get(`/tasks?caseId=${caseId}&kind=more_information`))).items[0] as
          | { id: string; version: number; needed: unknown[] }
          | undefined,
      { what: 'documents task' },
    );
    expect(task.needed).toEqual([
      expect.objectContaining({
        type: 'document',
        code: '09',
        source: `attachment control number ${tracking}`,
      }),
    ]);
    const uploaded = await uploadDocument(gw, caseId!, pdf);
    expect(uploaded.status).toBe(201);
    const sent = await sendDocuments(gw, task.id, task.version);
    expect(sent.status).toBe(200);
    const final = await caseWhen(caseId!, (c) => c.state === 'delivered');
    expect(final.decision).toMatchObject({ outcome: 'approved' });
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
    expect((await sim.received()).filter((r) => r.kind === 'attachment')).toContainEqual(
      expect.objectContaining({
        key: traceKey(caseId!),
        accepted: true,
        attachment: {
          path: '/fhir/$submit-attachment',
          trackingId: tracking,
          final: true,
          reportType: '09',
          contentType: 'application/pdf',
          bytes: pdf.length,
          lineItems: ['1'],
        },
      }),
    );
    const docs = (await readJson(await gw.get(`/cases/${caseId}/documents`))).items;
    expect(docs).toEqual([expect.objectContaining({ sentVia: 'pas' })]);
    expect(docs[0].sentAt).not.toBeNull();
  });
});
