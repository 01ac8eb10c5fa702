/**
 * Dashboards in real headless Chromium on the hand-checkable seed: every chart's plotted numbers equal the
 * analytics API's for the same filter (read back from Chart.js itself), the headline tiles match hand-computed
 * values, and the filters (date range, payer) redraw the charts. A full-page screenshot is kept as an artifact.
 */
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ManualClock } from '../../src/clock.ts';
import { createApiToken } from '../../src/store/index.ts';
import { SEED_FROM, SEED_NOW, SEED_TO, seedAnalyticsCases } from '../helpers/analytics-seed.ts';
import { browserMissing, launchChromium, screenshot, signIn } from '../helpers/browser.ts';
import { startTestGateway, type TestGateway } from '../helpers/gateway.ts';
import { readJson } from '../helpers/http.ts';

const missing = browserMissing();
const timeZone = 'America/Chicago';

interface Plotted {
  labels: unknown[];
  datasets: Array<{ label: string; data: unknown[] }>;
}

describe.skipIf(missing)('console dashboards in Chromium', () => {
  let gw: TestGateway;
  let browser: Browser;
  let page: Page;
  let token: string;

  beforeAll(async () => {
    [gw, browser] = await Promise.all([
      startTestGateway({ clock: new ManualClock(SEED_NOW) }),
      launchChromium(),
    ]);
    await seedAnalyticsCases(gw.gateway.db.pool, 'clinic-a', 'dash');
    token = (
      await createApiToken(gw.gateway.db.pool, {
        tenant: 'clinic-a',
        roles: ['erp'],
        label: 'rcm-lead',
        at: new Date(),
      })
    ).token;
    const context = await browser.newContext({
      viewport: { width: 1280, height: 800 },
      timezoneId: timeZone,
      locale: 'en-US',
    });
    page = await context.newPage();
  });
  afterAll(async () => {
    await browser?.close();
    await gw?.stop();
  });

  async function api(path: string, filter: Record<string, string>) {
    const q = new URLSearchParams({ from: SEED_FROM, to: SEED_TO, tz: timeZone, ...filter });
    return readJson(
      await fetch(`${gw.gateway.url}${path}?${q}`, { headers: { authorization: `Bearer ${token}` } }),
    );
  }

  /** What Chart.js actually plots on the canvas marked data-chart=id. */
  function plotted(id: string): Promise<Plotted> {
    // A string, not a function: vitest would rewrite a dynamic import() inside a function for Node.
    return page.evaluate(`(async () => {
      const { Chart } = await import('chart.js');
      const chart = Chart.getChart(document.querySelector('canvas[data-chart=${JSON.stringify(id)}]'));
      if (!chart) throw new Error('no chart ' + ${JSON.stringify(id)});
      return {
        labels: [...chart.data.labels],
        datasets: chart.data.datasets.map((d) => ({ label: String(d.label), data: [...d.data] })),
      };
    })()`);
  }

  async function applyFilter(filter: { payer?: string }) {
    await page.getByLabel('From', { exact: true }).fill(SEED_FROM);
    await page.getByLabel('To', { exact: true }).fill(SEED_TO);
    if (filter.payer !== undefined)
      await page.getByLabel('Payer', { exact: true }).selectOption(filter.payer);
    await page.getByRole('button', { name: 'Apply' }).click();
    await page.locator('[data-kpi="decided"]').waitFor();
    await expect.poll(() => page.getByRole('status').count()).toBe(0); // loading finished
  }

  async function checkChartsAgainstApi(filter: Record<string, string>) {
    const [byPayer, byService, outcomes, sla, volume] = await Promise.all([
      api('/analytics/turnaround', { ...filter, by: 'payer' }),
      api('/analytics/turnaround', { ...filter, by: 'service' }),
      api('/analytics/outcomes', filter),
      api('/analytics/sla', filter),
      api('/analytics/volume', filter),
    ]);
    // The page redraws after its own requests answer: wait for the redraw (a busy machine may take a while)
    // rather than compare against the charts of the previous filter.
    await expect
      .poll(async () => (await plotted('turnaround-payer')).labels)
      .toEqual(byPayer.rows.map((r: { key: string }) => r.key));
    await expect
      .poll(async () => (await plotted('outcomes')).datasets[0]!.data)
      .toEqual(outcomes.rows.map((r: { straightThroughRate: number }) => r.straightThroughRate));
    for (const [id, body] of [
      ['turnaround-payer', byPayer],
      ['turnaround-service', byService],
    ] as const) {
      const chart = await plotted(id);
      expect(chart.labels).toEqual(body.rows.map((r: { key: string }) => r.key));
      expect(chart.datasets[0]!.data).toEqual(body.rows.map((r: { p50Hours: number }) => r.p50Hours));
      expect(chart.datasets[1]!.data).toEqual(body.rows.map((r: { p90Hours: number }) => r.p90Hours));
    }
    const rates = await plotted('outcomes');
    expect(rates.labels).toEqual(outcomes.rows.map((r: { payer: string }) => r.payer));
    expect(rates.datasets.map((d) => d.data)).toEqual([
      outcomes.rows.map((r: { straightThroughRate: number }) => r.straightThroughRate),
      outcomes.rows.map((r: { denialRate: number }) => r.denialRate),
      outcomes.rows.map((r: { approvedAfterAppealRate: number }) => r.approvedAfterAppealRate),
    ]);
    const breaches = await plotted('sla');
    expect(breaches.datasets.map((d) => d.data)).toEqual([
      sla.rows.map((r: { breached: number }) => r.breached),
      sla.rows.map((r: { atRisk: number }) => r.atRisk),
    ]);
    const perDay = await plotted('volume');
    const days = volume.days.length;
    expect(perDay.labels).toHaveLength(days + 28);
    expect(perDay.datasets[0]!.data.slice(0, days)).toEqual(
      volume.days.map((d: { count: number }) => d.count),
    );
    expect(perDay.datasets[1]!.data.slice(days)).toEqual(
      volume.forecast.map((f: { expected: number }) => f.expected),
    );
    return { byPayer, outcomes, sla };
  }

  it('charts exactly the analytics API’s numbers, which match the hand-computed figures', async () => {
    await signIn(page, gw.gateway.url, token);
    await page.getByRole('link', { name: 'Dashboards' }).click();
    await page.getByRole('heading', { name: 'Dashboards' }).waitFor();
    await applyFilter({});
    const { byPayer } = await checkChartsAgainstApi({});
    expect(byPayer.rows).toEqual([
      { key: 'acme', decided: 4, p50Hours: 15, p90Hours: 27 },
      { key: 'beta', decided: 2, p50Hours: 3, p90Hours: 3.8 },
    ]);
    expect(await page.locator('[data-kpi="straightThroughRate"]').textContent()).toBe('66.7 %');
    expect(await page.locator('[data-kpi="denialRate"]').textContent()).toBe('50 %');
    expect(await page.locator('[data-kpi="approvedAfterAppealRate"]').textContent()).toBe('16.7 %');
    expect(await page.locator('[data-kpi="breached"]').textContent()).toBe('2');
    const scorecard = page.getByRole('table', { name: /decision time runs from submission/ });
    expect(await scorecard.locator('tbody tr').first().textContent()).toBe(
      'acmestandard366.7 %33.3 %33.3 %33.3 %19 h19 h',
    );
    await screenshot(page, 'dashboards', true);
  });

  it('redraws for one payer', async () => {
    await applyFilter({ payer: 'acme' });
    const { outcomes } = await checkChartsAgainstApi({ payer: 'acme' });
    expect(outcomes.total).toMatchObject({ decided: 4, straightThroughRate: 50 });
    await expect.poll(() => page.locator('[data-kpi="straightThroughRate"]').textContent()).toBe('50 %');
    expect((await plotted('turnaround-service')).datasets[0]!.data).toEqual([20, 13]);
    await screenshot(page, 'dashboards-acme', true);
  });
});
