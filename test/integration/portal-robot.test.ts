/**
 * The portal robot's failure paths and safety rules, in real headless Chromium against the simulated payer portal:
 * every failure is typed and names where it happened (with a screenshot kept, credential fields masked), nothing is
 * submitted twice (a submission whose confirmation was never seen is found by searching the portal first), and the
 * browser is shared, limited per portal, and started again when it dies.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { withTransaction } from '../../src/store/index.ts';
import { listEvidence, openEvidence } from '../../src/store/portal-evidence.ts';
import { browserMissing } from '../helpers/browser.ts';
import { openPortalHarness, type PortalHarness, storePortalSecrets } from './portal-harness.ts';

const missing = browserMissing();

describe.skipIf(missing)('portal robot: typed failures and safety (real Chromium)', () => {
  let h: PortalHarness;

  beforeAll(async () => {
    h = await openPortalHarness({ sim: { holdConfirmMs: 30_000 } });
    await storePortalSecrets(h.vault, 'clinic-wrong-password', {
      username: 'clinic-a-portal',
      password: 'nope',
    });
    await storePortalSecrets(h.vault, 'clinic-wrong-seed', undefined, 'MFRGGZDFMZTWQ2LKNNWG23TPOBYXE43U');
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
      problems: Array<{ location: string; message: string }>;
      evidenceId?: number;
    };
  }

  it('login refused: typed, not retriable, names the step, keeps a screenshot; nothing submitted', async () => {
    const ctx = h.context({}, 'clinic-wrong-password');
    const error = await failure(h.connector().submit(h.request('W1'), ctx));
    expect(error.code).toBe('PAGW_PORTAL_LOGIN_REFUSED');
    expect(error.retriable).toBe(false);
    expect(error.problems[0]!.location).toMatch(/^recipe sim-health, flow login, step \d+ \(/);
    expect(error.evidenceId).toBeGreaterThan(0);
    expect(await h.liveSubmissions(ctx.traceNumber)).toBe(0);
    expect(await h.store.forCase(ctx.caseId)).toEqual([]);
  });

  it('2FA refused: typed; the screenshot masks the password and the code fields', async () => {
    const ctx = h.context({}, 'clinic-wrong-seed');
    const error = await failure(h.connector().submit(h.request('W2'), ctx));
    expect(error.code).toBe('PAGW_PORTAL_2FA_REFUSED');
    const [shot] = await listEvidence(h.db.pool, 'clinic-wrong-seed', ctx.caseId);
    expect(shot).toMatchObject({ flow: 'login', contentType: 'image/png' });
    expect(shot!.masked).toEqual(expect.arrayContaining(['field "Password"', 'field "Verification code"']));
    const image = await withTransaction(h.db.pool, (tx) =>
      openEvidence(
        tx,
        h.vault.phi,
        { tenant: 'clinic-wrong-seed', reader: 'system:test', caseId: ctx.caseId },
        shot!.id,
      ),
    );
    expect(image!.image.subarray(1, 4).toString('latin1')).toBe('PNG');
  });

  it('page changed (the portal’s redesign): PAGE_CHANGED naming the failing step, with a screenshot; nothing sent', async () => {
    await h.sim.setLayout('v2');
    try {
      const ctx = h.context();
      const error = await failure(h.connector().submit(h.request('W3'), ctx));
      expect(error.code).toBe('PAGW_PORTAL_PAGE_CHANGED');
      expect(error.problems[0]!.location).toBe(
        'recipe sim-health, flow submit, step 2 (fill field "Patient last name")',
      );
      expect(error.problems[0]!.message).toContain(`screenshot: portal evidence ${error.evidenceId}`);
      const evidence = await listEvidence(h.db.pool, 'clinic-a', ctx.caseId);
      expect(evidence.map((e) => [e.flow, e.step, e.name])).toEqual([['submit', 2, 'failure-2']]);
      expect(await h.liveSubmissions(ctx.traceNumber)).toBe(0);
    } finally {
      await h.sim.setLayout('v1');
    }
  });

  it('session expired mid-flow: typed SESSION_EXPIRED', async () => {
    await h.sim.setSessionMaxPages(1);
    try {
      const error = await failure(h.connector().submit(h.request('W4'), h.context()));
      expect(error.code).toBe('PAGW_PORTAL_SESSION_EXPIRED');
    } finally {
      await h.sim.setSessionMaxPages(undefined);
    }
  });

  it('portal down: retriable PORTAL_DOWN, and the channel reads as unavailable until it answers again', async () => {
    const connector = h.connector();
    await h.sim.setDown(true);
    try {
      const error = await failure(connector.submit(h.request('W5'), h.context()));
      expect(error.code).toBe('PAGW_PORTAL_DOWN');
      expect(error.retriable).toBe(true);
      expect(connector.unavailable(h.context().payer)).toEqual({ reason: 'portal_down' });
    } finally {
      await h.sim.setDown(false);
    }
    const outcome = await connector.submit(h.request('W5'), h.context());
    expect(outcome.kind).toBe('pended');
    expect(connector.unavailable(h.context().payer)).toBeUndefined();
  });

  it('"use another channel": typed, and the attempt is closed as rejected (not live), so a fallback may go', async () => {
    const ctx = h.context();
    const error = await failure(h.connector().submit(h.request('OTHER1'), ctx));
    expect(error.code).toBe('PAGW_PAYER_USE_ANOTHER_CHANNEL');
    expect((await h.store.forCase(ctx.caseId)).map((r) => [r.purpose, r.status])).toEqual([
      ['submit', 'rejected'],
    ]);
  });

  it('never submits twice: a confirmation never seen is found by searching the portal before any resend', async () => {
    const connector = h.connector();
    const ctx = h.context();
    // The portal takes the request but holds its confirmation page past the step timeout.
    const error = await failure(connector.submit(h.request('SLOWCONFIRM1'), ctx));
    expect(error.code).toBe('PAGW_PORTAL_SUBMISSION_UNCONFIRMED');
    expect(error.retriable).toBe(true);
    expect((await h.store.forCase(ctx.caseId)).map((r) => [r.purpose, r.status])).toEqual([
      ['submit', 'unknown'],
    ]);
    const outcome = await connector.submit(h.request('SLOWCONFIRM1'), { ...ctx, attempt: 2 });
    expect(outcome.kind).toBe('pended');
    const held = (await h.sim.submissions()).find((s) => s.reference === ctx.traceNumber)!;
    expect(outcome.kind === 'pended' && outcome.decision.administrativeReference).toBe(held.confirmation);
    expect(await h.liveSubmissions(ctx.traceNumber)).toBe(1);
    expect((await h.store.forCase(ctx.caseId)).map((r) => [r.purpose, r.status])).toEqual([
      ['submit', 'answered'],
      ['reconcile', 'answered'],
    ]);
  });

  it('evidence of a submission: the filled form and the confirmation, stored sealed, listed with the case', async () => {
    const ctx = h.context();
    await h.connector().submit(h.request('W6'), ctx);
    const evidence = await listEvidence(h.db.pool, 'clinic-a', ctx.caseId);
    expect(evidence.map((e) => e.name)).toEqual(['form-filled', 'confirmation']);
    expect(evidence[1]!.submissionId).not.toBeNull();
    const raw = await h.db.pool.query<{ image: Buffer }>(
      'SELECT image FROM portal_evidence WHERE case_id = $1',
      [ctx.caseId],
    );
    for (const row of raw.rows) expect(row.image.subarray(0, 4).toString('latin1')).toBe('PGV1');
  });
});

describe.skipIf(missing)('portal browser pool (real Chromium)', () => {
  let h: PortalHarness;
  beforeAll(async () => {
    h = await openPortalHarness();
  });
  afterAll(async () => {
    await h?.close();
  });

  it('limits sessions per portal and reuses one browser', async () => {
    let active = 0;
    let most = 0;
    const run = () =>
      h.browsers.withPage('one-portal', 2, async (page) => {
        active++;
        most = Math.max(most, active);
        await page.goto(`${h.sim.url}/login`);
        await page.getByLabel('Username').waitFor();
        active--;
      });
    await Promise.all([run(), run(), run(), run(), run()]);
    expect(most).toBe(2);
    expect(h.browsers.launches).toBe(1);
  });

  it('starts the browser again after it died', async () => {
    await h.browsers.withPage('one-portal', 1, async (page) => {
      await page.goto(`${h.sim.url}/login`);
    });
    const [pid] = await h.browsers.processIds();
    expect(pid).toBeGreaterThan(0);
    const launches = h.browsers.launches;
    process.kill(pid!, 'SIGKILL');
    // The next run finds the browser gone and launches another.
    let ran = false;
    for (let i = 0; i < 20 && !ran; i++) {
      ran = await h.browsers
        .withPage('one-portal', 1, async (page) => {
          await page.goto(`${h.sim.url}/login`);
          return true;
        })
        .catch(() => false);
    }
    expect(ran).toBe(true);
    expect(h.browsers.launches).toBe(launches + 1);
  });
});
