/**
 * The console in real headless Chromium against a real gateway (embedded PGlite, or PostgreSQL with
 * DATABASE_URL): sign in with a token, find a case by order id, open its timeline and raw evidence, see the
 * exceptions, approve a review — and see a stale screen refused in a sentence. Screenshots of each page go to
 * test-artifacts/console/.
 */
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ManualClock } from '../../src/clock.ts';
import { createApiToken, transitionCase, withTransaction } from '../../src/store/index.ts';
import { DAY0, HOUR, SEED_NOW, seedAnalyticsCases, seedPayerExchange } from '../helpers/analytics-seed.ts';
import { browserMissing, launchChromium, screenshot, signIn } from '../helpers/browser.ts';
import { startTestGateway, type TestGateway } from '../helpers/gateway.ts';
import { testActor } from '../helpers/store.ts';

const missing = browserMissing();

describe.skipIf(missing)('console in Chromium: cases, timeline, exceptions, review', () => {
  let gw: TestGateway;
  let browser: Browser;
  let context: BrowserContext;
  let page: Page;
  let ids: Record<string, string>;
  let token: string;
  const requested: string[] = [];
  const timeZone = 'America/New_York';

  beforeAll(async () => {
    [gw, browser] = await Promise.all([
      startTestGateway({ clock: new ManualClock(SEED_NOW) }),
      launchChromium(),
    ]);
    ids = await seedAnalyticsCases(gw.gateway.db.pool, 'clinic-a', 'browser');
    await seedPayerExchange(gw.gateway.db.pool, 'clinic-a', ids.A!, new Date(DAY0 + 9 * HOUR));
    token = (
      await createApiToken(gw.gateway.db.pool, {
        tenant: 'clinic-a',
        roles: ['reviewer', 'ehr'],
        label: 'dr-browser',
        at: new Date(),
      })
    ).token;
    context = await browser.newContext({
      viewport: { width: 1280, height: 800 },
      timezoneId: timeZone,
      locale: 'en-US',
    });
    page = await context.newPage();
    page.on('request', (request) => requested.push(request.url()));
  });
  afterAll(async () => {
    await browser?.close();
    await gw?.stop();
  });

  it('signs in with a token and lists the cases', async () => {
    await page.goto(`${gw.gateway.url}/console`);
    await screenshot(page, 'sign-in');
    await page.getByLabel('API token').fill('pagw_not-a-real-token');
    await page.getByRole('button', { name: 'Sign in' }).click();
    await expect.poll(() => page.getByRole('alert').textContent()).toMatch(/not accepted/);
    await signIn(page, gw.gateway.url, token);
    await expect.poll(() => page.locator('table.cases tbody tr').count()).toBe(10);
    await expect.poll(() => page.locator('.who').textContent()).toContain('dr-browser · clinic-a');
    await screenshot(page, 'cases');
  });

  it('finds a case by order id with the keyboard; the order id never enters a URL', async () => {
    const search = page.getByLabel('Case id or order id');
    await search.focus();
    await page.keyboard.type('ORD-browser-D');
    await page.keyboard.press('Enter');
    await expect.poll(() => page.locator('table.cases tbody tr').count()).toBe(1);
    expect(await page.locator('table.cases tbody tr a').getAttribute('href')).toBe(`#/cases/${ids.D}`);
    expect(page.url()).not.toContain('ORD-');
    expect(requested.filter((u) => u.includes('ORD-'))).toEqual([]);
  });

  it('opens the case timeline: every event, the audit trail, times in the viewer’s zone', async () => {
    await page.locator('table.cases tbody tr a').click();
    await page.getByRole('heading', { name: /^Case / }).waitFor();
    expect(page.url()).toMatch(new RegExp(`#/cases/${ids.D}$`));
    const timeline = page.locator('ol.timeline > li');
    await expect.poll(() => timeline.count()).toBe(7);
    const titles = await timeline.locator('strong').allTextContents();
    expect(titles[0]).toBe('received');
    expect(titles).toContain('decided: submitted → decided');
    expect(titles).toContain('appeal submitted: decided → decided');
    // Received d1 10:00Z = 5:00:00 AM in New York (EST), shown in the viewer's zone.
    expect(await timeline.first().locator('time').textContent()).toBe('Mar 3, 2026, 5:00:00 AM');
    expect(await page.locator('table.audit tbody tr').count()).toBe(6); // six audited transitions; the seed's stand-in appeal event writes no audit row
    expect(await page.locator('.facts').first().textContent()).toContain('yes');
    await screenshot(page, 'case-detail', true);
  });

  it('shows the raw 278 of a payer exchange one click away (reviewer role)', async () => {
    await page.goto(`${gw.gateway.url}/console#/cases/${ids.A}`);
    await page.getByRole('heading', { name: /^Case / }).waitFor();
    await page.getByRole('button', { name: 'Show raw evidence' }).click();
    await expect.poll(() => page.locator('.raw pre').first().textContent()).toMatch(/^ISA\*00/);
    expect(await page.locator('.raw pre').nth(1).textContent()).toContain('HCR*A1*CERT-A');
    await screenshot(page, 'case-evidence', true);
  });

  it('moves by keyboard: Tab to a navigation link, Enter, and focus lands on the new page’s heading', async () => {
    await page.getByRole('link', { name: 'Cases', exact: true }).focus();
    let onExceptions = false;
    for (let i = 0; i < 5 && !onExceptions; i++) {
      await page.keyboard.press('Tab');
      onExceptions = await page.evaluate(() => document.activeElement?.textContent === 'Exceptions');
    }
    expect(onExceptions).toBe(true);
    await page.keyboard.press('Enter');
    await page.getByRole('heading', { name: 'Exceptions' }).waitFor();
    await expect
      .poll(() =>
        page.evaluate(() => document.activeElement?.tagName + ':' + document.activeElement?.textContent),
      )
      .toBe('H1:Exceptions');
  });

  it('lists exceptions with their reason codes', async () => {
    const row = page.locator('table.exceptions tbody tr');
    await expect.poll(() => row.count()).toBe(1);
    expect(await row.textContent()).toContain('STEP_FAILED');
    expect(await row.textContent()).toContain('PAGW_X12_TRANSPORT');
    await screenshot(page, 'exceptions');
  });

  it('review: a stale screen is refused in a sentence, a fresh one is approved', async () => {
    await page.getByRole('link', { name: 'Review queue' }).click();
    await page.getByRole('heading', { name: 'Review queue' }).waitFor();
    const card = page.locator('article.review-item');
    await expect.poll(() => card.count()).toBe(1);
    expect(await card.locator('[data-binding="caseVersion"]').textContent()).toBe('4');
    expect(await card.locator('[data-binding="patientIdentifiers"]').textContent()).toContain('MRN-100234');
    expect(await card.locator('[data-binding="serviceCodes"]').textContent()).toContain('70553');
    await screenshot(page, 'review');

    // Behind the reviewer's back the case fails, is retried and comes back to review at a new version.
    for (const event of ['failed', 'retried', 'eligibility_checked', 'review_requested'] as const)
      await withTransaction(gw.gateway.db.pool, (tx) =>
        transitionCase(tx, { tenant: 'clinic-a', caseId: ids.J!, event, actor: testActor, at: SEED_NOW }),
      );
    await card.getByRole('button', { name: 'Approve' }).click();
    const alert = card.getByRole('alert');
    await expect.poll(() => alert.textContent()).toMatch(/This screen is out of date/);
    expect(await alert.textContent()).toContain('the case is at version 8');
    expect(await alert.textContent()).toMatch(/changed nothing/);
    await screenshot(page, 'review-stale');

    await page.getByRole('button', { name: 'Reload the queue' }).click();
    await expect.poll(() => card.locator('[data-binding="caseVersion"]').textContent()).toBe('8');
    const shownKey = await card.locator('[data-binding="submissionKey"]').textContent();
    expect(shownKey).toMatch(/^pa:clinic-a:pt-[0-9a-f]{16}:/);

    // The request itself changes behind the screen (an amendment that bypassed review): the key no longer
    // matches, the decision is refused with a sentence saying so, and a reload shows the request as it stands.
    await gw.gateway.db.pool.query(
      `UPDATE cases SET request = jsonb_set(request, '{serviceLines,0,quantity}', '{"value": 3, "unit": "UN"}') WHERE id = $1`,
      [ids.J],
    );
    await card.getByRole('button', { name: 'Approve' }).click();
    await expect
      .poll(() => alert.textContent())
      .toMatch(/The request was changed since this screen was loaded/);
    expect(await alert.textContent()).toMatch(/changed nothing/);
    await screenshot(page, 'review-key-mismatch');
    await page.getByRole('button', { name: 'Reload the queue' }).click();
    await expect.poll(() => card.locator('[data-binding="submissionKey"]').textContent()).not.toBe(shownKey);
    const sent: string[] = [];
    page.on('request', (r) => {
      if (r.method() === 'POST' && r.url().endsWith('/review')) sent.push(r.postData() ?? '');
    });
    const newKey = await card.locator('[data-binding="submissionKey"]').textContent();
    await card.getByRole('button', { name: 'Approve' }).click();
    await expect
      .poll(() => card.getByRole('status').textContent())
      .toMatch(/approved: it is now submitted \(version 9\)/);
    // The bound key went back with the decision, exactly as shown.
    expect(JSON.parse(sent[0]!)).toMatchObject({ action: 'approve', submissionKey: newKey, caseVersion: 8 });
    const audit = await gw.gateway.db.pool.query<{ actor: string }>(
      `SELECT actor FROM audit_log WHERE case_id = $1 AND action = 'case.submitted' ORDER BY seq DESC LIMIT 1`,
      [ids.J],
    );
    expect(audit.rows[0]!.actor).toMatch(/\(dr-browser\)$/);
  });

  it('never put a token or patient data in a URL', () => {
    expect(requested.filter((u) => u.includes(token) || /MRN|W123456789|ORD-/.test(u))).toEqual([]);
  });
});
