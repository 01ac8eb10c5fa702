/**
 * Starts the simulated pharmacy system as a SEPARATE PROCESS for tests, the bench and demos, and talks to its
 * test hooks. The gateway reaches it over HTTP: FHIR reads and signed write-backs.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import path from 'node:path';
import { waitForSimListening } from '../listening.ts';
import type { SimCallback } from './server.ts';

const main = path.join(import.meta.dirname, 'main.ts');
const repoRoot = path.join(import.meta.dirname, '..', '..', '..');

export interface PharmacySimProcess {
  /** http://127.0.0.1:<port> */
  readonly url: string;
  readonly fhirBase: string;
  readonly callbackUrl: string;
  readonly child: ChildProcess;
  callbacks(): Promise<SimCallback[]>;
  fhirRequests(): Promise<{ method: string; path: string; status: number }[]>;
  failCallbacks(count: number, status?: number): Promise<void>;
  failFhir(count: number, status?: number): Promise<void>;
  reset(): Promise<void>;
  stop(): Promise<void>;
}

export async function startPharmacySimProcess(
  options: {
    callbackSecret?: string;
    fhirToken?: string;
    pageSize?: number;
    unsupported?: string[];
    timeoutMs?: number;
  } = {},
): Promise<PharmacySimProcess> {
  const child = spawn(
    process.execPath,
    [
      '--import',
      'tsx',
      main,
      '--port',
      '0',
      '--page-size',
      String(options.pageSize ?? 2),
      ...(options.unsupported?.length ? ['--unsupported', options.unsupported.join(',')] : []),
    ],
    {
      cwd: repoRoot,
      stdio: ['ignore', 'pipe', 'pipe'],
      env: {
        ...process.env,
        ...(options.callbackSecret ? { SIM_CALLBACK_SECRET: options.callbackSecret } : {}),
        ...(options.fhirToken ? { SIM_FHIR_TOKEN: options.fhirToken } : {}),
      },
    },
  );
  const url = await waitForSimListening(child, {
    name: 'simulated pharmacy system',
    pattern: /listening on (http:\/\/[^\s]+)/,
    timeoutMs: options.timeoutMs,
  });
  const post = (p: string, body: unknown) =>
    fetch(`${url}${p}`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify(body),
    });
  return {
    url,
    fhirBase: `${url}/fhir`,
    callbackUrl: `${url}/callbacks/pa-status`,
    child,
    async callbacks() {
      return (await (await fetch(`${url}/_sim/callbacks`)).json()) as SimCallback[];
    },
    async fhirRequests() {
      return (await (await fetch(`${url}/_sim/requests`)).json()) as {
        method: string;
        path: string;
        status: number;
      }[];
    },
    async failCallbacks(count, status = 503) {
      await post('/_sim/callbacks/fail', { count, status });
    },
    async failFhir(count, status = 503) {
      await post('/_sim/fhir/fail', { count, status });
    },
    async reset() {
      await post('/_sim/reset', {});
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
