/**
 * Starts the simulated clearinghouse as a SEPARATE PROCESS for tests (and demos) and talks to its test hooks.
 * The process is the real thing: the gateway reaches it over HTTP with CAQH CORE envelopes.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import path from 'node:path';
import { waitForSimListening } from '../listening.ts';
import type { ReceivedRequest } from './server.ts';

const main = path.join(import.meta.dirname, 'main.ts');
const repoRoot = path.join(import.meta.dirname, '..', '..', '..');

export interface SimProcess {
  /** http://127.0.0.1:<port> */
  readonly url: string;
  /** The CORE endpoint, http://127.0.0.1:<port>/core */
  readonly endpoint: string;
  readonly child: ChildProcess;
  received(): Promise<ReceivedRequest[]>;
  reset(): Promise<void>;
  /** The payer changes its decision on the review of `traceNumber` (POST /_sim/decision). */
  changeDecision(traceNumber: string, behaviour: 'approve' | 'deny' | 'modify'): Promise<void>;
  stop(): Promise<void>;
}

export async function startClearinghouseSim(
  options: {
    slowMs?: number;
    latencyMs?: number;
    timeoutMs?: number;
    login?: { username: string; password: string };
  } = {},
): Promise<SimProcess> {
  const child = spawn(
    process.execPath,
    [
      '--import',
      'tsx',
      main,
      '--port',
      '0',
      '--slow-ms',
      String(options.slowMs ?? 1500),
      '--latency-ms',
      String(options.latencyMs ?? 0),
    ],
    {
      cwd: repoRoot,
      stdio: ['ignore', 'pipe', 'pipe'],
      env: {
        ...process.env,
        ...(options.login ? { SIM_LOGIN: `${options.login.username}:${options.login.password}` } : {}),
      },
    },
  );
  const url = await waitForSimListening(child, {
    name: 'simulated clearinghouse',
    pattern: /listening on (http:\/\/[^\s]+)\/core/,
    timeoutMs: options.timeoutMs,
  });
  return {
    url,
    endpoint: `${url}/core`,
    child,
    async received() {
      const res = await fetch(`${url}/_sim/received`);
      return (await res.json()) as ReceivedRequest[];
    },
    async reset() {
      await fetch(`${url}/_sim/reset`, { method: 'POST' });
    },
    async changeDecision(traceNumber, behaviour) {
      const res = await fetch(`${url}/_sim/decision`, {
        method: 'POST',
        body: JSON.stringify({ traceNumber, behaviour }),
      });
      if (res.status !== 204) throw new Error(`the simulator did not change ${traceNumber}: ${res.status}`);
    },
    stop() {
      return new Promise<void>((done) => {
        if (child.exitCode !== null || child.signalCode !== null) return done();
        child.once('exit', () => done());
        child.kill('SIGTERM');
      });
    },
  };
}
