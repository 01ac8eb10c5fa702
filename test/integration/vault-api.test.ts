/**
 * The vault is write-only to people: through the admin API a secret goes in and only metadata comes out. Checked
 * on a real gateway: the vault routes (admin only, tenant-scoped, audited), then EVERY route the gateway serves,
 * called with an admin token after a secret was stored and read — no response body holds the value.
 */
import type { Express } from 'express';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createApiToken } from '../../src/store/index.ts';
import { testDatabaseKind } from '../helpers/database.ts';
import { startTestGateway, type TestGateway } from '../helpers/gateway.ts';
import { buildOrmOrder } from '../helpers/hl7-orders.ts';

const value = 'S3cr3t-Value-That-Must-Never-Come-Back';
const totpSeed = 'KRSXG5CTMVRXEZLUKRSXG5CTMVRXEZLU';
let gw: TestGateway;
let admin: string;
let ehr: string;
let otherAdmin: string;

async function call(
  method: string,
  path: string,
  token: string,
  body?: unknown,
): Promise<{ status: number; text: string }> {
  const res = await fetch(`${gw.gateway.url}${path}`, {
    method,
    headers: {
      authorization: `Bearer ${token}`,
      ...(body === undefined ? {} : { 'content-type': 'application/json' }),
    },
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
  });
  return { status: res.status, text: await res.text() };
}

beforeAll(async () => {
  gw = await startTestGateway();
  const at = new Date();
  admin = (
    await createApiToken(gw.gateway.db.pool, { tenant: 'clinic-a', roles: ['admin'], label: 'admin', at })
  ).token;
  ehr = (await createApiToken(gw.gateway.db.pool, { tenant: 'clinic-a', roles: ['ehr', 'reviewer'], at }))
    .token;
  otherAdmin = (await createApiToken(gw.gateway.db.pool, { tenant: 'clinic-b', roles: ['admin'], at })).token;
});
afterAll(async () => {
  await gw?.stop();
});

describe(`vault admin API on ${testDatabaseKind()}`, () => {
  it('stores a secret and answers metadata only; list shows names; delete removes; all audited', async () => {
    const put = await call('PUT', '/vault/secrets/portal/sim-health/password', admin, { value });
    expect(put.status).toBe(201);
    expect(JSON.parse(put.text)).toMatchObject({
      name: 'portal/sim-health/password',
      kind: 'value',
      version: 1,
    });
    expect(put.text).not.toContain(value);
    const totp = await call('PUT', '/vault/secrets/portal/sim-health/totp', admin, {
      value: totpSeed,
      kind: 'totp',
    });
    expect(totp.status).toBe(201);
    expect(totp.text).not.toContain(totpSeed);
    const list = await call('GET', '/vault/secrets', admin);
    expect(list.status).toBe(200);
    expect(JSON.parse(list.text).items.map((i: { name: string }) => i.name)).toEqual([
      'portal/sim-health/password',
      'portal/sim-health/totp',
    ]);
    expect(list.text).not.toContain(value);
    expect(list.text).not.toContain(totpSeed);
    // Another tenant sees none of it.
    expect(JSON.parse((await call('GET', '/vault/secrets', otherAdmin)).text).items).toEqual([]);
    // The connector path still reads it (in-process), audited.
    expect(
      await gw.gateway.vault.read('portal/sim-health/password', { tenant: 'clinic-a', reader: 'test' }),
    ).toBe(value);
    const { rows } = await gw.gateway.db.pool.query<{ action: string }>(
      `SELECT action FROM audit_log WHERE tenant_id = 'clinic-a' AND action LIKE 'vault.%' ORDER BY seq`,
    );
    expect(rows.map((r) => r.action)).toEqual(['vault.secret_set', 'vault.secret_set', 'vault.secret_read']);
  });

  it('refuses non-admin tokens, bad names and bad bodies', async () => {
    expect((await call('GET', '/vault/secrets', ehr)).status).toBe(403);
    expect((await call('PUT', '/vault/secrets/x/y', ehr, { value })).status).toBe(403);
    expect((await call('DELETE', '/vault/secrets/x/y', ehr)).status).toBe(403);
    expect((await call('POST', '/vault/rotate', ehr)).status).toBe(403);
    expect((await call('PUT', '/vault/secrets/Bad Name', admin, { value })).status).toBe(400);
    expect((await call('PUT', '/vault/secrets/ok/name', admin, {})).status).toBe(400);
    expect((await call('PUT', '/vault/secrets/ok/name', admin, { value, kind: 'other' })).status).toBe(400);
    const badSeed = await call('PUT', '/vault/secrets/ok/totp', admin, { value: 'x!', kind: 'totp' });
    expect(badSeed.status).toBe(400);
    expect((await call('GET', '/vault/secrets', 'not-a-token')).status).toBe(401);
  });

  it('rotate answers counts; delete answers 204, then 404', async () => {
    const rotate = await call('POST', '/vault/rotate', admin);
    expect(rotate.status).toBe(200);
    expect(JSON.parse(rotate.text)).toMatchObject({ secretKeys: 0, unreadable: [] });
    await call('PUT', '/vault/secrets/tmp/gone', admin, { value });
    expect((await call('DELETE', '/vault/secrets/tmp/gone', admin)).status).toBe(204);
    expect((await call('DELETE', '/vault/secrets/tmp/gone', admin)).status).toBe(404);
  });

  it('no route of the gateway returns a stored value', async () => {
    // A case, so that case routes have something to show.
    const order = await gw.postHl7(
      buildOrmOrder({ messageId: 'VAULT-SWEEP-1', memberId: 'W100', cpt: '70551' }),
    );
    expect(order.status).toBeLessThan(300);
    const caseId = (
      JSON.parse((await call('GET', '/cases?limit=1', admin)).text) as { items: Array<{ id: string }> }
    ).items[0]!.id;
    const routes = collectRoutes((gw.gateway as unknown as { app?: Express }).app);
    expect(routes.length).toBeGreaterThan(15);
    const seen: string[] = [];
    for (const { method, path } of routes) {
      const url = path
        .replace(/\*name/, 'portal/sim-health/password')
        .replace(':id', caseId)
        .replace(':exchangeId', '1')
        .replace(/:[a-zA-Z]+/g, 'x');
      // Writes get an empty or harmless body; the PUT re-stores the same value (a write, answered with metadata).
      const body = method === 'put' ? { value } : method === 'post' ? {} : undefined;
      if (method === 'delete') continue; // covered above; deleting would end the sweep's secret
      const res = await call(method.toUpperCase(), url, admin, body);
      seen.push(`${method} ${path} ${res.status}`);
      expect(res.text, `${method} ${path}`).not.toContain(value);
      expect(res.text, `${method} ${path}`).not.toContain(totpSeed);
    }
    expect(seen.some((s) => s.startsWith('get /vault/secrets 200'))).toBe(true);
    expect(seen.filter((s) => / 200$/.test(s)).length).toBeGreaterThan(10);
  });
});

interface Layer {
  route?: { path: string | string[]; methods: Record<string, boolean> };
  handle?: { stack?: Layer[] };
}

/** Every [method, path] the express app serves, through nested routers. */
function collectRoutes(app: Express | undefined): Array<{ method: string; path: string }> {
  if (!app) throw new Error('the running gateway does not expose its express app');
  const out: Array<{ method: string; path: string }> = [];
  const walk = (stack: Layer[]) => {
    for (const layer of stack) {
      if (layer.route) {
        const paths = Array.isArray(layer.route.path) ? layer.route.path : [layer.route.path];
        for (const path of paths)
          for (const method of Object.keys(layer.route.methods)) out.push({ method, path: String(path) });
      } else if (layer.handle?.stack) {
        walk(layer.handle.stack);
      }
    }
  };
  walk((app as unknown as { router: { stack: Layer[] } }).router.stack);
  return out;
}
