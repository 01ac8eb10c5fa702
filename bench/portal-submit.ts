/**
 * bench/portal-submit: time per portal submission by the robot (real headless Chromium against the simulated payer
 * portal, a separate process) — sign in with password and TOTP from the vault, fill the PA form, upload the
 * attachment, submit, read the confirmation, keep two masked screenshots sealed as evidence, record the attempt —
 * as the median of N submissions, with its ratio to a baseline measured in the same run: the same submission done
 * over plain HTTP (fetch: sign-in, TOTP, multipart form), i.e. the portal's own cost without a browser. Also the
 * browser's memory (resident set of every Chromium process) after the runs.
 *
 *   npx tsx bench/portal-submit.ts [--runs 20]            (embedded PGlite; DATABASE_URL=postgres://… for PostgreSQL)
 */
import { randomBytes, randomUUID } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { loadavg } from 'node:os';
import { parseArgs } from 'node:util';
import { generate } from 'otplib';
import { createBrowserPool } from '../connectors/portal/browser.ts';
import { createPortalConnector } from '../connectors/portal/connector.ts';
import { loadRecipes } from '../connectors/portal/recipes.ts';
import { createX12Store } from '../connectors/x12/store.ts';
import { systemClock } from '../src/clock.ts';
import { migrate, openDatabase } from '../src/store/index.ts';
import { createVault, masterKeyRingOf } from '../src/vault/index.ts';
import { sampleRequest } from '../test/helpers/fixtures.ts';
import { startPortalSim } from '../test/sim/payer-portal/process.ts';

const { values } = parseArgs({ options: { runs: { type: 'string', default: '20' } } });
const runs = Math.max(3, Number(values.runs));
const chromium = process.env.PORTAL_BROWSER ?? process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
const login = { username: 'bench-clinic', password: `bench-${randomBytes(6).toString('hex')}` };
const seed = 'GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ';

const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2]! : (s[s.length / 2 - 1]! + s[s.length / 2]!) / 2;
};
const p90 = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.ceil(xs.length * 0.9) - 1]!;

function rssKb(pid: number): number {
  try {
    const line = readFileSync(`/proc/${pid}/status`, 'utf8')
      .split('\n')
      .find((l) => l.startsWith('VmRSS:'));
    return line ? Number.parseInt(line.replace(/\D+/g, ''), 10) : 0;
  } catch {
    return 0;
  }
}

/** The same submission without a browser: sign-in, TOTP, multipart form, confirmation number. */
async function httpSubmission(url: string, member: string, reference: string): Promise<void> {
  let cookie = '';
  const call = async (path: string, init: RequestInit = {}) => {
    const res = await fetch(`${url}${path}`, {
      ...init,
      redirect: 'manual',
      headers: { ...(init.headers as Record<string, string>), ...(cookie ? { cookie } : {}) },
    });
    const set = res.headers.get('set-cookie');
    if (set) cookie = set.split(';')[0]!;
    return res.text();
  };
  const form = (fields: Record<string, string>) => ({
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams(fields).toString(),
  });
  await call('/login');
  await call('/login', form(login));
  await call('/login/verify', form({ code: await generate({ secret: seed }) }));
  await call('/pa/new');
  const data = new FormData();
  const fields = {
    family: 'BENCH',
    given: 'PAT',
    dob: '1980-04-12',
    member,
    services: '70553',
    diagnoses: 'G43.909',
    npi: '1234567893',
    urgency: 'standard',
    reference,
  };
  for (const [k, v] of Object.entries(fields)) data.set(k, v);
  data.set('attachment', new Blob(['clinical summary'], { type: 'text/plain' }), 'summary.txt');
  const page = await call('/pa/new', { method: 'POST', body: data });
  if (!/PA-\d+/.test(page)) throw new Error('the HTTP baseline got no confirmation number');
}

async function main(): Promise<void> {
  const db = await openDatabase(
    process.env.DATABASE_URL ? { databaseUrl: process.env.DATABASE_URL } : { dataDir: 'memory://' },
  );
  await migrate(db.pool);
  const vault = createVault({ pool: db.pool, keys: masterKeyRingOf([randomBytes(32)]), clock: systemClock });
  const actor = { id: 'bench' };
  await vault.set({ tenant: 'bench', name: 'portal/bench/username', value: login.username, actor });
  await vault.set({ tenant: 'bench', name: 'portal/bench/password', value: login.password, actor });
  await vault.set({ tenant: 'bench', name: 'portal/bench/totp', value: seed, kind: 'totp', actor });
  const sim = await startPortalSim({
    ...login,
    totpSeed: seed,
    rateLimit: { max: 100_000, windowMs: 60_000 },
  });
  const browsers = createBrowserPool({ executablePath: chromium });
  const connector = createPortalConnector({
    store: createX12Store(db.pool, { phi: vault.phi }),
    pool: db.pool,
    phi: vault.phi,
    secrets: vault,
    recipes: loadRecipes(),
    browsers,
    clock: systemClock,
  });
  const settings = {
    type: 'portal',
    url: sim.url,
    recipe: 'sim-health',
    credentialsRef: 'vault:portal/bench',
    totpRef: 'vault:portal/bench/totp',
  };
  const submit = async (i: number) => {
    const caseId = randomUUID();
    const base = sampleRequest();
    const outcome = await connector.submit(
      sampleRequest({ coverage: { ...base.coverage, memberId: `W${i}` } }),
      {
        tenant: 'bench',
        caseId,
        traceNumber: caseId.replace(/-/g, '').toUpperCase(),
        payer: { id: 'bench-portal', name: 'Bench Portal', settings },
        attempt: 1,
        at: new Date(),
      },
    );
    if (outcome.kind !== 'pended') throw new Error(`submission ${i}: ${outcome.kind}`);
  };
  try {
    await submit(0); // warm-up: the browser starts here
    await httpSubmission(sim.url, 'W0', 'WARMUP');
    const robot: number[] = [];
    const http: number[] = [];
    for (let i = 1; i <= runs; i++) {
      let t = performance.now();
      await submit(i);
      robot.push(performance.now() - t);
      t = performance.now();
      await httpSubmission(sim.url, `W${i}`, `HTTP-${i}`);
      http.push(performance.now() - t);
    }
    const pids = await browsers.processIds();
    const browserKb = pids.reduce((sum, pid) => sum + rssKb(pid), 0);
    const held = await sim.submissions();
    const m = median(robot);
    const b = median(http);
    console.log(
      `portal submission by the robot, ${runs} runs (${db.kind}, load average ${loadavg()
        .map((l) => l.toFixed(2))
        .join(' ')}):`,
    );
    console.log(
      `  robot (Chromium: sign-in + TOTP + form + upload + confirmation + 2 screenshots + records): median ${m.toFixed(0)} ms, p90 ${p90(robot).toFixed(0)} ms`,
    );
    console.log(
      `  baseline (plain HTTP, same portal, same steps, no browser):                          median ${b.toFixed(1)} ms`,
    );
    console.log(`  ratio robot / baseline: ${(m / b).toFixed(1)}×`);
    console.log(
      `  browser memory after ${runs + 1} submissions: ${(browserKb / 1024).toFixed(0)} MiB resident over ${pids.length} Chromium processes (one browser, ${browsers.launches} launch); gateway process ${(process.memoryUsage().rss / 1_048_576).toFixed(0)} MiB`,
    );
    console.log(
      `  the portal holds ${held.filter((s) => s.member.startsWith('W')).length} requests (robot and baseline, one each per run)`,
    );
  } finally {
    await browsers.close();
    await sim.stop();
    await db.close();
  }
}

await main();
