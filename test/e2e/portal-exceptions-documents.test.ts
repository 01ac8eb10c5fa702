/**
 * The portal robot sending documents for a request the payer already holds (issue #14), in real headless Chromium
 * through the whole gateway (embedded default unless DATABASE_URL), against the simulated payer portal (a separate
 * process; shared setup in portal-exceptions-harness.ts):
 * - the portal pends the request asking for progress notes: a documents task; the care team uploads a PDF through
 *   the API and sends it; the robot opens the request on the portal and uploads it from memory (the portal records
 *   its name, size and type); the payer decides at the next status check;
 * - a payer with channels [x12, portal] whose portal took the request: the documents go to the portal;
 * - a payer whose recipe has no upload flow: the documents go back to a person (a documents task again), the case
 *   stays pended, nothing is uploaded;
 * - this file's gateway logs hold no secret and no document content (the same check runs in
 *   portal-exceptions-orders.test.ts over that file's own gateway).
 * Changed and cancelled orders on the portal: portal-exceptions-orders.test.ts.
 */
import { describe, expect, it } from 'vitest';
import { testDatabaseKind } from '../helpers/database.ts';
import { readJson } from '../helpers/http.ts';
import { portalLogin as login, portalSeed as seed } from '../helpers/portal.ts';
import { waitFor } from '../helpers/store.ts';
import {
  api,
  gw,
  logs,
  missing,
  order,
  pdf,
  sim,
  startPortalGateway,
  untilStateOrFailed,
  uploadAndSendDocuments,
} from './portal-exceptions-harness.ts';

describe.skipIf(missing)(`portal robot: documents (${testDatabaseKind()}, real Chromium)`, () => {
  startPortalGateway();

  it('pended for documents: a task, an upload through the API, the robot uploads it on the portal, then a decision', async () => {
    const caseId = await order({ memberId: 'DOCS4711', placerOrderNumber: `ORD-DOCS-${Date.now()}` });
    // Pended with the portal's request for documents: no clock push, nothing else moves it on.
    const pended = await untilStateOrFailed(caseId, 'pended');
    expect(pended.state).toBe('pended');
    expect(pended.decision).toMatchObject({
      outcome: 'pended',
      channel: 'portal',
      followUp: 'send_documentation',
      documentsRequested: [
        {
          type: { system: 'https://codesystem.x12.org/005010/755', code: '09', display: 'Progress notes' },
          transmission: 'FT',
        },
      ],
    });
    const task = await waitFor(
      async () =>
        (await api('GET', `/tasks?caseId=${caseId}&kind=more_information`)).json.items[0] as
          | { id: string; version: number; needed: unknown[]; reasonCodes: string[] }
          | undefined,
      { timeoutMs: 60_000, what: 'documents task' },
    );
    expect(task.reasonCodes).toContain('DOCUMENTS_REQUESTED');
    expect(task.needed).toEqual([
      { type: 'document', label: 'Progress notes', code: '09', system: expect.any(String) },
    ]);

    const doc = await uploadAndSendDocuments(caseId, task);

    // documents_sent is followed by a status check at once: no clock push needed.
    const final = await untilStateOrFailed(caseId, 'delivered');
    expect(final.state).toBe('delivered');
    expect(final.decision).toMatchObject({ outcome: 'approved', channel: 'portal' });
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
    expect(final.events.find((e: { event: string }) => e.event === 'documents_sent').data).toMatchObject({
      documentIds: [doc.id],
      sent: 1,
      via: 'portal',
    });
    // The portal holds the one request, with the document as the robot set it (name names kind and id, no PHI).
    const held = (await sim.submissions()).filter((s) => s.member === 'DOCS4711');
    expect(held).toHaveLength(1);
    expect(held[0]!.documents).toEqual([
      expect.objectContaining({
        name: `09-${String(doc.id).slice(0, 8)}.pdf`,
        type: 'application/pdf',
        size: pdf.length,
        receipt: expect.stringMatching(/^DOC-\d+$/),
      }),
    ]);
    const docs = (await api('GET', `/cases/${caseId}/documents`)).json.items;
    expect(docs).toEqual([expect.objectContaining({ id: doc.id, sentVia: 'portal' })]);
    const timeline = (await api('GET', `/cases/${caseId}/timeline`)).json;
    const names = timeline.evidence.map((e: { name: string }) => e.name);
    expect(names).toEqual(expect.arrayContaining(['documents-attached', 'documents-received']));
    const { rows } = await gw.gateway.db.pool.query(
      `SELECT status FROM payer_submissions WHERE case_id = $1 AND purpose = 'attachment'`,
      [caseId],
    );
    expect(rows).toEqual([{ status: 'answered' }]);
  });

  it('[x12, portal] whose portal took the request: the documents follow it to the portal, not to the x12 channel', async () => {
    const caseId = await order({
      memberId: 'DOCS4714',
      placerOrderNumber: `ORD-DUAL-DOCS-${Date.now()}`,
      payerId: 'DUALCHAN',
    });
    const pended = await untilStateOrFailed(caseId, 'pended');
    expect(pended).toMatchObject({ state: 'pended', channel: 'portal' });
    const task = await waitFor(
      async () =>
        (await api('GET', `/tasks?caseId=${caseId}&kind=more_information`)).json.items[0] as
          | { id: string; version: number }
          | undefined,
      { timeoutMs: 60_000, what: 'documents task' },
    );
    await uploadAndSendDocuments(caseId, task);
    const final = await untilStateOrFailed(caseId, 'delivered');
    expect(final.state).toBe('delivered');
    expect(final.events.find((e: { event: string }) => e.event === 'documents_sent').data.via).toBe('portal');
    expect((await sim.submissions()).find((s) => s.member === 'DOCS4714')!.documents).toHaveLength(1);
    const { rows } = await gw.gateway.db.pool.query(
      `SELECT channel, purpose FROM payer_submissions WHERE case_id = $1 AND purpose = 'attachment'`,
      [caseId],
    );
    expect(rows).toEqual([{ channel: 'portal', purpose: 'attachment' }]);
  });

  it('a recipe without an upload flow: the documents go back to a person, the case stays pended', async () => {
    const caseId = await order({
      memberId: 'DOCS4712',
      placerOrderNumber: `ORD-NOUP-${Date.now()}`,
      payerId: 'NOUPLOAD',
    });
    const pended = await untilStateOrFailed(caseId, 'pended');
    expect(pended.decision).toMatchObject({ followUp: 'send_documentation' });
    const openTask = (reason: string) =>
      waitFor(
        async () =>
          (
            (await api('GET', `/tasks?caseId=${caseId}&kind=more_information&state=open`)).json
              .items as Array<{
              id: string;
              version: number;
              reasonCodes: string[];
              details: Record<string, unknown>;
            }>
          ).find((t) => t.reasonCodes.includes(reason)),
        { timeoutMs: 120_000, what: `an open documents task (${reason})` },
      );
    const task = await openTask('DOCUMENTS_REQUESTED');
    const doc = await uploadAndSendDocuments(caseId, task);
    // The channel cannot send them: a person has them again, saying why.
    const again = await openTask('CHANNEL_CANNOT_SEND');
    expect(again.id).not.toBe(task.id);
    expect(again.details).toMatchObject({ channel: 'portal' });
    const c = await readJson(await gw.get(`/cases/${caseId}`));
    expect(c.state).toBe('pended');
    expect(c.events.map((e: { event: string }) => e.event)).not.toContain('documents_sent');
    const docs = (await api('GET', `/cases/${caseId}/documents`)).json.items;
    expect(docs).toEqual([expect.objectContaining({ id: doc.id, sentAt: null })]);
    expect((await sim.submissions()).find((s) => s.member === 'DOCS4712')!.documents).toEqual([]);
    const { rows } = await gw.gateway.db.pool.query(
      `SELECT action FROM audit_log WHERE case_id = $1 AND action = 'case.documents_not_sent'`,
      [caseId],
    );
    expect(rows).toHaveLength(1);
  });

  it('the logs hold no secret and no document content', () => {
    const text = logs.join('');
    expect(text).toContain('portal step');
    for (const secret of [login.password, login.username, seed, '%PDF']) expect(text).not.toContain(secret);
  });
});
