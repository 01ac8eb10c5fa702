/**
 * Regenerates docs/console-dashboard.png: an embedded gateway with 3,000 synthetic cases (bench/seed-cases.ts),
 * the console's dashboards in headless Chromium at 1280 px wide.
 *
 *   npm run docs:screenshot
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { chromium } from 'playwright-core';
import { seedSyntheticCases } from '../bench/seed-cases.ts';
import { ManualClock } from '../src/clock.ts';
import { loadConfig } from '../src/config/load-config.ts';
import { startGateway } from '../src/gateway.ts';
import { createLogger } from '../src/log/logger.ts';
import { createApiToken } from '../src/store/index.ts';

const now = new Date('2026-06-01T15:00:00Z');
const dir = mkdtempSync(path.join(tmpdir(), 'pagw-shot-'));
const config = loadConfig({ env: { PORT: '0', DATA_DIR: dir, LOG_LEVEL: 'warn' } });
const gateway = await startGateway(config, createLogger({ level: 'warn' }), new ManualClock(now));
try {
  const client = await gateway.db.pool.connect();
  try {
    await seedSyntheticCases(client, { n: 3000, now, tenant: 'clinic-a' });
  } finally {
    client.release();
  }
  const { token } = await createApiToken(gateway.db.pool, {
    tenant: 'clinic-a',
    roles: ['admin'],
    label: 'rcm-lead',
    at: now,
  });
  const browser = await chromium.launch({
    executablePath: process.env.CHROMIUM_PATH ?? '/usr/bin/chromium',
    args: [
      '--headless',
      '--no-sandbox',
      '--disable-gpu',
      '--no-first-run',
      '--disable-background-networking',
    ],
  });
  try {
    const page = await browser.newPage({
      viewport: { width: 1280, height: 800 },
      timezoneId: 'America/New_York',
    });
    await page.goto(`${gateway.url}/console#/dashboards`);
    await page.getByLabel('API token').fill(token);
    await page.getByRole('button', { name: 'Sign in' }).click();
    await page.getByLabel('From', { exact: true }).fill('2026-02-09');
    await page.getByLabel('To', { exact: true }).fill('2026-06-01');
    await page.getByRole('button', { name: 'Apply' }).click();
    await page.locator('canvas[data-chart="volume"]').waitFor();
    await page.getByRole('status').waitFor({ state: 'detached' });
    const file = path.join(import.meta.dirname, '..', 'docs', 'console-dashboard.png');
    await page.screenshot({ path: file, fullPage: true });
    console.log(`wrote ${file}`);
  } finally {
    await browser.close();
  }
} finally {
  await gateway.stop();
  rmSync(dir, { recursive: true, force: true });
}
