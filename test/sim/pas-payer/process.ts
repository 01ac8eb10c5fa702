/**
 * Starts the simulated PAS payer as a SEPARATE PROCESS for tests, the demo and the bench, and talks to its test
 * hooks. The gateway reaches it over HTTP like any payer's FHIR API.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import path from 'node:path';
import type { JSONWebKeySet } from 'jose';
import { waitForSimListening } from '../listening.ts';
import type { PasNotification, PasReceived } from './server.ts';

const main = path.join(import.meta.dirname, 'main.ts');
const repoRoot = path.join(import.meta.dirname, '..', '..', '..');

export interface PasSimProcess {
  /** http://127.0.0.1:<port> */
  readonly url: string;
  /** FHIR base, http://127.0.0.1:<port>/fhir */
  readonly fhirBase: string;
  readonly tokenUrl: string;
  readonly child: ChildProcess;
  registerClient(clientId: string, jwks: JSONWebKeySet): Promise<void>;
  received(): Promise<PasReceived[]>;
  notifications(): Promise<PasNotification[]>;
  expireTokens(): Promise<void>;
  /** Decides a pended review now (by Claim identifier key `system|value`), notifying subscribers. */
  decide(key: string): Promise<boolean>;
  /** Changes a decided review's decision (approve, deny, partial), notifying subscribers. */
  changeDecision(key: string, behaviour: 'approve' | 'deny' | 'partial'): Promise<boolean>;
  reset(): Promise<void>;
  stop(): Promise<void>;
}

export async function startPasSimProcess(
  options: {
    slowMs?: number;
    notifyAfterMs?: number;
    tokenTtlSeconds?: number;
    port?: number;
    timeoutMs?: number;
  } = {},
): Promise<PasSimProcess> {
  const child = spawn(
    process.execPath,
    [
      '--import',
      'tsx',
      main,
      '--port',
      String(options.port ?? 0),
      '--slow-ms',
      String(options.slowMs ?? 1500),
      '--notify-after-ms',
      String(options.notifyAfterMs ?? 300),
      '--token-ttl-s',
      String(options.tokenTtlSeconds ?? 300),
    ],
    { cwd: repoRoot, stdio: ['ignore', 'pipe', 'pipe'] },
  );
  const url = await waitForSimListening(child, {
    name: 'simulated PAS payer',
    pattern: /listening on (http:\/\/[^\s]+)\/fhir/,
    timeoutMs: options.timeoutMs,
  });
  const post = (hook: string, body?: unknown) =>
    fetch(`${url}/_sim/${hook}`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      ...(body === undefined ? {} : { body: JSON.stringify(body) }),
    });
  return {
    url,
    fhirBase: `${url}/fhir`,
    tokenUrl: `${url}/oauth/token`,
    child,
    async registerClient(clientId, jwks) {
      await post('clients', { clientId, jwks });
    },
    async received() {
      return (await (await fetch(`${url}/_sim/received`)).json()) as PasReceived[];
    },
    async notifications() {
      return (await (await fetch(`${url}/_sim/notifications`)).json()) as PasNotification[];
    },
    async expireTokens() {
      await post('expire-tokens');
    },
    async decide(key) {
      return ((await (await post('decide', { key })).json()) as { decided: boolean }).decided;
    },
    async changeDecision(key, behaviour) {
      return ((await (await post('change-decision', { key, behaviour })).json()) as { changed: boolean })
        .changed;
    },
    async reset() {
      await post('reset');
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
