/**
 * Starts the simulated payer portal as a SEPARATE PROCESS for tests, the demo and the bench, and talks to its test
 * hooks. The gateway reaches it the way it reaches a real portal: a browser over HTTP.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import path from 'node:path';
import { waitForSimListening } from '../listening.ts';
import type { Submission } from './server.ts';

const main = path.join(import.meta.dirname, 'main.ts');
const repoRoot = path.join(import.meta.dirname, '..', '..', '..');

export interface PortalSimProcess {
  /** http://127.0.0.1:<port> */
  readonly url: string;
  readonly child: ChildProcess;
  submissions(): Promise<Submission[]>;
  setLayout(layout: 'v1' | 'v2'): Promise<void>;
  setDown(down: boolean): Promise<void>;
  /** Sessions expire after this many signed-in pages from now on (undefined: never). */
  setSessionMaxPages(maxPages: number | undefined): Promise<void>;
  reset(): Promise<void>;
  stop(): Promise<void>;
}

export interface PortalSimProcessOptions {
  readonly username: string;
  readonly password: string;
  readonly totpSeed: string;
  readonly sessionTimeoutMs?: number;
  readonly sessionMaxPages?: number;
  readonly rateLimit?: { readonly max: number; readonly windowMs: number };
  readonly holdConfirmMs?: number;
  readonly timeoutMs?: number;
}

export async function startPortalSim(options: PortalSimProcessOptions): Promise<PortalSimProcess> {
  const args = ['--import', 'tsx', main, '--port', '0'];
  const add = (name: string, value: number | undefined) => {
    if (value !== undefined) args.push(`--${name}`, String(value));
  };
  add('session-timeout-ms', options.sessionTimeoutMs);
  add('session-max-pages', options.sessionMaxPages);
  add('hold-confirm-ms', options.holdConfirmMs);
  add('rate-max', options.rateLimit?.max);
  add('rate-window-ms', options.rateLimit?.windowMs);
  const child = spawn(process.execPath, args, {
    cwd: repoRoot,
    stdio: ['ignore', 'pipe', 'pipe'],
    env: {
      ...process.env,
      SIM_PORTAL_LOGIN: `${options.username}:${options.password}`,
      SIM_PORTAL_TOTP_SEED: options.totpSeed,
    },
  });
  const url = await waitForSimListening(child, {
    name: 'simulated payer portal',
    pattern: /listening on (http:\/\/\S+)/,
    timeoutMs: options.timeoutMs,
  });
  const post = (hook: string, body: unknown) =>
    fetch(`${url}/_sim/${hook}`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify(body),
    }).then(() => undefined);
  return {
    url,
    child,
    async submissions() {
      return (await (await fetch(`${url}/_sim/submissions`)).json()) as Submission[];
    },
    setLayout: (layout) => post('layout', { layout }),
    setDown: (down) => post('down', { down }),
    setSessionMaxPages: (maxPages) => post('sessions', { maxPages: maxPages ?? null }),
    reset: () => post('reset', {}),
    stop() {
      return new Promise<void>((done) => {
        if (child.exitCode !== null || child.signalCode !== null) return done();
        child.once('exit', () => done());
        child.kill('SIGTERM');
      });
    },
  };
}
