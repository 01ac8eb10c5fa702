/**
 * The portal robot end to end, in real headless Chromium, through the whole gateway (embedded default unless
 * DATABASE_URL): a portal-only payer's order is submitted through the simulated payer portal (login, TOTP, form,
 * upload, confirmation), polled to a decision, and its ClaimResponse and status event are published; the portal's
 * redesign lands the case in the exceptions with the failing step and a screenshot, and a person's retry finishes
 * it; a payer with channels [x12, portal] whose clearinghouse circuit is open goes through the portal, and the
 * case records why; a capture of the logs of it all holds no secret and no TOTP code.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { Writable } from 'node:stream';
import { generate } from 'otplib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { OffsetClock } from '../../src/clock.ts';
import { createLogger } from '../../src/log/logger.ts';
import { createApiToken } from '../../src/store/index.ts';
import { browserMissing } from '../helpers/browser.ts';
import { testDatabaseKind } from '../helpers/database.ts';
import { startTestGateway, type TestGateway } from '../helpers/gateway.ts';
import { buildOrmOrder } from '../helpers/hl7-orders.ts';
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

describe.skipIf(missing)(`portal robot through the gateway (${testDatabaseKind()}, real Chromium)`, () => {
  let sim: PortalSimProcess;
  let gw: TestGateway;
  let payersDir: string;
  let reviewer: string;
  let admin: string;
  const clock = new OffsetClock();
  const logs: string[] = [];
  const published: Array<{ topic: string; key: string | null; value: string }> = [];
  const started = Date.now();

  beforeAll(async () => {
    sim = await startPortalSim({ ...login, totpSeed: seed });
    payersDir = mkdtempSync(path.join(tmpdir(), 'pagw-portal-payers-'));
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
    reviewer = (
      await createApiToken(gw.gateway.db.pool, {
        tenant: 'clinic-a',
        roles: ['reviewer'],
        label: 'e2e-reviewer',
        at: new Date(),
      })
    ).token;
    admin = (
      await createApiToken(gw.gateway.db.pool, {
        tenant: 'clinic-a',
        roles: ['admin'],
        label: 'e2e-admin',
        at: new Date(),
      })
    ).token;
    await gw.gateway.eventBus.subscribe({
      group: 'e2e-portal-downstream',
      topics: ['pa.claimresponse.v1', 'pa.status.v1'],
      fromBeginning: true,
      handle: async (m) => {
        published.push({ topic: m.topic, key: m.key, value: m.value.toString('utf8') });
      },
    });
  });
  afterAll(async () => {
    await gw?.stop();
    await sim?.stop();
    if (payersDir) rmSync(payersDir, { recursive: true, force: true });
  });

  const api = async (method: string, p: string, token = reviewer, body?: unknown) => {
    const res = await fetch(`${gw.gateway.url}${p}`, {
      method,
      headers: { authorization: `Bearer ${token}`, ...(body ? { 'content-type': 'application/json' } : {}) },
      ...(body ? { body: JSON.stringify(body) } : {}),
    });
    return {
      status: res.status,
      json: res.headers.get('content-type')?.includes('json') ? await res.json() : undefined,
      res,
    };
  };

  async function order(messageId: string, payerAlias: string, memberId: string): Promise<string> {
    const res = await gw.postHl7(
      buildOrmOrder({
        messageId,
        memberId,
        cpt: '70553',
        payerId: payerAlias,
        payerName: payerAlias,
        placerOrderNumber: messageId,
      }),
    );
    expect(res.status).toBe(201);
    return (await readJson(res)).caseIds[0];
  }

  /**
   * Waits for a state. While the case is pended, the gateway's clock is pushed past the follow-up interval once per
   * finished status check (never while one runs: a shifted clock would also expire the running step's lease).
   */
  async function until(caseId: string, states: string[], what: string) {
    let checksSeen = -1;
    return waitFor(
      async () => {
        const c = await readJson(await gw.get(`/cases/${caseId}`));
        if (states.includes(c.state)) return c;
        if (c.state === 'pended') {
          const exchanges = (await api('GET', `/cases/${caseId}/timeline`)).json.exchanges as Array<{
            purpose: string;
            completedAt: string | null;
          }>;
          const open = exchanges.some((e) => e.completedAt === null);
          const done = exchanges.filter((e) => e.purpose === 'inquire' && e.completedAt !== null).length;
          if (!open && done > checksSeen) {
            checksSeen = done;
            clock.advance(61_000);
          }
        }
        return undefined;
      },
      { timeoutMs: 240_000, intervalMs: 500, what },
    );
  }

  it('portal-only payer: login, TOTP, form with upload, confirmation, status polled to a decision, ClaimResponse and status event published', async () => {
    const caseId = await order('PORTAL-E2E-1', 'PORTALONLY', 'PEND4711');
    const delivered = await until(caseId, ['delivered', 'failed'], 'the portal case to be delivered');
    expect(delivered.state).toBe('delivered');
    expect(delivered.decision).toMatchObject({
      outcome: 'approved',
      channel: 'portal',
      reviewActionCode: 'A1',
    });
    expect(delivered.decision.certificationNumber).toMatch(/^SIMAUTH\d+$/);
    // One submission at the portal, with our trace as its reference and the attachment.
    const held = (await sim.submissions()).filter((s) => s.member === 'PEND4711');
    expect(held).toHaveLength(1);
    expect(held[0]!.attachment.size).toBeGreaterThan(0);
    expect(delivered.decision.administrativeReference).toBe(held[0]!.confirmation);
    // Polled: pended at two status looks before the decision.
    const timeline = (await api('GET', `/cases/${caseId}/timeline`)).json;
    const inquiries = timeline.exchanges.filter((e: { purpose: string }) => e.purpose === 'inquire');
    expect(inquiries.length).toBeGreaterThanOrEqual(3);
    expect(timeline.events.map((e: { event: string }) => e.event)).toEqual([
      'received',
      'validated',
      'eligibility_checked',
      'submitted',
      'pended',
      'decided',
      'delivered',
    ]);
    // Evidence with the case: the filled form, the confirmation, each status page.
    const names = timeline.evidence.map((e: { name: string }) => e.name);
    expect(names.slice(0, 2)).toEqual(['form-filled', 'confirmation']);
    expect(names.filter((n: string) => n === 'status').length).toBe(inquiries.length);
    const shot = await api('GET', `/cases/${caseId}/evidence/${timeline.evidence[1].id}`);
    expect(shot.status).toBe(200);
    expect(shot.res.headers.get('content-type')).toBe('image/png');
    // Published downstream: the complete ClaimResponse at the decision, and the status events.
    const isFinal = (m: (typeof published)[number]) =>
      m.topic === 'pa.claimresponse.v1' && m.key === caseId && m.value.includes('"outcome":"complete"');
    await waitFor(
      () =>
        published.some(isFinal) &&
        published.some(
          (m) => m.topic === 'pa.status.v1' && m.key === caseId && m.value.includes('"delivered"'),
        ),
      { timeoutMs: 60_000, what: 'ClaimResponse and status event on the bus' },
    );
    const responses = published.filter((m) => m.topic === 'pa.claimresponse.v1' && m.key === caseId);
    expect(JSON.parse(responses.at(-1)!.value).outcome).toBe('complete');
    expect(JSON.parse(published.find(isFinal)!.value)).toMatchObject({ resourceType: 'ClaimResponse' });
  });

  it('the portal’s redesign: the case lands in the exceptions with the failing step and a screenshot; a retry finishes it', async () => {
    await sim.setLayout('v2');
    const caseId = await order('PORTAL-E2E-2', 'PORTALONLY', 'W4712');
    try {
      const failed = await until(caseId, ['failed', 'pended', 'delivered'], 'the case to fail');
      expect(failed.state).toBe('failed');
    } finally {
      await sim.setLayout('v1');
    }
    // The exception a person sees: the failing recipe step and the screenshot of the page it stopped on.
    const exceptions = (await api('GET', '/exceptions', admin)).json.items;
    const item = exceptions.find((e: { caseId: string }) => e.caseId === caseId);
    expect(item).toMatchObject({ kind: 'channel_failure', state: 'open' });
    expect(item.reasonCodes).toContain('PAGW_PORTAL_PAGE_CHANGED');
    expect(item.details.problems[0].location).toBe(
      'recipe sim-health, flow submit, step 2 (fill field "Patient last name")',
    );
    const timeline = (await api('GET', `/cases/${caseId}/timeline`)).json;
    const failure = timeline.evidence.find((e: { name: string }) => e.name === 'failure-2');
    expect(failure).toMatchObject({ flow: 'submit', step: 2 });
    expect(item.details.problems[0].message).toContain(`portal evidence ${failure.id}`);
    const failedEvent = timeline.events.find((e: { event: string }) => e.event === 'failed');
    expect(failedEvent.data).toMatchObject({ errorCode: 'PAGW_PORTAL_PAGE_CHANGED' });
    expect((await sim.submissions()).filter((s) => s.member === 'W4712')).toHaveLength(0);
    // A person fixed the recipe (here: the portal came back) and retries the case.
    const retried = await api('POST', `/cases/${caseId}/retry`, admin, {
      caseVersion: timeline.case.version,
    });
    expect(retried.status).toBe(200);
    const done = await until(caseId, ['delivered', 'failed'], 'the retried case to be delivered');
    expect(done.state).toBe('delivered');
    expect((await sim.submissions()).filter((s) => s.member === 'W4712')).toHaveLength(1);
  });

  it('[x12, portal] with the clearinghouse circuit open goes through the portal, and the case records why', async () => {
    // The first case finds the clearinghouse unreachable (never sent: falls back), which opens its circuit.
    const first = await order('PORTAL-E2E-3', 'DUALCHAN', 'W4713');
    expect((await until(first, ['pended', 'delivered', 'failed'], 'the first dual case')).state).not.toBe(
      'failed',
    );
    const second = await order('PORTAL-E2E-4', 'DUALCHAN', 'W4714');
    const done = await until(second, ['delivered', 'failed'], 'the second dual case');
    expect(done).toMatchObject({ state: 'delivered', channel: 'portal' });
    const timeline = (await api('GET', `/cases/${second}/timeline`)).json;
    const checked = timeline.events.find((e: { event: string }) => e.event === 'eligibility_checked');
    expect(checked.data).toMatchObject({
      channel: 'portal',
      fallbacks: [{ channel: 'x12', reason: 'circuit_open' }],
    });
    const pended = timeline.events.find((e: { event: string }) => e.event === 'pended');
    expect(pended.data).toMatchObject({
      channel: 'portal',
      fallbacks: [{ channel: 'x12', reason: 'circuit_open' }],
    });
    expect(
      timeline.audit
        .filter((a: { action: string }) => a.action === 'case.channel_fallback')
        .map((a: { details: unknown }) => a.details),
    ).toContainEqual({ from: 'x12', to: 'portal', reason: 'circuit_open' });
    // Nothing went to the clearinghouse for the second case.
    expect(timeline.exchanges.every((e: { channel: string }) => e.channel === 'portal')).toBe(true);
  });

  it('the logs of all of it hold no secret and no TOTP code', async () => {
    const text = logs.join('');
    expect(text).toContain('portal step'); // the runs were logged (debug), by flow and step
    for (const secret of [login.password, login.username, seed]) expect(text).not.toContain(secret);
    // Every TOTP code valid during the test (30 s steps, with a margin) must be absent as a token.
    const codes = new Set<string>();
    for (let t = started - 120_000; t <= Date.now() + 120_000; t += 30_000)
      codes.add(await generate({ secret: seed, epoch: Math.floor(t / 1000) }));
    for (const code of codes) expect(text).not.toMatch(new RegExp(`(?<![0-9])${code}(?![0-9])`));
    const audit = await gw.gateway.db.pool.query<{ details: unknown }>('SELECT details FROM audit_log');
    const auditText = JSON.stringify(audit.rows);
    for (const secret of [login.password, seed]) expect(auditText).not.toContain(secret);
    for (const code of codes) expect(auditText).not.toMatch(new RegExp(`(?<![0-9])${code}(?![0-9])`));
  });
});
