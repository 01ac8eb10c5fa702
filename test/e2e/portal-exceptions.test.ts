/**
 * The portal robot for a request the payer already holds (issue #14), in real headless Chromium through the whole
 * gateway (embedded default unless DATABASE_URL), against the simulated payer portal (a separate process):
 * - the portal pends the request asking for progress notes: a documents task; the care team uploads a PDF through
 *   the API and sends it; the robot opens the request on the portal and uploads it from memory (the portal records
 *   its name, size and type); the payer decides at the next status check;
 * - the EHR changes the order (ORC-1 XO, more units) while the portal holds it: the robot opens the request, types
 *   the changed fields and saves; the case is resubmitted, pended on the change and decided at the next status check.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { Writable } from 'node:stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
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
    const clock = new OffsetClock();
    const logs: string[] = [];

    beforeAll(async () => {
      sim = await startPortalSim({ ...login, totpSeed: seed });
      payersDir = mkdtempSync(path.join(tmpdir(), 'pagw-portal-exc-payers-'));
      portalPayerFiles(payersDir, sim.url);
      const capture = new Writable({
        write(chunk, _enc, done) {
          logs.push(String(chunk));
          done();
        },
      });
      gw = await startTestGateway({
        env: { PAYERS_DIR: payersDir, LOG_LEVEL: 'debug', STEP_LEASE_MS: '120000' },
        clock,
        secrets: portalSecrets('clinic-a'),
        logger: createLogger({ level: 'debug', destination: capture }),
      });
    });
    afterAll(async () => {
      await gw?.stop();
      await sim?.stop();
      if (payersDir) rmSync(payersDir, { recursive: true, force: true });
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

    it('the logs hold no secret and no document content', () => {
      const text = logs.join('');
      expect(text).toContain('portal step');
      for (const secret of [login.password, login.username, seed, '%PDF']) expect(text).not.toContain(secret);
    });
  },
);
