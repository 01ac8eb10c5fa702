/**
 * bench/memory: the embedded default's resident memory (issue #10 item 12, issue #17 item 4: under 300 MB at rest).
 *
 *   npx tsx bench/memory.ts [--orders 200] [--settle 10]          (npm run bench:memory)
 *
 * For each way of starting the gateway — `node bin/pagw.js start` as it is, and `npm start` (the same with the
 * allocator and young-generation settings package.json and the Dockerfile set) — on a fresh data directory:
 *   first start   the start that creates the database (initdb runs in a child process, see src/store/database.ts):
 *                 RSS once settled and the peak (VmHWM) of the gateway process
 *   at rest       a second start on the same directory, RSS after --settle seconds of idling
 *   after orders  RSS after --orders HL7 v2 orders were taken and settled (the mapping, the hl7v2 package and the
 *                 workflow's caches loaded), and the process's peak
 * Baseline in the same run: `node -e "setInterval(()=>{},1000)"` (a bare Node process).
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { openDatabase } from '../src/store/database.ts';
import { migrate } from '../src/store/migrate.ts';
import { createApiToken } from '../src/store/tokens.ts';
import { buildOrmOrder } from '../test/helpers/hl7-orders.ts';
import { burst } from './e2e/load.ts';

const { values } = parseArgs({
  options: { orders: { type: 'string', default: '200' }, settle: { type: 'string', default: '10' } },
});
const orders = Number(values.orders);
const settleMs = Number(values.settle) * 1000;
const root = path.join(import.meta.dirname, '..');
const bin = path.join(root, 'bin', 'pagw.js');

/** How each variant starts the gateway: node arguments and extra environment. */
const variants: Array<{ label: string; nodeArgs: string[]; env: Record<string, string> }> = [
  { label: 'node bin/pagw.js start', nodeArgs: [], env: {} },
  {
    label: 'npm start (tuned)',
    nodeArgs: ['--max-semi-space-size=8'],
    env: { MALLOC_MMAP_THRESHOLD_: '65536' },
  },
];

function status(pid: number, field: 'VmRSS' | 'VmHWM'): number {
  const line = readFileSync(`/proc/${pid}/status`, 'utf8').match(new RegExp(`${field}:\\s+(\\d+)`));
  return Math.round(Number(line?.[1] ?? 0) / 1024);
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

async function start(
  nodeArgs: string[],
  env: NodeJS.ProcessEnv,
): Promise<{ child: ChildProcess; url: string }> {
  const child = spawn(process.execPath, [...nodeArgs, bin, 'start'], {
    cwd: root,
    env,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  child.stdout!.on('data', (d) => {
    out = (out + d).slice(-100_000);
  });
  child.stderr!.on('data', (d) => {
    out = (out + d).slice(-100_000);
  });
  const url = await new Promise<string>((resolve, reject) => {
    const timer = setInterval(() => {
      const m = /"url":"(http:\/\/[^"]+)"/.exec(out) ?? /listening on (http:\/\/\S+)/.exec(out);
      if (m) {
        clearInterval(timer);
        resolve(m[1]!);
      }
    }, 100);
    child.once('exit', (code) => {
      clearInterval(timer);
      reject(new Error(`the gateway exited with ${code}:\n${out.slice(-3000)}`));
    });
  });
  child.removeAllListeners('exit');
  return { child, url };
}

async function stop(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  await new Promise<void>((resolve) => {
    const force = setTimeout(() => child.kill('SIGKILL'), 30_000);
    child.once('exit', () => {
      clearTimeout(force);
      resolve();
    });
    child.kill('SIGTERM');
  });
}

interface Row {
  label: string;
  firstSettled: number;
  firstPeak: number;
  atRest: number;
  afterOrders: number;
  peak: number;
}

const rows: Row[] = [];
const baseline = spawn(process.execPath, ['-e', 'setInterval(() => {}, 1000)'], { stdio: 'ignore' });
await sleep(1000);
const baselineRss = status(baseline.pid!, 'VmRSS');
baseline.kill();
const loadBefore = loadavg().map((l) => l.toFixed(1));

for (const variant of variants) {
  const dir = mkdtempSync(path.join(tmpdir(), 'pagw-bench-memory-'));
  try {
    const env: NodeJS.ProcessEnv = {
      ...process.env,
      ...variant.env,
      DATA_DIR: dir,
      PORT: '0',
      DATABASE_URL: '',
      KAFKA_BROKERS: '',
      LOG_LEVEL: 'warn',
    };
    delete env.PAGW_CONFIG;
    const first = await start(variant.nodeArgs, env);
    await sleep(settleMs);
    const firstSettled = status(first.child.pid!, 'VmRSS');
    const firstPeak = status(first.child.pid!, 'VmHWM');
    await stop(first.child);

    // The token goes in while no gateway holds the directory.
    const setup = await openDatabase({ dataDir: dir });
    await migrate(setup.pool);
    const { token } = await createApiToken(setup.pool, {
      tenant: 'clinic-a',
      roles: ['ehr'],
      label: 'bench-memory',
      at: new Date(),
    });
    await setup.close();

    const second = await start(variant.nodeArgs, env);
    await sleep(settleMs);
    const atRest = status(second.child.pid!, 'VmRSS');
    const sent = await burst(
      { url: second.url, path: '/orders/hl7v2', token, contentType: 'x-application/hl7-v2+er7' },
      orders,
      8,
      (i) => {
        const messageId = `MEM-${i}`;
        return { messageId, body: buildOrmOrder({ messageId, memberId: `W9${i}`, cpt: '70553' }) };
      },
    );
    const refused = sent.filter((s) => s.status >= 300).length;
    if (refused) console.warn(`${variant.label}: ${refused} of ${orders} orders refused`);
    await sleep(settleMs);
    rows.push({
      label: variant.label,
      firstSettled,
      firstPeak,
      atRest,
      afterOrders: status(second.child.pid!, 'VmRSS'),
      peak: status(second.child.pid!, 'VmHWM'),
    });
    await stop(second.child);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

console.log(
  `\n== bench:memory  embedded default, ${orders} HL7 orders, settle ${settleMs / 1000} s  load average ${loadBefore.join(' ')}`,
);
console.log(`  bare node process (baseline): ${baselineRss} MB`);
console.log(
  '  variant                    first start: settled / peak   at rest   after orders   peak   at rest ÷ baseline',
);
for (const r of rows) {
  console.log(
    `  ${r.label.padEnd(26)} ${String(r.firstSettled).padStart(12)} / ${String(r.firstPeak).padEnd(6)} ${String(r.atRest).padStart(7)} ${String(r.afterOrders).padStart(13)} ${String(r.peak).padStart(7)}   ${(r.atRest / baselineRss).toFixed(1)}×`,
  );
}
console.log('  (MB of resident memory of the gateway process; goal: under 300 MB at rest)');
