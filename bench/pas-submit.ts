/**
 * bench/pas-submit: the round trip of the gateway's Claim/$submit — an EHR posts a PAS request Bundle, the gateway
 * validates it against the PAS profiles, opens the case, routes it, builds and validates its own PAS request, gets
 * a SMART token (cached), calls the simulated PAS payer's $submit, records and maps the answer, and answers the
 * EHR with a validated PAS response Bundle — with p50/p99, and ratios to two baselines measured in the same run:
 *
 * - payer alone: the same kind of request Bundle posted straight to the simulated payer's $submit (with a token);
 * - gateway floor: GET /healthz on the same gateway (HTTP + express, no work).
 *
 *   npx tsx bench/pas-submit.ts [--requests 200] [--warmup 10] [--concurrency 1]
 *
 * The gateway runs in this process on the embedded PGlite (or PostgreSQL with DATABASE_URL); the payer is its own
 * process. Requests are sequential by default (a latency measure, not a throughput one).
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import type { Bundle, Claim, ClaimResponse } from '@medplum/fhirtypes';
import { loadConfig } from '../src/config/load-config.ts';
import { startGateway } from '../src/gateway.ts';
import { createLogger } from '../src/log/logger.ts';
import { createApiToken } from '../src/store/index.ts';
import { databaseUrlOf } from '../test/helpers/cli.ts';
import { openTestDatabase } from '../test/helpers/database.ts';
import { createPasClientKeys, PAS_CLIENT_ID, pasChannelFor, pasTestPayersDir } from '../test/helpers/pas.ts';
import { startPasSimProcess } from '../test/sim/pas-payer/process.ts';

const { values } = parseArgs({
  options: {
    requests: { type: 'string', default: '200' },
    warmup: { type: 'string', default: '10' },
    concurrency: { type: 'string', default: '1' },
  },
});
const requests = Number(values.requests);
const warmup = Number(values.warmup);
const concurrency = Math.max(1, Number(values.concurrency));

const repoRoot = path.join(import.meta.dirname, '..');
const template = JSON.parse(
  readFileSync(
    path.join(repoRoot, 'test/fixtures/pas/Bundle-ReferralAuthorizationBundleExample.json'),
    'utf8',
  ),
) as Bundle;

function bundle(n: number): Bundle {
  const b = structuredClone(template);
  (b.entry![0]!.resource as Claim).identifier = [
    { system: 'urn:bench:claim', value: `BENCH-${process.pid}-${n}` },
  ];
  return b;
}

function percentile(sorted: number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)]!;
}

async function measure(label: string, count: number, run: (i: number) => Promise<void>) {
  const times: number[] = [];
  let next = 0;
  const worker = async () => {
    while (next < count) {
      const i = next++;
      const t = performance.now();
      await run(i);
      times.push(performance.now() - t);
    }
  };
  await Promise.all(Array.from({ length: concurrency }, worker));
  times.sort((a, b) => a - b);
  return {
    label,
    n: times.length,
    p50: percentile(times, 50),
    p99: percentile(times, 99),
    mean: times.reduce((s, t) => s + t, 0) / times.length,
  };
}

const dir = mkdtempSync(path.join(tmpdir(), 'pagw-bench-pas-'));
const keys = await createPasClientKeys('RS384', dir);
const sim = await startPasSimProcess({ slowMs: 0 });
await sim.registerClient(PAS_CLIENT_ID, keys.jwks);
// On PostgreSQL the bench gets a schema of its own (dropped at the end), never the database's public schema.
const schemaDb = process.env.DATABASE_URL ? await openTestDatabase({ migrate: false }) : undefined;
const env: Record<string, string> = {
  PORT: '0',
  LOG_LEVEL: 'silent',
  POLL_INTERVAL_MS: '50',
  PAYERS_DIR: pasTestPayersDir(pasChannelFor(sim, keys)),
  ...(schemaDb ? { DATABASE_URL: databaseUrlOf(schemaDb) } : { DATA_DIR: path.join(dir, 'data') }),
};
const config = loadConfig({ env });
const gateway = await startGateway(config, createLogger({ level: 'silent' }));
const { token } = await createApiToken(gateway.db.pool, {
  tenant: 'clinic-a',
  roles: ['ehr'],
  label: 'bench-ehr',
  at: new Date(),
});

// A bearer token for the payer-alone baseline, the way the gateway gets one (one SMART client assertion).
const { createSmartAuth } = await import('../connectors/pas/smart-auth.ts');
const { systemClock } = await import('../src/clock.ts');
const payerToken = await createSmartAuth({ clock: systemClock }).accessToken({
  tokenUrl: sim.tokenUrl,
  clientId: PAS_CLIENT_ID,
  scopes: 'system/Claim.c',
  keyRef: keys.keyRef,
  algorithm: 'RS384',
  keyId: keys.keyId,
  tenant: 'clinic-a',
});

let decided = 0;
const viaGateway = async (n: number) => {
  const res = await fetch(`${gateway.url}/fhir/Claim/$submit`, {
    method: 'POST',
    headers: { authorization: `Bearer ${token}`, 'content-type': 'application/fhir+json' },
    body: JSON.stringify(bundle(n)),
  });
  const body = (await res.json()) as Bundle;
  if (res.status !== 200)
    throw new Error(`$submit answered ${res.status}: ${JSON.stringify(body).slice(0, 300)}`);
  if ((body.entry?.[0]?.resource as ClaimResponse | undefined)?.outcome === 'complete') decided++;
};
const payerAlone = async (n: number) => {
  const res = await fetch(`${sim.fhirBase}/Claim/$submit`, {
    method: 'POST',
    headers: { authorization: `Bearer ${payerToken}`, 'content-type': 'application/fhir+json' },
    body: JSON.stringify(bundle(1_000_000 + n)),
  });
  await res.arrayBuffer();
  if (res.status !== 200) throw new Error(`payer answered ${res.status}`);
};
const floor = async () => {
  const res = await fetch(`${gateway.url}/healthz`);
  await res.arrayBuffer();
};

for (let i = 0; i < warmup; i++) await viaGateway(-1 - i);
const results = [
  await measure('payer alone (simulated $submit)', requests, payerAlone),
  await measure('gateway floor (GET /healthz)', requests, floor),
  await measure('gateway Claim/$submit round trip', requests, viaGateway),
];
const payer = results[0]!;
const line = (cells: string[]) => cells.map((c, i) => (i === 0 ? c.padEnd(36) : c.padStart(12))).join('');
console.log(
  `\nPAS $submit round trip, ${requests} requests, concurrency ${concurrency}, ${gateway.db.description}`,
);
console.log(
  `load average ${(await import('node:os'))
    .loadavg()
    .map((l) => l.toFixed(2))
    .join(' ')}\n`,
);
console.log(line(['', 'p50 ms', 'p99 ms', 'mean ms', 'p50 ×payer']));
for (const r of results) {
  console.log(
    line([r.label, r.p50.toFixed(1), r.p99.toFixed(1), r.mean.toFixed(1), (r.p50 / payer.p50).toFixed(1)]),
  );
}
console.log(
  `\n${decided}/${requests + warmup} gateway answers carried the payer's decision (the rest: pended A4)\n`,
);

await gateway.stop();
await schemaDb?.close();
await sim.stop();
rmSync(dir, { recursive: true, force: true });
