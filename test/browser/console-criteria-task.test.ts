/**
 * A pharmacist works unknown drug criteria from the console's exceptions page (issue #15 item 4), in real headless
 * Chromium against a real gateway and the simulated pharmacy system (its own process): a flag whose record cannot
 * answer two criteria opens a criteria_unknown task; the pharmacist opens "Supply the evidence", says per criterion
 * met and where the evidence is, and the task closes with the case's checklist updated; a second such task is
 * overridden with a reason. Screenshots go to test-artifacts/console/.
 */
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createApiToken } from '../../src/store/index.ts';
import { browserMissing, launchChromium, screenshot, signIn } from '../helpers/browser.ts';
import { startTestGateway, type TestGateway } from '../helpers/gateway.ts';
import { readJson } from '../helpers/http.ts';
import {
  SEED_SECRET,
  SEED_SECRET_NAME,
  SEED_SENDER,
  SEED_TENANT,
  seedFlag,
  signedHeaders,
} from '../helpers/pharmacy.ts';
import { countRows, waitFor } from '../helpers/store.ts';
import { type PharmacySimProcess, startPharmacySimProcess } from '../sim/pharmacy-system/process.ts';

describe.skipIf(browserMissing())('console in Chromium: a pharmacist resolves unknown drug criteria', () => {
  let pharmacy: PharmacySimProcess;
  let gw: TestGateway;
  let browser: Browser;
  let page: Page;
  let pharmacist: string;
  const caseIds: string[] = [];

  beforeAll(async () => {
    pharmacy = await startPharmacySimProcess({ callbackSecret: SEED_SECRET });
    [gw, browser] = await Promise.all([
      startTestGateway({
        env: { PHARMACY_ENDPOINTS: `${SEED_SENDER}=${pharmacy.url}`, STEP_LEASE_MS: '20000' },
        secrets: [{ tenant: SEED_TENANT, name: SEED_SECRET_NAME, value: SEED_SECRET }],
      }),
      launchChromium(),
    ]);
    pharmacist = (
      await createApiToken(gw.gateway.db.pool, {
        tenant: SEED_TENANT,
        roles: ['pharmacist'],
        userId: 'rph.jones@mainstreet.example.org',
        at: new Date(),
      })
    ).token;
    // pt-1002: plaque psoriasis, no conventional systemic drug and no TB screening on file.
    for (const rx of ['RX-BROWSER-UNKNOWN-1', 'RX-BROWSER-UNKNOWN-2']) {
      const body = JSON.stringify(
        seedFlag({ prescription_id: rx, patient_id: 'pt-1002', diagnosis_codes: ['L40.0'] }),
      );
      const res = await fetch(`${gw.gateway.url}/webhooks/pharmacy/pa-flag`, {
        method: 'POST',
        headers: signedHeaders(body),
        body,
      });
      expect(res.status).toBe(202);
    }
    const tasks = await waitFor(
      async () => {
        const items = (
          await readJson(
            await fetch(`${gw.gateway.url}/tasks?kind=criteria_unknown`, {
              headers: { authorization: `Bearer ${pharmacist}` },
            }),
          )
        ).items as { caseId: string }[];
        return items.length === 2 ? items : undefined;
      },
      { timeoutMs: 90_000, what: 'two criteria_unknown tasks' },
    );
    caseIds.push(...tasks.map((t) => t.caseId));
    page = await (await browser.newContext({ viewport: { width: 1400, height: 1000 } })).newPage();
    await signIn(page, gw.gateway.url, pharmacist);
  });
  afterAll(async () => {
    await browser?.close();
    await gw?.stop();
    await pharmacy?.stop();
  });

  const caseOf = async (id: string) =>
    readJson(
      await fetch(`${gw.gateway.url}/cases/${id}`, { headers: { authorization: `Bearer ${pharmacist}` } }),
    );
  const rowOf = (caseId: string) =>
    page.locator('table.exceptions tbody tr', { has: page.locator(`a[href="#/cases/${caseId}"]`) });

  it('supplies the evidence per criterion: the task closes and the checklist says met', async () => {
    await page.goto(`${gw.gateway.url}/console#/exceptions`);
    const row = rowOf(caseIds[0]!);
    await row.waitFor();
    expect(await row.getAttribute('data-kind')).toBe('criteria_unknown');
    expect(await row.locator('ul.needed').textContent()).toMatch(/tuberculosis screening/);
    await row.getByRole('button', { name: 'Supply the evidence' }).click();
    await row
      .getByLabel('Evidence for prior-conventional-systemic (where it is)')
      .fill('DocumentReference/mtx-1');
    await row.getByLabel('Date of prior-conventional-systemic evidence (optional)').fill('2026-06-01');
    await row.getByLabel('Status of tb-screening').selectOption('met');
    await row.getByLabel('Evidence for tb-screening (where it is)').fill('Observation/outside-qft-7');
    await screenshot(page, 'exceptions-criteria-evidence', true);
    await row.getByRole('button', { name: 'Record the evidence' }).click();
    await expect.poll(() => page.locator('p.done').textContent()).toMatch(/Supply the evidence: done/);
    await expect.poll(() => rowOf(caseIds[0]!).count()).toBe(0);
    const request = (await caseOf(caseIds[0]!)).request;
    expect(request.clinicalCriteria.summary).toEqual({ met: 3, notMet: 1, unknown: 0 });
  });

  it('overrides with a reason: the task closes, the reason is in the audit trail', async () => {
    const row = rowOf(caseIds[1]!);
    await row.getByRole('button', { name: 'Sign off with criteria unknown' }).click();
    await row
      .getByLabel(/Why sign off with these criteria unknown/)
      .fill('Confirmed by phone with the prescriber');
    await row.getByRole('button', { name: 'Sign off with criteria unknown' }).click();
    await expect
      .poll(() => page.locator('p.done').textContent())
      .toMatch(/Sign off with criteria unknown: done/);
    await expect.poll(() => rowOf(caseIds[1]!).count()).toBe(0);
    expect(
      await countRows(
        gw.gateway.db.pool,
        'audit_log',
        "action = 'case.criteria_overridden' AND case_id = $1",
        [caseIds[1]],
      ),
    ).toBe(1);
  });
});
