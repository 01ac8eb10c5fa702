/**
 * The portal robot for a request the payer already holds (issue #14), in real headless Chromium through the whole
 * gateway (embedded default unless DATABASE_URL), against the simulated payer portal (a separate process):
 * - the portal pends the request asking for progress notes: a documents task; the care team uploads a PDF through
 *   the API and sends it; the robot opens the request on the portal and uploads it from memory (the portal records
 *   its name, size and type); the payer decides at the next status check;
 * - the EHR changes the order (ORC-1 XO, more units) while the portal holds it: the robot opens the request, types
 *   the changed fields and saves; the case is resubmitted, pended on the change and decided at the next status check;
 * - the EHR cancels the order (ORC-1 CA) while the portal holds it: the robot opens the request, withdraws it and
 *   confirms; the portal shows it cancelled and the case ends `cancelled`;
 * - a payer with channels [x12, portal] whose portal took the request: the documents go to the portal;
 * - a payer whose recipe has no upload flow: the documents go back to a person (a documents task again), the case
 *   stays pended, nothing is uploaded.
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { Writable } from 'node:stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { defaultRecipesDir } from '../../connectors/portal/recipes.ts';
import { OffsetClock } from '../../src/clock.ts';
import { createLogger } from '../../src/log/logger.ts';
import { browserMissing } from '../helpers/browser.ts';
import { testDatabaseKind } from '../helpers/database.ts';
import { startTestGateway, type TestGateway } from '../helpers/gateway.ts';
import { buildOrmOrder, type OrmOrderOptions } from '../helpers/hl7-orders.ts';
import { readJson } from '../helpers/http.ts';
import {
  portalLogin as login,
  portalPayerFiles,
  portalSecrets,
  portalSeed as seed,
} from '../helpers/portal.ts';
import { waitFor } from '../helpers/store.ts';
import { type PortalSimProcess, startPortalSim } from '../sim/payer-portal/process.ts';

const missing = browserMissing();
const pdf = Buffer.from(
  '%PDF-1.4\n1 0 obj << /Type /Catalog >> endobj\ntrailer << /Root 1 0 R >>\n%%EOF\n',
  'latin1',
);

describe.skipIf(missing)(
  `portal robot: documents and changed orders (${testDatabaseKind()}, real Chromium)`,
  () => {
    let sim: PortalSimProcess;
    let gw: TestGateway;
    let payersDir: string;
    let recipesDir: string;
    const clock = new OffsetClock();
    const logs: string[] = [];

    beforeAll(async () => {
      sim = await startPortalSim({ ...login, totpSeed: seed });
      payersDir = mkdtempSync(path.join(tmpdir(), 'pagw-portal-exc-payers-'));
      portalPayerFiles(payersDir, sim.url);
      // The same portal through a recipe without an upload flow, for a payer of its own.
      recipesDir = mkdtempSync(path.join(tmpdir(), 'pagw-portal-exc-recipes-'));
      for (const name of ['sim-health.json', 'sim-rx.json'])
        writeFileSync(path.join(recipesDir, name), readFileSync(path.join(defaultRecipesDir, name)));
      const noUpload = JSON.parse(readFileSync(path.join(defaultRecipesDir, 'sim-health.json'), 'utf8'));
      delete noUpload.flows.upload;
      delete noUpload.$schema;
      writeFileSync(
        path.join(recipesDir, 'sim-health-noupload.json'),
        JSON.stringify({ ...noUpload, id: 'sim-health-noupload' }),
      );
      const onlyPortal = JSON.parse(readFileSync(path.join(payersDir, 'portal-only-health.json'), 'utf8'));
      writeFileSync(
        path.join(payersDir, 'portal-noupload-health.json'),
        JSON.stringify({
          ...onlyPortal,
          id: 'portal-noupload-health',
          name: 'Portal No Upload Health',
          identifiers: { aliases: [{ value: 'NOUPLOAD' }] },
          channels: [{ ...onlyPortal.channels[0], recipe: 'sim-health-noupload' }],
        }),
      );
      const capture = new Writable({
        write(chunk, _enc, done) {
          logs.push(String(chunk));
          done();
        },
      });
      gw = await startTestGateway({
        env: {
          PAYERS_DIR: payersDir,
          PORTAL_RECIPES_DIR: recipesDir,
          LOG_LEVEL: 'debug',
          STEP_LEASE_MS: '120000',
        },
        clock,
        secrets: portalSecrets('clinic-a'),
        logger: createLogger({ level: 'debug', destination: capture }),
      });
    });
    afterAll(async () => {
      await gw?.stop();
      await sim?.stop();
      if (payersDir) rmSync(payersDir, { recursive: true, force: true });
      if (recipesDir) rmSync(recipesDir, { recursive: true, force: true });
    });

    const api = async (method: string, p: string, body?: unknown) => {
      const res = await fetch(`${gw.gateway.url}${p}`, {
        method,
        headers: {
          authorization: `Bearer ${gw.token}`,
          ...(body ? { 'content-type': 'application/json' } : {}),
        },
        ...(body ? { body: JSON.stringify(body) } : {}),
      });
      return {
        status: res.status,
        json: res.headers.get('content-type')?.includes('json') ? await res.json() : undefined,
      };
    };

    let n = 0;
    async function order(
      options: Partial<OrmOrderOptions> & { memberId: string; placerOrderNumber: string },
    ) {
      n++;
      const res = await gw.postHl7(
        buildOrmOrder({
          messageId: `PORTAL-EXC-${Date.now()}-${n}`,
          cpt: '70553',
          payerId: 'PORTALONLY',
          payerName: 'PORTALONLY',
          ...options,
        }),
      );
      expect(res.status).toBe(201);
      return (await readJson(res)).caseIds[0] as string;
    }

    /**
     * Waits until `done(case)`. While the case is pended with no portal run open, the gateway's clock is pushed past the
     * status-check interval once per finished check (never while one runs: that would also expire the step's lease).
     */
    // biome-ignore lint/suspicious/noExplicitAny: a case as the API returns it, navigated by assertions
    async function until(caseId: string, done: (c: any) => boolean, what: string, push = true) {
      let checksSeen = -1;
      return waitFor(
        async () => {
          const c = await readJson(await gw.get(`/cases/${caseId}`));
          if (done(c)) return c;
          if (push && c.state === 'pended') {
            const exchanges = (await api('GET', `/cases/${caseId}/timeline`)).json.exchanges as Array<{
              purpose: string;
              completedAt: string | null;
            }>;
            const open = exchanges.some((e) => e.completedAt === null);
            const checks = exchanges.filter((e) => e.purpose === 'inquire' && e.completedAt !== null).length;
            if (!open && checks > checksSeen) {
              checksSeen = checks;
              clock.advance(61_000);
            }
          }
          return undefined;
        },
        { timeoutMs: 240_000, intervalMs: 500, what },
      );
    }

    it('pended for documents: a task, an upload through the API, the robot uploads it on the portal, then a decision', async () => {
      const caseId = await order({ memberId: 'DOCS4711', placerOrderNumber: `ORD-DOCS-${Date.now()}` });
      // Pended with the portal's request for documents: no clock push, nothing else moves it on.
      const pended = await until(
        caseId,
        (c) => c.state === 'pended' || c.state === 'failed',
        'pended',
        false,
      );
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

      const uploaded = await fetch(`${gw.gateway.url}/cases/${caseId}/documents?code=09`, {
        method: 'POST',
        headers: { authorization: `Bearer ${gw.token}`, 'content-type': 'application/pdf' },
        body: new Uint8Array(pdf),
      });
      expect(uploaded.status).toBe(201);
      const doc = await readJson(uploaded);
      const sent = await api('POST', `/tasks/${task.id}/resolve`, {
        action: 'send_documents',
        taskVersion: task.version,
      });
      expect(sent.status).toBe(200);

      // documents_sent is followed by a status check at once: no clock push needed.
      const final = await until(
        caseId,
        (c) => c.state === 'delivered' || c.state === 'failed',
        'delivered',
        false,
      );
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

    it('a changed order (ORC XO) on a portal payer: the robot changes the request on the portal, then a decision', async () => {
      const placer = `ORD-CHG-PORTAL-${Date.now()}`;
      const caseId = await order({ memberId: 'PEND5811', placerOrderNumber: placer, quantity: 1 });
      await until(caseId, (c) => c.state === 'pended' || c.state === 'failed', 'pended', false);
      const change = await gw.postHl7(
        buildOrmOrder({
          messageId: `PORTAL-EXC-XO-${Date.now()}`,
          cpt: '70553',
          payerId: 'PORTALONLY',
          payerName: 'PORTALONLY',
          memberId: 'PEND5811',
          placerOrderNumber: placer,
          quantity: 3,
          orderControl: 'XO',
        }),
      );
      expect(change.status).toBe(201);
      expect((await readJson(change)).caseIds).toEqual([caseId]);
      const changed = await until(
        caseId,
        (c) =>
          c.state === 'failed' ||
          c.events.some((e: { data?: { update?: string } }) => e.data?.update === 'portal'),
        'the change to reach the portal',
        false,
      );
      expect(changed.state).not.toBe('failed');
      // The changed request is reviewed afresh: decided at the next status check.
      const final = await until(caseId, (c) => c.state === 'delivered' || c.state === 'failed', 'delivered');
      expect(final.state).toBe('delivered');
      expect(final.decision).toMatchObject({ outcome: 'approved', channel: 'portal' });
      const events = final.events.slice(
        final.events.findLastIndex((e: { event: string }) => e.event === 'resubmitted'),
      );
      expect(events.map((e: { event: string }) => e.event)).toEqual([
        'resubmitted',
        'pended',
        'decided',
        'delivered',
      ]);
      expect(events[0]).toMatchObject({
        fromState: 'pended',
        data: { reason: 'ORDER_CHANGED', atPayer: true },
      });
      expect(events[1]).toMatchObject({ fromState: 'submitted', data: { update: 'portal' } });
      // One request at the portal, changed in place: never a second submission.
      const held = (await sim.submissions()).filter((s) => s.member === 'PEND5811');
      expect(held).toHaveLength(1);
      expect(held[0]!.revisions).toEqual([expect.objectContaining({ services: '70553', units: '3' })]);
      expect(held[0]!.units).toBe('3');
      const { rows } = await gw.gateway.db.pool.query(
        `SELECT purpose, status FROM payer_submissions WHERE case_id = $1 AND purpose IN ('submit', 'update') ORDER BY id`,
        [caseId],
      );
      expect(rows).toEqual([
        { purpose: 'submit', status: 'answered' },
        { purpose: 'update', status: 'answered' },
      ]);
      const timeline = (await api('GET', `/cases/${caseId}/timeline`)).json;
      expect(timeline.evidence.map((e: { name: string }) => e.name)).toEqual(
        expect.arrayContaining(['changes-filled', 'changes-saved']),
      );
    });

    it('[x12, portal] whose portal took the request: the documents follow it to the portal, not to the x12 channel', async () => {
      const caseId = await order({
        memberId: 'DOCS4714',
        placerOrderNumber: `ORD-DUAL-DOCS-${Date.now()}`,
        payerId: 'DUALCHAN',
      });
      const pended = await until(
        caseId,
        (c) => c.state === 'pended' || c.state === 'failed',
        'pended',
        false,
      );
      expect(pended).toMatchObject({ state: 'pended', channel: 'portal' });
      const task = await waitFor(
        async () =>
          (await api('GET', `/tasks?caseId=${caseId}&kind=more_information`)).json.items[0] as
            | { id: string; version: number }
            | undefined,
        { timeoutMs: 60_000, what: 'documents task' },
      );
      const uploaded = await fetch(`${gw.gateway.url}/cases/${caseId}/documents?code=09`, {
        method: 'POST',
        headers: { authorization: `Bearer ${gw.token}`, 'content-type': 'application/pdf' },
        body: new Uint8Array(pdf),
      });
      expect(uploaded.status).toBe(201);
      const sent = await api('POST', `/tasks/${task.id}/resolve`, {
        action: 'send_documents',
        taskVersion: task.version,
      });
      expect(sent.status).toBe(200);
      const final = await until(
        caseId,
        (c) => c.state === 'delivered' || c.state === 'failed',
        'delivered',
        false,
      );
      expect(final.state).toBe('delivered');
      expect(final.events.find((e: { event: string }) => e.event === 'documents_sent').data.via).toBe(
        'portal',
      );
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
      const pended = await until(
        caseId,
        (c) => c.state === 'pended' || c.state === 'failed',
        'pended',
        false,
      );
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
      const uploaded = await fetch(`${gw.gateway.url}/cases/${caseId}/documents?code=09`, {
        method: 'POST',
        headers: { authorization: `Bearer ${gw.token}`, 'content-type': 'application/pdf' },
        body: new Uint8Array(pdf),
      });
      expect(uploaded.status).toBe(201);
      const doc = await readJson(uploaded);
      const sent = await api('POST', `/tasks/${task.id}/resolve`, {
        action: 'send_documents',
        taskVersion: task.version,
      });
      expect(sent.status).toBe(200);
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

    it('a cancelled order (ORC CA) on a portal payer: the robot withdraws the request on the portal; the case ends cancelled', async () => {
      const placer = `ORD-CAN-PORTAL-${Date.now()}`;
      const caseId = await order({ memberId: 'PEND6911', placerOrderNumber: placer });
      await until(caseId, (c) => c.state === 'pended' || c.state === 'failed', 'pended', false);
      await order({ memberId: 'PEND6911', placerOrderNumber: placer, orderControl: 'CA' });
      const final = await until(
        caseId,
        (c) => c.state === 'cancelled' || c.state === 'failed',
        'cancelled',
        false,
      );
      expect(final.state).toBe('cancelled');
      expect(final.events.at(-1)).toMatchObject({
        event: 'cancelled',
        fromState: 'pended',
        data: { reason: 'ORDER_CANCELLED', atPayer: true, payerAnswer: 'decided', reviewActionCode: 'C' },
      });
      expect(final.decision).toMatchObject({ outcome: 'cancelled', channel: 'portal' });
      // The portal holds the one request, withdrawn once.
      const held = (await sim.submissions()).filter((s) => s.member === 'PEND6911');
      expect(held).toHaveLength(1);
      expect(held[0]!.withdrawals).toBe(1);
      expect(held[0]!.cancelledAt).toEqual(expect.any(String));
      const { rows } = await gw.gateway.db.pool.query(
        `SELECT status FROM payer_submissions WHERE case_id = $1 AND purpose = 'cancel'`,
        [caseId],
      );
      expect(rows).toEqual([{ status: 'answered' }]);
      const names = (await api('GET', `/cases/${caseId}/timeline`)).json.evidence.map(
        (e: { name: string }) => e.name,
      );
      expect(names).toEqual(expect.arrayContaining(['withdraw-confirm', 'withdrawn']));
    });

    it('[x12, portal] whose portal took the request: the cancel follows it to the portal, not to the x12 channel', async () => {
      const placer = `ORD-CAN-DUAL-${Date.now()}`;
      const caseId = await order({ memberId: 'PEND6912', placerOrderNumber: placer, payerId: 'DUALCHAN' });
      const pended = await until(
        caseId,
        (c) => c.state === 'pended' || c.state === 'failed',
        'pended',
        false,
      );
      expect(pended).toMatchObject({ state: 'pended', channel: 'portal' });
      await order({
        memberId: 'PEND6912',
        placerOrderNumber: placer,
        payerId: 'DUALCHAN',
        orderControl: 'CA',
      });
      const final = await until(
        caseId,
        (c) => c.state === 'cancelled' || c.state === 'failed',
        'cancelled',
        false,
      );
      expect(final.state).toBe('cancelled');
      expect(final.decision).toMatchObject({ outcome: 'cancelled', channel: 'portal' });
      expect((await sim.submissions()).find((s) => s.member === 'PEND6912')!.withdrawals).toBe(1);
      const { rows } = await gw.gateway.db.pool.query(
        `SELECT channel, status FROM payer_submissions WHERE case_id = $1 AND purpose = 'cancel'`,
        [caseId],
      );
      expect(rows).toEqual([{ channel: 'portal', status: 'answered' }]);
    });

    it('the logs hold no secret and no document content', () => {
      const text = logs.join('');
      expect(text).toContain('portal step');
      for (const secret of [login.password, login.username, seed, '%PDF']) expect(text).not.toContain(secret);
    });
  },
);
