/**
 * Shared wiring of the portal robot's end-to-end exception tests (portal-exceptions-documents.test.ts,
 * portal-exceptions-orders.test.ts): the simulated payer portal as a separate process, the whole gateway (embedded
 * default unless DATABASE_URL) driving real headless Chromium, the portal payers (PORTALONLY, DUALCHAN with channels
 * [x12, portal], and NOUPLOAD: the same portal through a recipe without an upload flow), the gateway's debug log
 * captured for the no-secrets check, and the helpers that post orders, call the API and wait for a case (pushing the
 * gateway's clock past the status-check interval while the case is pended).
 *
 * Each test file calls startPortalGateway() inside its describe and so gets a gateway, a portal and a log of its
 * own. The exported `gw` and `sim` are bound by its beforeAll: read them inside tests only.
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { Writable } from 'node:stream';
import { afterAll, beforeAll, expect } from 'vitest';
import { defaultRecipesDir } from '../../connectors/portal/recipes.ts';
import { OffsetClock } from '../../src/clock.ts';
import { createLogger } from '../../src/log/logger.ts';
import { browserMissing } from '../helpers/browser.ts';
import { samplePdf as pdf, sendDocuments, uploadDocument } from '../helpers/documents.ts';
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

/** Why the suites skip (no Chromium), or undefined. */
export const missing = browserMissing();
/** The PDF the tests upload (re-exported for the test files' own size checks). */
export { pdf };

export let sim: PortalSimProcess;
export let gw: TestGateway;
let payersDir: string;
let recipesDir: string;
export const clock = new OffsetClock();
/** What the gateway logged (debug), for the check that no secret and no document content is in it. */
export const logs: string[] = [];

/** Starts the portal and the gateway before the file's tests and stops them after. Call inside the describe. */
export function startPortalGateway(): void {
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
}

export const api = async (method: string, p: string, body?: unknown) => {
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
export async function order(
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
export async function until(caseId: string, done: (c: any) => boolean, what: string, push = true) {
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

/** Waits, without pushing the clock, until the case is in `state` or has failed (the test then says which). */
export function untilStateOrFailed(caseId: string, state: string) {
  return until(caseId, (c) => c.state === state || c.state === 'failed', state, false);
}

/** Uploads the test PDF as the requested progress notes (code 09) and resolves the task by sending them, as a
 * person does in the console; returns the stored document. */
export async function uploadAndSendDocuments(caseId: string, task: { id: string; version: number }) {
  const uploaded = await uploadDocument(gw, caseId, pdf);
  expect(uploaded.status).toBe(201);
  const doc = await readJson(uploaded);
  expect((await sendDocuments(gw, task.id, task.version)).status).toBe(200);
  return doc;
}
