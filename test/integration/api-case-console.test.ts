/** The API routes behind the console, and the console's static files, on the seeded case set. */
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildApp } from '../../src/api/app.ts';
import { caseConsoleRouter } from '../../src/api/case-console-routes.ts';
import { taskRouter } from '../../src/api/task-routes.ts';
import { ManualClock } from '../../src/clock.ts';
import { consoleRouter } from '../../src/console/router.ts';
import { createLogger } from '../../src/log/logger.ts';
import {
  createApiToken,
  type Database,
  insertOutboxMessages,
  withTransaction,
} from '../../src/store/index.ts';
import { DAY0, HOUR, SEED_NOW, seedAnalyticsCases, seedPayerExchange } from '../helpers/analytics-seed.ts';
import { openTestDatabase, testDatabaseKind } from '../helpers/database.ts';
import { readJson } from '../helpers/http.ts';
import { countRows } from '../helpers/store.ts';
import { testVault } from '../helpers/vault.ts';

describe(`console API on ${testDatabaseKind()}`, () => {
  let db: Database;
  let server: Server;
  let base: string;
  let ids: Record<string, string>;
  let otherIds: Record<string, string>;
  let exchangeId: string;
  const tokens: Record<string, string> = {};
  const clock = new ManualClock(SEED_NOW);

  beforeAll(async () => {
    db = await openTestDatabase();
    ids = await seedAnalyticsCases(db.pool, 'clinic-a');
    otherIds = await seedAnalyticsCases(db.pool, 'clinic-b');
    exchangeId = await seedPayerExchange(db.pool, 'clinic-a', ids.A!, new Date(DAY0 + 9 * HOUR));
    await withTransaction(db.pool, (tx) =>
      insertOutboxMessages(tx, { tenant: 'clinic-a', caseId: ids.A!, at: new Date(DAY0 + 18 * HOUR) }, [
        {
          topic: 'pa.claimresponse.v1',
          key: ids.A!,
          value: Buffer.from(JSON.stringify({ resourceType: 'ClaimResponse', outcome: 'complete' })),
        },
      ]),
    );
    const app = buildApp({
      db,
      clock,
      logger: createLogger({ level: 'silent' }),
      routers: [
        caseConsoleRouter({ db, clock, claimResponseTopic: 'pa.claimresponse.v1', phi: testVault(db).phi }),
        taskRouter({ db, clock }),
      ],
      publicRouters: [consoleRouter()],
    });
    server = await new Promise<Server>((resolve) => {
      const s = app.listen(0, '127.0.0.1', () => resolve(s));
    });
    base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    for (const role of ['reviewer', 'erp', 'ehr'] as const)
      tokens[role] = (
        await createApiToken(db.pool, { tenant: 'clinic-a', roles: [role], at: clock.now() })
      ).token;
  });
  afterAll(async () => {
    await new Promise((resolve) => server?.close(resolve));
    await db?.close();
  });

  const get = (path: string, role = 'reviewer') =>
    fetch(`${base}${path}`, { headers: { authorization: `Bearer ${tokens[role]}` } });
  const search = async (body: Record<string, unknown>, role = 'reviewer') => {
    const res = await fetch(`${base}/cases/_search`, {
      method: 'POST',
      headers: { authorization: `Bearer ${tokens[role]}`, 'content-type': 'application/json' },
      body: JSON.stringify(body),
    });
    return { status: res.status, body: await readJson(res) };
  };
  const names = (items: Array<{ id: string }>) =>
    items.map((i) => Object.entries(ids).find(([, id]) => id === i.id)?.[0] ?? 'foreign').sort();

  it('searches by order id and by case id in the body, within the tenant only', async () => {
    expect(names((await search({ term: 'ORD-seed-C' })).body.items)).toEqual(['C']);
    expect(names((await search({ term: ids.D })).body.items)).toEqual(['D']);
    expect((await search({ term: otherIds.D })).body.items).toEqual([]);
    expect((await search({ term: 'ORD^with spaces' })).body.items).toEqual([]); // any printable text is a term
    expect((await search({ term: 'bad\u0000term' })).status).toBe(400);
  });

  it('filters by state, payer, service, channel, urgency and SLA risk', async () => {
    expect(names((await search({ state: 'decided' })).body.items)).toEqual(['A', 'B', 'C', 'D', 'E', 'F']);
    expect(names((await search({ payer: 'beta', service: '97110' })).body.items)).toEqual(['G', 'H']);
    expect(names((await search({ urgency: 'expedited', channel: 'x12' })).body.items)).toEqual(['C', 'F']);
    expect(names((await search({ slaRisk: 'breached' })).body.items)).toEqual(['G']);
    expect(names((await search({ slaRisk: 'at_risk' })).body.items)).toEqual(['H']);
    expect(names((await search({ slaRisk: 'on_track' })).body.items)).toEqual(['J']);
  });

  it('pages with a keyset cursor: every case once, most recently changed first', async () => {
    const seen: string[] = [];
    const updated: number[] = [];
    let cursor: string | null = null;
    do {
      const page: { body: { items: Array<{ id: string; updatedAt: string }>; next: string | null } } =
        await search({
          limit: 3,
          ...(cursor ? { cursor } : {}),
        });
      seen.push(...page.body.items.map((i) => i.id));
      updated.push(...page.body.items.map((i) => Date.parse(i.updatedAt)));
      cursor = page.body.next;
    } while (cursor);
    expect(new Set(seen).size).toBe(10);
    expect(names(seen.map((id) => ({ id })))).toEqual(['A', 'B', 'C', 'D', 'E', 'F', 'G', 'H', 'I', 'J']);
    expect(updated).toEqual([...updated].sort((a, b) => b - a));
  });

  it('refuses a bad filter, naming it', async () => {
    const bad = await search({ state: 'lost', limit: 1000 });
    expect(bad.status).toBe(400);
    expect(bad.body.issue[0].expression).toEqual(['state']);
    expect((await search({ cursor: 'not-a-cursor' })).status).toBe(400);
  });

  it('a case timeline: events, payer exchanges, audit rows, decision and ClaimResponse', async () => {
    const body = await readJson(await get(`/cases/${ids.D}/timeline`));
    expect(body.case).toMatchObject({
      id: ids.D,
      state: 'decided',
      outcome: 'approved',
      firstOutcome: 'denied',
    });
    expect(body.events.map((e: { event: string }) => e.event)).toEqual([
      'received',
      'validated',
      'eligibility_checked',
      'submitted',
      'decided',
      'appeal_submitted',
      'decision_updated',
    ]);
    expect(body.decision.outcome).toBe('approved');
    expect(body.audit.map((a: { action: string }) => a.action)).toContain('case.decided');
    expect(body.audit[0]).toMatchObject({ action: 'case.received', actor: 'http:seed-ehr' });
    const a = await readJson(await get(`/cases/${ids.A}/timeline`));
    expect(a.exchanges).toEqual([
      expect.objectContaining({
        id: exchangeId,
        purpose: 'submit',
        channel: 'x12',
        hasRequest: true,
        hasResponse: true,
      }),
    ]);
    expect(a.exchanges[0].request).toBeUndefined();
    expect(a.claimResponse.value).toEqual({ resourceType: 'ClaimResponse', outcome: 'complete' });
    expect(a.evidenceAllowed).toBe(true);
  });

  it('raw evidence only for roles allowed to see it, and every view is audited', async () => {
    const erpView = await readJson(await get(`/cases/${ids.A}/timeline`, 'erp'));
    expect(erpView.evidenceAllowed).toBe(false);
    expect('claimResponse' in erpView).toBe(false);
    expect((await get(`/cases/${ids.A}/exchanges/${exchangeId}/evidence`, 'erp')).status).toBe(403);
    expect((await get(`/cases/${ids.A}/exchanges/${exchangeId}/evidence`, 'ehr')).status).toBe(403);
    const before = await countRows(db.pool, 'audit_log', `action = 'case.evidence_viewed'`);
    const res = await get(`/cases/${ids.A}/exchanges/${exchangeId}/evidence`);
    expect(res.status).toBe(200);
    const raw = await readJson(res);
    expect(raw.request).toMatch(/^ISA\*/);
    expect(raw.response).toContain('HCR*A1');
    expect(
      await countRows(db.pool, 'audit_log', `action = 'case.evidence_viewed' AND case_id = $1`, [ids.A]),
    ).toBe(before + 1);
    // The exchange of one case is not reachable through another case, nor from another tenant.
    expect((await get(`/cases/${ids.B}/exchanges/${exchangeId}/evidence`)).status).toBe(404);
    expect((await get(`/cases/${otherIds.A}/timeline`)).status).toBe(404);
  });

  it('exceptions: a failed case no task covers, with the reason codes that failed it', async () => {
    const body = await readJson(await get('/exceptions', 'erp'));
    expect(body.items).toEqual([
      expect.objectContaining({
        id: null,
        caseId: ids.I,
        kind: 'channel_failure',
        reasonCodes: ['STEP_FAILED', 'PAGW_X12_TRANSPORT'],
        case: expect.objectContaining({ payerId: 'acme', state: 'failed' }),
        failure: { reason: 'STEP_FAILED', step: 'eligibility_checked', errorCode: 'PAGW_X12_TRANSPORT' },
        // Retrying is the admin's: an ERP token sees the item, not the action.
        actions: [],
      }),
    ]);
  });

  it('whoami names the token’s tenant and roles', async () => {
    expect(await readJson(await get('/whoami', 'erp'))).toEqual({
      tenant: 'clinic-a',
      roles: ['erp'],
      label: null,
    });
  });

  it('serves the console without a token, with a strict Content-Security-Policy and the libraries as modules', async () => {
    const page = await fetch(`${base}/console`);
    expect(page.status).toBe(200);
    const html = await page.text();
    expect(html).toContain('"preact":"/console/vendor/preact/dist/preact.mjs"');
    expect(page.headers.get('content-security-policy')).toMatch(/script-src 'self' 'sha256-[A-Za-z0-9+/=]+'/);
    for (const file of [
      '/console/app/app.js',
      '/console/vendor/preact/dist/preact.mjs',
      '/console/vendor/preact/hooks/dist/hooks.mjs',
      '/console/vendor/htm/dist/htm.mjs',
      '/console/vendor/chart.js/dist/chart.js',
      '/console/vendor/@kurkle/color/dist/color.esm.js',
    ]) {
      const res = await fetch(`${base}${file}`);
      expect(res.status, file).toBe(200);
      expect(res.headers.get('content-type'), file).toMatch(/javascript/);
    }
    expect((await fetch(`${base}/console/vendor/preact/package.json`)).status).toBe(404);
    expect((await fetch(`${base}/console/app/nope.js`)).status).toBe(404);
    // The API behind it still needs a token.
    expect((await fetch(`${base}/exceptions`)).status).toBe(401);
  });
});
