/**
 * The portal robot for a request the payer holds, in real headless Chromium against the simulated payer portal:
 * `sendAttachments` (the recipe's upload flow), `update` (its update flow) and `cancel` (its cancel flow, and a retried
 * withdrawal that finds the request already cancelled) — what the portal records, what the
 * submissions log records, the typed failures (a document the portal refuses, no such flow in the recipe, no request
 * at the portal), and the evidence kept.
 */
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { listEvidence } from '../../src/store/portal-evidence.ts';
import type { PayerAttachment } from '../../src/workflow/ports/payer-connector.ts';
import { browserMissing } from '../helpers/browser.ts';
import { samplePdf as pdf } from '../helpers/documents.ts';
import { openPortalHarness, type PortalHarness } from './portal-harness.ts';

const missing = browserMissing();
const attachment = (content: Buffer, contentType = 'application/pdf'): PayerAttachment => ({
  documentId: randomUUID(),
  reportType: '09',
  contentType,
  content,
});

describe.skipIf(missing)('portal robot: documents and changes for a held request (real Chromium)', () => {
  let h: PortalHarness;

  beforeAll(async () => {
    h = await openPortalHarness();
  });
  afterAll(async () => {
    await h?.close();
  });

  async function failure(promise: Promise<unknown>) {
    const error = await promise.then(
      () => undefined,
      (e) => e,
    );
    expect(error, 'the call should have failed').toBeDefined();
    return error as {
      code: string;
      retriable: boolean;
      problems: Array<{ location: string }>;
      evidenceId?: number;
    };
  }

  const attempts = async (caseId: string, purpose: string) =>
    (await h.store.forCase(caseId)).filter((r) => r.purpose === purpose).map((r) => r.status);

  it('reads the documents the portal asks for, uploads them from memory, and the payer decides after', async () => {
    const ctx = h.context();
    const request = h.request('DOCS100');
    const submitted = await h.connector().submit(request, ctx);
    expect(submitted.kind).toBe('pended');
    expect(submitted.kind === 'pended' && submitted.decision).toMatchObject({
      followUp: 'send_documentation',
      documentsRequested: [{ type: { code: '09', display: 'Progress notes' }, transmission: 'FT' }],
    });
    // Still waiting for them: the status page says so too.
    const waiting = await h.connector().inquire(request, ctx);
    expect(waiting.kind === 'pended' && waiting.decision.followUp).toBe('send_documentation');

    const docs = [attachment(pdf), attachment(Buffer.from([0x89, 0x50, 0x4e, 0x47, 1, 2, 3]), 'image/png')];
    expect(await h.connector().sendAttachments!(request, docs, ctx)).toEqual({ sent: 2 });
    const held = (await h.sim.submissions()).find((s) => s.reference === ctx.traceNumber)!;
    expect(held.documents.map((d) => ({ name: d.name, type: d.type, size: d.size }))).toEqual([
      { name: `09-${docs[0]!.documentId.slice(0, 8)}.pdf`, type: 'application/pdf', size: pdf.length },
      { name: `09-${docs[1]!.documentId.slice(0, 8)}.png`, type: 'image/png', size: 7 },
    ]);
    expect(await attempts(ctx.caseId, 'attachment')).toEqual(['answered']);
    const decided = await h.connector().inquire(request, ctx);
    expect(decided).toMatchObject({ kind: 'decided', decision: { outcome: 'approved' } });
    const names = (await listEvidence(h.db.pool, 'clinic-a', ctx.caseId)).map((e) => e.name);
    expect(names).toEqual(expect.arrayContaining(['documents-attached', 'documents-received']));
  });

  it('a document the portal refuses: FORM_REFUSED naming the upload step, a screenshot, recorded as rejected', async () => {
    const ctx = h.context();
    const request = h.request('DOCS101');
    await h.connector().submit(request, ctx);
    // Declared a PDF, but it is not one: the portal checks.
    const error = await failure(
      h.connector().sendAttachments!(request, [attachment(Buffer.from('hello, not a pdf'))], ctx),
    );
    expect(error.code).toBe('PAGW_PORTAL_FORM_REFUSED');
    expect(error.retriable).toBe(false);
    expect(error.problems[0]!.location).toMatch(/^recipe sim-health, flow upload, step \d+ \(/);
    expect(error.evidenceId).toBeGreaterThan(0);
    expect(await attempts(ctx.caseId, 'attachment')).toEqual(['rejected']);
    const held = (await h.sim.submissions()).find((s) => s.reference === ctx.traceNumber)!;
    expect(held.documents).toEqual([]);
  });

  it('an upload whose receipt was never seen: the retry finds the document at the portal and sends nothing again', async () => {
    const ctx = h.context();
    const request = h.request('SLOWUPLOAD103');
    await h.connector().submit(request, ctx);
    const docs = [attachment(pdf)];
    // The portal records the file but holds its answer past the step timeout.
    const error = await failure(h.connector().sendAttachments!(request, docs, ctx));
    expect(error.code).toBe('PAGW_PORTAL_SUBMISSION_UNCONFIRMED');
    expect(error.retriable).toBe(true);
    expect(await attempts(ctx.caseId, 'attachment')).toEqual(['unknown']);
    expect(await h.connector().sendAttachments!(request, docs, ctx)).toEqual({ sent: 1 });
    const held = (await h.sim.submissions()).find((s) => s.reference === ctx.traceNumber)!;
    expect(held.documents).toHaveLength(1);
    expect(await attempts(ctx.caseId, 'attachment')).toEqual(['answered']);
  });

  it('update: the changed units and codes typed into the held request; its answer read like a submission', async () => {
    const ctx = h.context();
    const request = h.request('PEND102');
    await h.connector().submit(request, ctx);
    const line = request.serviceLines[0]!;
    const changed = {
      ...request,
      serviceLines: [
        { ...line, quantity: { value: 4 }, servicePeriod: { start: '2026-12-01', end: '2026-12-20' } },
      ],
    };
    const outcome = await h.connector().update!(changed, ctx);
    expect(outcome).toMatchObject({ kind: 'pended', decision: { outcome: 'pended', channel: 'portal' } });
    const held = (await h.sim.submissions()).filter((s) => s.reference === ctx.traceNumber);
    expect(held).toHaveLength(1);
    expect(held[0]!.revisions).toEqual([
      expect.objectContaining({
        services: line.code.code,
        units: '4',
        serviceStart: '2026-12-01',
        serviceEnd: '2026-12-20',
      }),
    ]);
    expect(await attempts(ctx.caseId, 'update')).toEqual(['answered']);
    // Reviewed afresh: decided at the next status look (a PEND member would otherwise wait for three).
    expect(await h.connector().inquire(changed, ctx)).toMatchObject({ kind: 'decided' });
  });

  it('cancel: withdraws the held request at the portal, a decided cancelled outcome (C); asked again, nothing is sent', async () => {
    const ctx = h.context();
    const request = h.request('PEND104');
    const submitted = await h.connector().submit(request, ctx);
    const confirmation = submitted.kind === 'pended' ? submitted.decision.administrativeReference : undefined;
    const outcome = await h.connector().cancel(request, ctx);
    expect(outcome).toMatchObject({
      kind: 'decided',
      decision: {
        outcome: 'cancelled',
        reviewActionCode: 'C',
        channel: 'portal',
        administrativeReference: confirmation,
      },
    });
    const held = (await h.sim.submissions()).filter((s) => s.reference === ctx.traceNumber);
    expect(held).toHaveLength(1);
    expect(held[0]!.withdrawals).toBe(1);
    expect(held[0]!.cancelledAt).toEqual(expect.any(String));
    expect(await attempts(ctx.caseId, 'cancel')).toEqual(['answered']);
    // The status page shows it too: the status flow reads a cancelled decision.
    expect(await h.connector().inquire(request, ctx)).toMatchObject({
      kind: 'decided',
      decision: { outcome: 'cancelled' },
    });
    // An answered withdrawal returns its stored outcome: no second withdrawal at the portal.
    expect(await h.connector().cancel(request, ctx)).toEqual(outcome);
    expect((await h.sim.submissions()).find((s) => s.reference === ctx.traceNumber)!.withdrawals).toBe(1);
    const names = (await listEvidence(h.db.pool, 'clinic-a', ctx.caseId)).map((e) => e.name);
    expect(names).toEqual(expect.arrayContaining(['withdraw-confirm', 'withdrawn']));
  });

  it('a withdrawal whose answer was never seen: UNCONFIRMED, and the retry finds it cancelled and withdraws nothing again', async () => {
    const ctx = h.context();
    const request = h.request('SLOWCANCEL105');
    await h.connector().submit(request, ctx);
    // The portal records the withdrawal but holds its answer past the step timeout.
    const error = await failure(h.connector().cancel(request, ctx));
    expect(error.code).toBe('PAGW_PORTAL_SUBMISSION_UNCONFIRMED');
    expect(error.retriable).toBe(true);
    expect(await attempts(ctx.caseId, 'cancel')).toEqual(['unknown']);
    const outcome = await h.connector().cancel(request, ctx);
    expect(outcome).toMatchObject({
      kind: 'decided',
      decision: { outcome: 'cancelled', reviewActionCode: 'C' },
    });
    const held = (await h.sim.submissions()).find((s) => s.reference === ctx.traceNumber)!;
    expect(held.withdrawals).toBe(1);
    expect(await attempts(ctx.caseId, 'cancel')).toEqual(['answered']);
  });

  it('a recipe without the flow: UNSUPPORTED before any browser run; no request at the portal: REQUEST_NOT_FOUND', async () => {
    const rx = h.context({ recipe: 'sim-rx' });
    const request = h.request('W103');
    for (const call of [
      h.connector().update!(request, rx),
      h.connector().sendAttachments!(request, [attachment(pdf)], rx),
      h.connector().cancel(request, rx),
    ]) {
      const error = await failure(call);
      expect(error.code).toBe('PAGW_PORTAL_UNSUPPORTED');
      expect(error.retriable).toBe(false);
    }
    expect(await h.store.forCase(rx.caseId)).toEqual([]);
    const never = h.context();
    const error = await failure(h.connector().update!(request, never));
    expect(error.code).toBe('PAGW_PORTAL_REQUEST_NOT_FOUND');
    expect(await h.store.forCase(never.caseId)).toEqual([]);
  });
});
