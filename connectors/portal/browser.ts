/**
 * The robot's browser: ONE headless Chromium (Debian's, through playwright-core: nothing is downloaded) shared by
 * every case, a fresh isolated context (cookies, storage) per run, and a limit on how many runs work one portal at
 * once. A browser that dies (crash, OOM kill) is dropped and launched again by the next run.
 */
import { existsSync } from 'node:fs';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import type { Logger } from '../../src/log/logger.ts';
import { PortalError } from './errors.ts';

export interface BrowserPoolOptions {
  readonly executablePath: string;
  readonly logger?: Logger;
}

export interface BrowserPool {
  /** Runs `work` on a fresh page of a fresh context, at most `limit` at once per `portal`. */
  withPage<T>(portal: string, limit: number, work: (page: Page) => Promise<T>): Promise<T>;
  /** Whether the browser executable exists (a portal channel without it is not available). */
  installed(): boolean;
  /** Process ids of the running browser (browser process first, then renderers, GPU …): memory figures, tests. */
  processIds(): Promise<number[]>;
  readonly launches: number;
  close(): Promise<void>;
}

export const chromiumArgs = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-dev-shm-usage',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
  '--disable-extensions',
  '--mute-audio',
];

class Semaphore {
  private active = 0;
  private readonly waiting: Array<() => void> = [];
  async acquire(limit: number): Promise<void> {
    if (this.active < limit) {
      this.active++;
      return;
    }
    await new Promise<void>((resolve) => this.waiting.push(resolve));
  }
  release(): void {
    const next = this.waiting.shift();
    if (next) next();
    else this.active--;
  }
}

export function createBrowserPool(options: BrowserPoolOptions): BrowserPool {
  let browser: Promise<Browser> | undefined;
  let launches = 0;
  let closed = false;
  const semaphores = new Map<string, Semaphore>();

  function launch(): Promise<Browser> {
    if (closed) throw new PortalError('PAGW_PORTAL_BROWSER_UNAVAILABLE', 'The browser pool is closed');
    if (browser) return browser;
    if (!existsSync(options.executablePath)) {
      throw new PortalError(
        'PAGW_PORTAL_BROWSER_UNAVAILABLE',
        `No browser at ${options.executablePath} (install Debian's chromium, or set PORTAL_BROWSER)`,
      );
    }
    launches++;
    // playwright-core is imported on the first launch, not at start: it costs ~45 MB of RSS that a gateway with
    // no portal traffic should not carry (issue #10 item 12).
    const starting = import('playwright-core')
      .then(({ chromium }) =>
        chromium.launch({ executablePath: options.executablePath, args: chromiumArgs, headless: true }),
      )
      .then((b) => {
        b.on('disconnected', () => {
          if (browser === starting) browser = undefined;
          if (!closed)
            options.logger?.warn({ launches }, 'portal browser disconnected; the next run starts a new one');
        });
        return b;
      });
    browser = starting;
    starting.catch(() => {
      if (browser === starting) browser = undefined;
    });
    return starting;
  }

  return {
    async withPage(portal, limit, work) {
      let semaphore = semaphores.get(portal);
      if (!semaphore) {
        semaphore = new Semaphore();
        semaphores.set(portal, semaphore);
      }
      await semaphore.acquire(limit);
      let context: BrowserContext | undefined;
      try {
        try {
          const b = await launch();
          context = await b.newContext({ viewport: { width: 1100, height: 900 }, acceptDownloads: false });
        } catch (error) {
          if (error instanceof PortalError) throw error;
          browser = undefined; // a launch or a dead browser: start afresh next time
          throw new PortalError('PAGW_PORTAL_BROWSER_UNAVAILABLE', 'The browser could not be started', {
            cause: error,
          });
        }
        const page = await context.newPage();
        return await work(page);
      } finally {
        await context?.close().catch(() => {});
        semaphore.release();
      }
    },
    installed: () => existsSync(options.executablePath),
    async processIds() {
      const b = await browser?.catch(() => undefined);
      if (!b?.isConnected()) return [];
      const cdp = await b.newBrowserCDPSession();
      try {
        const info = (await cdp.send('SystemInfo.getProcessInfo')) as {
          processInfo: Array<{ type: string; id: number }>;
        };
        return info.processInfo
          .sort((x, y) => (x.type === 'browser' ? -1 : y.type === 'browser' ? 1 : 0))
          .map((p) => p.id);
      } finally {
        await cdp.detach().catch(() => {});
      }
    },
    get launches() {
      return launches;
    },
    async close() {
      closed = true;
      const b = browser;
      browser = undefined;
      if (b) await (await b.catch(() => undefined))?.close().catch(() => {});
    },
  };
}
