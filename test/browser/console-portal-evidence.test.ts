/**
 * The console's case detail shows the portal robot's screenshots (issue #11) in real headless Chromium: a
 * portal-only payer's order goes through the simulated payer portal by the robot (a real run: login, TOTP, form,
 * confirmation), then a reviewer opens the case in the console, asks for the confirmation screenshot and sees the
 * image load (decoded, with its real size); a role that may read the case but not the evidence (ehr) sees no
 * screenshots, and the image API refuses it. Screenshots of the page go to test-artifacts/console/.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createApiToken } from '../../src/store/index.ts';
import type { ApiRole } from '../../src/store/tokens.ts';
import { browserMissing, launchChromium, screenshot, signIn } from '../helpers/browser.ts';
import { startTestGateway, type TestGateway } from '../helpers/gateway.ts';
import { buildOrmOrder } from '../helpers/hl7-orders.ts';
import { readJson } from '../helpers/http.ts';
import { portalLogin, portalPayerFiles, portalSecrets, portalSeed } from '../helpers/portal.ts';
import { waitFor } from '../helpers/store.ts';
import { type PortalSimProcess, startPortalSim } from '../sim/payer-portal/process.ts';

describe.skipIf(browserMissing())(
  'console in Chromium: portal evidence screenshots on the case detail',
  () => {
    let sim: PortalSimProcess;
    let gw: TestGateway;
    let browser: Browser;
    let page: Page;
    let payersDir: string;
    let reviewer: string;
    let ehr: string;
    let caseId: string;

    beforeAll(async () => {
      sim = await startPortalSim({ ...portalLogin, totpSeed: portalSeed });
      payersDir = mkdtempSync(path.join(tmpdir(), 'pagw-portal-payers-'));
      portalPayerFiles(payersDir, sim.url);
      [gw, browser] = await Promise.all([
        startTestGateway({
          env: { PAYERS_DIR: payersDir, STEP_LEASE_MS: '120000' },
          secrets: portalSecrets('clinic-a'),
        }),
        launchChromium(),
      ]);
      const token = (roles: ApiRole[], label: string) =>
        createApiToken(gw.gateway.db.pool, { tenant: 'clinic-a', roles, label, at: new Date() }).then(
          (t) => t.token,
        );
      [reviewer, ehr] = await Promise.all([token(['reviewer'], 'dr-portal'), token(['ehr'], 'ehr-portal')]);
      const res = await gw.postHl7(
        buildOrmOrder({
          messageId: 'PORTAL-CONSOLE-1',
          memberId: 'W4801',
          cpt: '70553',
          payerId: 'PORTALONLY',
          payerName: 'PORTALONLY',
          placerOrderNumber: 'PORTAL-CONSOLE-1',
        }),
      );
      expect(res.status).toBe(201);
      caseId = (await readJson(res)).caseIds[0];
      // The robot's run leaves the confirmation page's screenshot with the case.
      await waitFor(
        async () =>
          (await readJson(await gw.get(`/cases/${caseId}/timeline`))).evidence?.some(
            (e: { name: string }) => e.name === 'confirmation',
          ),
        { timeoutMs: 180_000, what: 'the confirmation screenshot' },
      );
      page = await (await browser.newContext({ viewport: { width: 1280, height: 900 } })).newPage();
    });
    afterAll(async () => {
      await browser?.close();
      await gw?.stop();
      await sim?.stop();
      if (payersDir) rmSync(payersDir, { recursive: true, force: true });
    });

    it('a reviewer opens the portal case and sees the confirmation screenshot load', async () => {
      await signIn(page, gw.gateway.url, reviewer);
      await page.goto(`${gw.gateway.url}/console#/cases/${caseId}`);
      await page.getByRole('heading', { name: 'Portal evidence' }).waitFor();
      const shots = page.locator('ul.portal-evidence > li');
      expect(await shots.locator('strong').allTextContents()).toEqual(
        expect.arrayContaining(['form-filled', 'confirmation']),
      );
      const confirmation = shots.filter({ has: page.locator('strong', { hasText: /^confirmation$/ }) });
      expect(await confirmation.locator('.who').textContent()).toContain('sim-health · submit');
      await confirmation.getByRole('button', { name: 'Show screenshot' }).click();
      const image = page.getByRole('img', { name: /^Portal screenshot: confirmation/ });
      await image.waitFor();
      // Loaded and decoded: a real PNG the browser could paint, not a broken image.
      await expect
        .poll(() => image.evaluate((img: HTMLImageElement) => img.complete && img.naturalWidth))
        .toBeGreaterThan(100);
      expect(await image.evaluate((img: HTMLImageElement) => img.naturalHeight)).toBeGreaterThan(100);
      expect(await image.getAttribute('src')).toMatch(/^data:image\/png;base64,/);
      await screenshot(page, 'case-portal-evidence', true);
      // Each view is an audited read of the evidence.
      const viewed = await gw.gateway.db.pool.query(
        "SELECT 1 FROM audit_log WHERE case_id = $1 AND action = 'case.evidence_viewed'",
        [caseId],
      );
      expect(viewed.rowCount).toBeGreaterThanOrEqual(1);
      await confirmation.getByRole('button', { name: 'Hide screenshot' }).click();
      expect(await page.getByRole('img', { name: /^Portal screenshot/ }).count()).toBe(0);
    });

    it('a role that may not see evidence (ehr) gets no screenshots, and the image API refuses it', async () => {
      const other = await (await browser.newContext()).newPage();
      await signIn(other, gw.gateway.url, ehr);
      await other.goto(`${gw.gateway.url}/console#/cases/${caseId}`);
      await other.getByRole('heading', { name: 'Decision' }).waitFor();
      expect(await other.getByRole('heading', { name: 'Portal evidence' }).count()).toBe(0);
      expect(await other.getByRole('button', { name: 'Show screenshot' }).count()).toBe(0);
      const timeline = await readJson(
        await fetch(`${gw.gateway.url}/cases/${caseId}/timeline`, {
          headers: { authorization: `Bearer ${ehr}` },
        }),
      );
      expect(timeline.evidenceAllowed).toBe(false);
      const refused = await fetch(`${gw.gateway.url}/cases/${caseId}/evidence/${timeline.evidence[0].id}`, {
        headers: { authorization: `Bearer ${ehr}` },
      });
      expect(refused.status).toBe(403);
    });
  },
);
