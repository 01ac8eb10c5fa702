/**
 * The Exceptions page in real headless Chromium against a real gateway (embedded PGlite, or PostgreSQL with
 * DATABASE_URL): resolve an exception. An HL7 v2 order without a member id is held with a task to the ordering
 * provider; the page shows what is missing and where the order carries it; a screen made stale behind the user's
 * back is refused in a sentence; the correction entered in the page resolves the task and resumes the case at a new
 * version. Screenshots go to test-artifacts/console/.
 */
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createApiToken } from '../../src/store/index.ts';
import { browserMissing, launchChromium, screenshot, signIn } from '../helpers/browser.ts';
import { startTestGateway, type TestGateway } from '../helpers/gateway.ts';
import { buildOrmOrder } from '../helpers/hl7-orders.ts';
import { readJson } from '../helpers/http.ts';

const missing = browserMissing();

describe.skipIf(missing)('console in Chromium: resolve an exception', () => {
  let gw: TestGateway;
  let browser: Browser;
  let context: BrowserContext;
  let page: Page;
  let token: string;
  let caseId: string;
  const requested: string[] = [];

  beforeAll(async () => {
    [gw, browser] = await Promise.all([startTestGateway(), launchChromium()]);
    token = (
      await createApiToken(gw.gateway.db.pool, {
        tenant: 'clinic-a',
        roles: ['ehr'],
        label: 'ehr-desk',
        at: new Date(),
      })
    ).token;
    const res = await gw.postHl7(
      buildOrmOrder({ messageId: `BROWSER-HELD-${Date.now()}`, memberId: '', cpt: '70553' }),
    );
    caseId = (await readJson(res)).caseIds[0];
    context = await browser.newContext({ viewport: { width: 1280, height: 800 }, locale: 'en-US' });
    page = await context.newPage();
    page.on('request', (request) => requested.push(request.url()));
  });
  afterAll(async () => {
    await browser?.close();
    await gw?.stop();
  });

  it('shows the held order’s task: what is missing, where the order carries it, owner, priority, due time', async () => {
    await signIn(page, gw.gateway.url, token);
    await page.getByRole('link', { name: 'Exceptions' }).click();
    await page.getByRole('heading', { name: 'Exceptions' }).waitFor();
    const row = page.locator('table.exceptions tbody tr');
    await expect.poll(() => row.count(), { timeout: 30_000 }).toBe(1);
    const text = await row.textContent();
    expect(text).toContain(caseId.slice(0, 8));
    expect(text).toContain('missing data');
    expect(text).toContain('MISSING_MEMBER_ID');
    expect(text).toContain('Member id (subscriber id at the payer) (IN1-36)');
    expect(text).toContain('ehr');
    expect(text).toContain('normal');
    await screenshot(page, 'exceptions-task');
  });

  it('resolve an exception: a stale screen is refused in a sentence, then the correction resumes the case', async () => {
    const row = page.locator('table.exceptions tbody tr');
    await row.getByRole('button', { name: 'Correct and resume' }).click();
    await row.getByLabel(/Member id/).fill('W100000077');

    // Behind the user's back someone claims the task: the screen's version is stale.
    const { items } = await readJson(await gw.get(`/tasks?caseId=${caseId}`));
    const claim = await fetch(`${gw.gateway.url}/tasks/${items[0].id}/claim`, {
      method: 'POST',
      headers: { authorization: `Bearer ${gw.token}`, 'content-type': 'application/json' },
      body: JSON.stringify({ taskVersion: 1 }),
    });
    expect(claim.status).toBe(200);
    await row.getByRole('button', { name: 'Save and resume' }).click();
    await expect
      .poll(() => row.getByRole('alert').textContent(), { timeout: 30_000 })
      .toBe(
        'This screen is out of date: the task is at version 2, not 1. Nothing was changed; reload the queue.',
      );
    await screenshot(page, 'exceptions-stale');
    const unchanged = await readJson(await gw.get(`/cases/${caseId}`));
    expect(unchanged).toMatchObject({ state: 'received', version: 1 });

    // Reload the queue (it shows who took the task) and correct again.
    await page.getByRole('link', { name: 'Cases', exact: true }).click();
    await page.getByRole('link', { name: 'Exceptions' }).click();
    await expect.poll(() => row.textContent(), { timeout: 30_000 }).toContain('taken by');
    await row.getByRole('button', { name: 'Correct and resume' }).click();
    await row.getByLabel(/Member id/).fill('W100000077');
    await row.getByRole('button', { name: 'Save and resume' }).click();
    await expect
      .poll(() => page.getByRole('status').first().textContent(), { timeout: 30_000 })
      .toBe(`Correct and resume: done for case ${caseId.slice(0, 8)}.`);
    await expect.poll(() => page.locator('table.exceptions tbody tr').count(), { timeout: 30_000 }).toBe(0);
    await screenshot(page, 'exceptions-resolved');

    const resumed = await readJson(await gw.get(`/cases/${caseId}`));
    expect(resumed.version).toBeGreaterThanOrEqual(2);
    expect(resumed.request.coverage.memberId).toBe('W100000077');
    expect(resumed.events[1]).toMatchObject({ event: 'validated', data: { reason: 'REQUEST_CORRECTED' } });
    const task = await readJson(await gw.get(`/tasks/${items[0].id}`));
    expect(task).toMatchObject({ state: 'resolved', resolution: { action: 'correct' } });
    const { rows } = await gw.gateway.db.pool.query<{ actor: string }>(
      `SELECT actor FROM audit_log WHERE case_id = $1 AND action = 'case.request_corrected'`,
      [caseId],
    );
    expect(rows[0]!.actor).toMatch(/\(ehr-desk\)$/);
  });

  it('never put the token or the member id in a URL', () => {
    expect(requested.filter((u) => u.includes(token) || u.includes('W100000077'))).toEqual([]);
  });
});
