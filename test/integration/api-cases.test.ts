import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildApp } from '../../src/api/app.ts';
import { ManualClock } from '../../src/clock.ts';
import { createLogger } from '../../src/log/logger.ts';
import {
  createApiToken,
  type Database,
  revokeApiToken,
  transitionCase,
  withTransaction,
} from '../../src/store/index.ts';
import { openTestDatabase, testDatabaseKind } from '../helpers/database.ts';
import { readJson } from '../helpers/http.ts';
import { insertSampleCase, testActor } from '../helpers/store.ts';

describe(`HTTP API: auth, tenancy and cases on ${testDatabaseKind()}`, () => {
  let db: Database;
  let server: Server;
  let base: string;
  let tokenA: string;
  let tokenB: string;
  let caseA: string;
  let caseB: string;
  const clock = new ManualClock('2026-03-01T10:00:00Z');

  beforeAll(async () => {
    db = await openTestDatabase();
    const app = buildApp({ db, clock, logger: createLogger({ level: 'silent' }) });
    server = await new Promise<Server>((resolve) => {
      const s = app.listen(0, '127.0.0.1', () => resolve(s));
    });
    base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    tokenA = (await createApiToken(db.pool, { tenant: 'clinic-a', roles: ['ehr'], at: clock.now() })).token;
    tokenB = (await createApiToken(db.pool, { tenant: 'clinic-b', roles: ['erp'], at: clock.now() })).token;
    caseA = (await insertSampleCase(db.pool, { tenant: 'clinic-a' })).id;
    caseB = (await insertSampleCase(db.pool, { tenant: 'clinic-b' })).id;
    await withTransaction(db.pool, (tx) =>
      transitionCase(tx, {
        tenant: 'clinic-a',
        caseId: caseA,
        event: 'validated',
        actor: testActor,
        at: clock.now(),
      }),
    );
    await insertSampleCase(db.pool, { tenant: 'clinic-a' });
  });
  afterAll(async () => {
    await new Promise((resolve) => server?.close(resolve));
    await db?.close();
  });

  const get = (path: string, token?: string) =>
    fetch(`${base}${path}`, { headers: token ? { authorization: `Bearer ${token}` } : {} });

  it('serves health and readiness without a token', async () => {
    expect(await readJson(await get('/healthz'))).toEqual({ status: 'ok' });
    expect(await readJson(await get('/readyz'))).toEqual({ status: 'ready', database: db.kind });
  });

  it('refuses a request without a token with 401 and an OperationOutcome', async () => {
    const res = await get(`/cases/${caseA}`);
    expect(res.status).toBe(401);
    expect(res.headers.get('www-authenticate')).toMatch(/^Bearer/);
    expect(res.headers.get('content-type')).toMatch(/application\/fhir\+json/);
    const body = await readJson(res);
    expect(body).toMatchObject({
      resourceType: 'OperationOutcome',
      issue: [{ severity: 'error', code: 'login', details: { coding: [{ code: 'PAGW_AUTH_MISSING' }] } }],
    });
  });

  it('refuses an unknown token and a revoked one', async () => {
    expect((await get(`/cases/${caseA}`, 'pagw_not-a-real-token')).status).toBe(401);
    const { token, principal } = await createApiToken(db.pool, {
      tenant: 'clinic-a',
      roles: ['ehr'],
      at: clock.now(),
    });
    expect((await get(`/cases/${caseA}`, token)).status).toBe(200);
    await revokeApiToken(db.pool, principal.tokenId, clock.now());
    expect((await get(`/cases/${caseA}`, token)).status).toBe(401);
  });

  it('returns the caller’s own case with its events', async () => {
    const res = await get(`/cases/${caseA}`, tokenA);
    expect(res.status).toBe(200);
    const body = await readJson(res);
    expect(body).toMatchObject({ id: caseA, state: 'validated', version: 2 });
    expect(body.events.map((e: { event: string }) => e.event)).toEqual(['received', 'validated']);
  });

  it('answers a tenant-A token asking for a tenant-B case with 404, not 403', async () => {
    const res = await get(`/cases/${caseB}`, tokenA);
    expect(res.status).toBe(404);
    const body = await readJson(res);
    expect(body.issue[0]).toMatchObject({
      code: 'not-found',
      details: { coding: [{ code: 'PAGW_CASE_NOT_FOUND' }] },
    });
    // …and exactly like an id that does not exist at all.
    const missing = await get('/cases/00000000-0000-8000-8000-000000000000', tokenA);
    expect(missing.status).toBe(404);
    expect(await readJson(missing)).toEqual(body);
    expect((await get('/cases/not-a-uuid', tokenA)).status).toBe(404);
  });

  it('lists only the caller’s cases, filtered by state', async () => {
    const all = await readJson(await get('/cases', tokenA));
    expect(all.items).toHaveLength(2);
    const validated = await readJson(await get('/cases?state=validated', tokenA));
    expect(validated.items.map((c: { id: string }) => c.id)).toEqual([caseA]);
    const received = await readJson(await get('/cases?state=received', tokenB));
    expect(received.items.map((c: { id: string }) => c.id)).toEqual([caseB]);
  });

  it('pages with a cursor', async () => {
    const page1 = await readJson(await get('/cases?limit=1', tokenA));
    expect(page1.items).toHaveLength(1);
    const page2 = await readJson(await get(`/cases?limit=1&cursor=${page1.next}`, tokenA));
    expect(page2.items).toHaveLength(1);
    expect(page2.items[0].id).not.toBe(page1.items[0].id);
  });

  it('rejects a bad state filter with 400 naming the parameter', async () => {
    const res = await get('/cases?state=approved', tokenA);
    expect(res.status).toBe(400);
    const body = await readJson(res);
    expect(body.issue[0].expression).toEqual(['state']);
  });

  it('answers unknown endpoints with a 404 OperationOutcome', async () => {
    const res = await get('/nope', tokenA);
    expect(res.status).toBe(404);
    expect((await readJson(res)).issue[0].details.coding[0].code).toBe('PAGW_HTTP_NOT_FOUND');
  });
  it('shows a case and its events from one snapshot while the case is moving', async () => {
    // Regression: the row and its events used to be read in two statements, so a reader could see an event beside the
    // state (or version) it replaced. Here one writer moves a case through many transitions while readers poll it;
    // every answer must hold exactly as many events as the version it shows.
    const { token } = await createApiToken(db.pool, {
      tenant: 'clinic-snap',
      roles: ['ehr'],
      at: clock.now(),
    });
    const moving = (await insertSampleCase(db.pool, { tenant: 'clinic-snap' })).id;
    const move = (event: 'validated' | 'eligibility_checked' | 'review_requested' | 'review_escalated') =>
      withTransaction(db.pool, (tx) =>
        transitionCase(tx, {
          tenant: 'clinic-snap',
          caseId: moving,
          event,
          actor: testActor,
          at: clock.now(),
        }),
      );
    const first = await readJson(await get(`/cases/${moving}`, token));
    expect(first.events).toHaveLength(first.version);

    let writing = true;
    const writer = (async () => {
      try {
        for (const event of ['validated', 'eligibility_checked', 'review_requested'] as const)
          await move(event);
        for (let i = 0; i < 120; i++) await move('review_escalated');
      } finally {
        writing = false;
      }
    })();
    const seen: Array<{ version: number; events: number }> = [];
    const reader = async () => {
      while (writing) {
        const body = await readJson(await get(`/cases/${moving}`, token));
        seen.push({ version: body.version, events: body.events.length });
        expect(body.events.at(-1).toState).toBe(body.state);
      }
    };
    await Promise.all([writer, reader(), reader()]);
    expect(seen.length).toBeGreaterThan(0);
    expect(seen.filter((s) => s.events !== s.version)).toEqual([]);
    const last = await readJson(await get(`/cases/${moving}`, token));
    expect(last.version).toBe(first.version + 123);
    expect(last.events).toHaveLength(last.version);
  });
});
