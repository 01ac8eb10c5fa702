/**
 * Real headless Chromium (Debian's /usr/bin/chromium, driven by playwright-core) for the console's browser
 * tests: one browser per test file. When the browser is missing the suite skips loudly, and under CI=true it
 * FAILS (serviceMissing). Screenshots go to test-artifacts/console/ (gitignored).
 */
import { existsSync, mkdirSync } from 'node:fs';
import path from 'node:path';
import { type Browser, chromium, type Page } from 'playwright-core';
import { serviceMissing } from './services.ts';

export const chromiumPath = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
export const artifactsDir = path.join(import.meta.dirname, '..', '..', 'test-artifacts', 'console');

/** true when the browser is absent outside CI (the suite then skips loudly); throws in CI. */
export function browserMissing(): boolean {
  if (existsSync(chromiumPath)) return false;
  return serviceMissing('Chromium', `${chromiumPath} not found (apt-get install chromium)`);
}

export function launchChromium(): Promise<Browser> {
  return chromium.launch({
    executablePath: chromiumPath,
    args: [
      '--headless',
      '--no-sandbox',
      '--disable-gpu',
      '--disable-quic',
      '--no-first-run',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
    ],
  });
}

export async function screenshot(page: Page, name: string, fullPage = false): Promise<string> {
  mkdirSync(artifactsDir, { recursive: true });
  const file = path.join(artifactsDir, `${name}.png`);
  await page.screenshot({ path: file, fullPage });
  return file;
}

/** Signs in to the console the way a person does: paste the token, press the button. */
export async function signIn(page: Page, baseUrl: string, token: string): Promise<void> {
  await page.goto(`${baseUrl}/console`);
  await page.getByLabel('API token').fill(token);
  await page.getByRole('button', { name: 'Sign in' }).click();
  await page.getByRole('navigation', { name: 'Console' }).waitFor();
}
