/**
 * bench/e2e: the whole pipeline, order to payer to published decision (issue #17). Starts the gateway and the
 * simulated clearinghouse as processes, sends HL7 v2 orders over HTTP, and reports:
 * - intake rate (orders answered 201 per second) and drain rate (cases reaching a final state per second, whole run);
 * - latency percentiles from the order's send to: the 201, the 270 at the payer, the 278 at the payer, `decided`,
 *   `delivered` (payer times from the simulator's log, case times from case_events: one machine, one clock);
 * - the gateway's RSS at rest and at its peak, its CPU per order, and (PostgreSQL) the server's CPU per order;
 * - SQL statements and transactions per order, counted in the gateway's pg client (bench/e2e/gateway-process.ts),
 *   with the most frequent statements; on PostgreSQL also pg_stat_database's commits;
 * - floors measured in the same run on the same kind of database — a bare BEGIN/INSERT/COMMIT loop, a bare express
 *   handler doing one INSERT, and with --bus kafka a bare kafkajs consume→produce passthrough — and the ratios.
 * The machine's load average is printed with each run: on a shared machine compare ratios, not absolute rates.
 * This file runs the bench; its parts are in bench/e2e/: load.ts (the orders sent), floors.ts, latency.ts,
 * pg-figures.ts (the PostgreSQL side: counters, table churn, the claim's plan), report.ts (the console output),
 * profile-summary.ts, and the processes it starts, gateway-process.ts and floor-http.ts.
 *
 *   npm run bench:e2e -- --db pg|embedded [--bus embedded|kafka] (--rate R [--duration S] | --burst N
 *                        [--concurrency C]) [--payer-ms M] [--runs K] [--pg-url postgres://…/postgres] [--json file]
 *                        [--cpu-prof]   (the gateway's CPU profile, summarized by area and function)
 *                        [--gateway-log file]   (the gateway's whole log, appended to file)
 *                        [--seed-cases N]   (N synthetic past cases of the bench's tenant first, then ANALYZE: do
 *                                            the plans hold on a database with history? compare the index reads)
 *   The gateway gets this process's environment: INTAKE_MAX_BACKLOG=0 runs it without back-pressure.
 */
import { appendFileSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import pg from 'pg';
import { createApiToken, type Database, migrate, openDatabase } from '../src/store/index.ts';
import { buildOrmOrder } from '../test/helpers/hl7-orders.ts';
import { startKafka } from '../test/helpers/kafka.ts';
import { startClearinghouseSim } from '../test/sim/clearinghouse/process.ts';
import {
  type FloorDatabase,
  httpFloor,
  insertCommitFloor,
  kafkaPassthroughFloor,
  type Rate,
  startProcess,
  stopProcess,
} from './e2e/floors.ts';
import { pipelineLatencies } from './e2e/latency.ts';
import { burst, type SentOrder, steady } from './e2e/load.ts';
import { cpuDelta, explainClaim, pgServerFigures, tableDelta, tableFigures } from './e2e/pg-figures.ts';
import { type ProfileSummary, summarizeProfile } from './e2e/profile-summary.ts';
import { printMedians, printRun } from './e2e/report.ts';
import { seedSyntheticCases } from './seed-cases.ts';

const { values } = parseArgs({
  options: {
    db: { type: 'string', default: 'embedded' },
    bus: { type: 'string', default: 'embedded' },
    rate: { type: 'string' },
    duration: { type: 'string', default: '30' },
    burst: { type: 'string' },
    concurrency: { type: 'string', default: '16' },
    'payer-ms': { type: 'string', default: '0' },
    runs: { type: 'string', default: '1' },
    'pg-url': { type: 'string', default: 'postgres://postgres@127.0.0.1:5432/postgres' },
    'floor-seconds': { type: 'string', default: '5' },
    'no-floors': { type: 'boolean', default: false },
    'timeout-s': { type: 'string', default: '900' },
    json: { type: 'string' },
    'cpu-prof': { type: 'boolean', default: false },
    'gateway-log': { type: 'string' },
    'seed-cases': { type: 'string', default: '0' },
  },
});
const dbKind = values.db === 'pg' ? 'pg' : 'embedded';
const busKind = values.bus === 'kafka' ? 'kafka' : 'embedded';
const payerMs = Number(values['payer-ms']);
const concurrency = Number(values.concurrency);
if (!values.rate === !values.burst) throw new Error('give either --rate R or --burst N');
const mode = values.rate
  ? { kind: 'rate' as const, rate: Number(values.rate), seconds: Number(values.duration) }
  : { kind: 'burst' as const, n: Number(values.burst) };
const finalStates = ['delivered', 'failed', 'rejected', 'not_required', 'cancelled'];

const order = (run: string) => (index: number) => {
  const messageId = `E2E-${run}-${index}`;
  return {
    messageId,
    body: buildOrmOrder({ messageId, memberId: `W${run}${index}`.slice(0, 20), cpt: '70553' }),
  };
};

function procStatus(pid: number, field: 'VmRSS' | 'VmHWM'): number {
  const match = new RegExp(`${field}:\\s+(\\d+) kB`).exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  return match ? Number(match[1]) / 1024 : Number.NaN;
}

interface Counts {
  statements: number;
  transactions: number;
  rollbacks: number;
  byText: Record<string, number>;
  cpuMs: number;
  monotonicUs: number;
}

async function readCounts(pid: number, file: string): Promise<Counts> {
  rmSync(file, { force: true });
  process.kill(pid, 'SIGUSR2');
  for (let i = 0; i < 200; i++) {
    try {
      return JSON.parse(readFileSync(file, 'utf8')) as Counts;
    } catch {
      await new Promise((resolve) => setTimeout(resolve, 25));
    }
  }
  throw new Error('the gateway wrote no counts');
}

async function runOnce(runIndex: number) {
  const run = `${Date.now().toString(36)}${runIndex}`;
  const load = loadavg();
  const cleanups: Array<() => Promise<void> | void> = [];
  const env: NodeJS.ProcessEnv = { ...process.env, PORT: '0' };
  for (const name of ['DATABASE_URL', 'KAFKA_BROKERS', 'DATA_DIR', 'PAGW_CONFIG', 'MLLP_PORT'])
    delete env[name];
  let floorDb: FloorDatabase;
  let admin: pg.Client | undefined;
  // One database per bench process: two benches on one server (shared machine) must not drop each other's.
  const benchDatabase = `pagw_bench_${process.pid}`;
  try {
    if (dbKind === 'pg') {
      admin = new pg.Client({ connectionString: values['pg-url'] });
      await admin.connect();
      await admin.query(`DROP DATABASE IF EXISTS ${benchDatabase} WITH (FORCE)`);
      await admin.query(`CREATE DATABASE ${benchDatabase}`);
      const url = new URL(values['pg-url']!);
      url.pathname = `/${benchDatabase}`;
      env.DATABASE_URL = url.toString();
      floorDb = { kind: 'pg', url: url.toString() };
    } else {
      const dir = mkdtempSync(path.join(tmpdir(), 'pagw-e2e-'));
      cleanups.push(() => rmSync(dir, { recursive: true, force: true }));
      env.DATA_DIR = dir;
      floorDb = { kind: 'embedded' };
    }
    const topics = [
      'pa.orders.hl7v2',
      'pa.orders.fhir',
      'pa.status.v1',
      'pa.claimresponse.v1',
      'pa.deadletter.v1',
      'pa.notify.email.v1',
      'pa.hl7v2.status.v1',
    ];
    let brokers: string[] | undefined;
    if (busKind === 'kafka') {
      const cluster = await startKafka(
        [...topics, 'bench.floor.in', 'bench.floor.out'].map((name) => ({ name, partitions: 4 })),
      );
      cleanups.push(() => cluster.stop());
      brokers = cluster.brokers;
      env.KAFKA_BROKERS = brokers.join(',');
    }
    const sim = await startClearinghouseSim({ latencyMs: payerMs });
    cleanups.push(() => sim.stop());
    env.CLEARINGHOUSE_ENDPOINTS = `pagw-sim=${sim.endpoint}`;

    // Floors first, on the same kind of database, while nothing else of the bench runs.
    const floors: { insertCommit?: Rate; http?: Rate; kafka?: Rate } = {};
    if (!values['no-floors']) {
      const seconds = Number(values['floor-seconds']);
      floors.insertCommit = await insertCommitFloor(floorDb, seconds, concurrency);
      floors.http = await httpFloor(
        floorDb,
        mode.kind === 'burst' ? mode.n : 1000,
        concurrency,
        order(`F${run}`),
      );
      if (brokers) {
        floors.kafka = await kafkaPassthroughFloor(
          brokers,
          { input: 'bench.floor.in', output: 'bench.floor.out' },
          2000,
          (i) => ({
            key: `k${i}`,
            value: order(`K${run}`)(i).body,
            headers: { 'pagw-tenant': 'clinic-a' },
          }),
        );
      }
    }

    // The token, written before the gateway starts (the embedded database is the gateway's once it runs).
    const setup = await openDatabase(
      env.DATABASE_URL ? { databaseUrl: env.DATABASE_URL } : { dataDir: env.DATA_DIR! },
    );
    await migrate(setup.pool);
    const { token } = await createApiToken(setup.pool, {
      tenant: 'clinic-a',
      roles: ['ehr'],
      label: 'bench',
      at: new Date(),
    });
    const seedCases = Number(values['seed-cases']);
    if (seedCases > 0) {
      // A database with history, its statistics taken as autovacuum would: the plans then meet a table of real size.
      const client = await setup.pool.connect();
      try {
        await seedSyntheticCases(client, { n: seedCases, now: new Date(), tenant: 'clinic-a' });
        await client.query('ANALYZE');
      } finally {
        client.release();
      }
    }
    await setup.close();

    const countsFile = path.join(tmpdir(), `pagw-e2e-counts-${process.pid}-${run}.json`);
    cleanups.push(() => rmSync(countsFile, { force: true }));
    // --cpu-prof: the gateway writes a V8 CPU profile when it exits; summarized below (bench/e2e/profile-summary.ts).
    const profileDir = values['cpu-prof'] ? mkdtempSync(path.join(tmpdir(), 'pagw-e2e-prof-')) : undefined;
    const started = Date.now();
    const gateway = await startProcess(
      'bench/e2e/gateway-process.ts',
      { ...env, PAGW_BENCH_COUNTS: countsFile },
      /listening on (http:\/\/\S+)/,
      profileDir ? ['--cpu-prof', `--cpu-prof-dir=${profileDir}`] : [],
    );
    cleanups.push(() => stopProcess(gateway.child));
    const logFile = values['gateway-log'];
    if (logFile) {
      // The gateway's whole log (the output kept in memory is cut to its last 100 kB).
      for (const stream of [gateway.child.stdout!, gateway.child.stderr!])
        stream.on('data', (chunk: Buffer) => appendFileSync(logFile, chunk));
    }
    const pid = gateway.child.pid!;
    const startSeconds = (Date.now() - started) / 1000;
    await new Promise((resolve) => setTimeout(resolve, 3000));
    const rssAtRest = procStatus(pid, 'VmRSS');
    const db: Database = await openDatabase(
      env.DATABASE_URL
        ? { databaseUrl: env.DATABASE_URL, poolSize: 2 }
        : { dataDir: env.DATA_DIR!, poolSize: 2 },
    );
    cleanups.push(() => db.close());
    const target = {
      url: gateway.match[1]!,
      path: '/orders/hl7v2',
      token,
      contentType: 'x-application/hl7-v2+er7',
    };
    const waitFinal = async (ids: string[], deadline: number) => {
      for (;;) {
        const { rows } = await db.pool.query<{ n: number }>(
          'SELECT count(*)::int AS n FROM cases WHERE id = ANY($1) AND state = ANY($2)',
          [ids, finalStates],
        );
        if (rows[0]!.n >= ids.length || Date.now() > deadline) return rows[0]!.n;
        await new Promise((resolve) => setTimeout(resolve, 500));
      }
    };
    // Warm-up: 20 orders through the whole pipeline (JIT, caches, connections), not counted.
    const warm = await burst(target, 20, 4, order(`W${run}`));
    await waitFinal(
      warm.flatMap((s) => (s.caseId ? [s.caseId] : [])),
      Date.now() + 120_000,
    );

    const counts0 = await readCounts(pid, countsFile);
    const server0 = admin ? await pgServerFigures(admin, benchDatabase) : undefined;
    const tables0 = admin ? await tableFigures(db.pool) : undefined;
    const t0 = Date.now();
    const sent: SentOrder[] =
      mode.kind === 'burst'
        ? await burst(target, mode.n, concurrency, order(run))
        : await steady(target, mode.rate, mode.seconds, order(run));
    const intakeEnd = Math.max(...sent.map((s) => s.respondedAt));
    // While the backlog is there (a burst's intake just ended).
    const claimPlan = admin
      ? await explainClaim(db.pool).catch((e: Error) => [`EXPLAIN failed: ${e.message}`])
      : [];
    const accepted = sent.filter((s) => s.caseId);
    const ids = accepted.map((s) => s.caseId!);
    const finalCount = await waitFinal(ids, Date.now() + Number(values['timeout-s']) * 1000);
    const counts1 = await readCounts(pid, countsFile);
    const server1 = admin ? await pgServerFigures(admin, benchDatabase) : undefined;
    const tables1 = admin ? await tableFigures(db.pool) : undefined;
    const peakRss = procStatus(pid, 'VmHWM');
    const gatewayCpuMs = counts1.cpuMs - counts0.cpuMs;

    // Latencies.
    const { latency, lastFinal } = await pipelineLatencies(db.pool, sim, accepted, ids, finalStates);
    const states = await db.pool.query<{ state: string; n: number }>(
      'SELECT state, count(*)::int AS n FROM cases WHERE id = ANY($1) GROUP BY state ORDER BY state',
      [ids],
    );
    const perOrder = (x: number) => x / Math.max(1, accepted.length);
    const byText = Object.entries(counts1.byText)
      .map(([text, n]) => [text, n - (counts0.byText[text] ?? 0)] as const)
      .filter(([, n]) => n > 0)
      .sort((a, b) => b[1] - a[1]);
    const intakeRate = accepted.length / ((intakeEnd - t0) / 1000);
    const drainRate = finalCount / ((Math.max(lastFinal, t0 + 1) - t0) / 1000);
    let profile: (ProfileSummary & { file: string }) | undefined;
    if (profileDir) {
      await stopProcess(gateway.child);
      const file = readdirSync(profileDir).find((f) => f.includes(`.${pid}.`));
      if (file) {
        const full = path.join(profileDir, file);
        // Only the measured window: from the counts before the orders to the counts after the last final state.
        const window = { fromUs: counts0.monotonicUs, toUs: counts1.monotonicUs };
        profile = { file: full, ...summarizeProfile(JSON.parse(readFileSync(full, 'utf8')), 30, window) };
      }
    }
    const result = {
      profile,
      run,
      loadAverage: load.map((x) => Number(x.toFixed(2))),
      loadAverageAfter: loadavg().map((x) => Number(x.toFixed(2))),
      db: dbKind,
      bus: busKind,
      mode,
      payerMs,
      concurrency,
      intakeMaxBacklog: process.env.INTAKE_MAX_BACKLOG ?? 'default',
      sent: sent.length,
      accepted: accepted.length,
      busyAnswers: sent.reduce((n, s) => n + s.busy, 0),
      final: finalCount,
      states: Object.fromEntries(states.rows.map((r) => [r.state, r.n])),
      intakeRate,
      drainRate,
      latency,
      gatewayStartSeconds: startSeconds,
      rssAtRestMb: rssAtRest,
      peakRssMb: peakRss,
      gatewayCpuMsPerOrder: perOrder(gatewayCpuMs),
      serverCpuMsPerOrder: server0 && server1 ? perOrder(cpuDelta(server0.cpu, server1.cpu)) : undefined,
      statementsPerOrder: perOrder(counts1.statements - counts0.statements),
      transactionsPerOrder: perOrder(counts1.transactions - counts0.transactions),
      serverCommitsPerOrder: server0 && server1 ? perOrder(server1.commits - server0.commits) : undefined,
      claimPlan,
      queueTables: tables0 && tables1 ? tableDelta(tables0, tables1, accepted.length) : undefined,
      topStatements: byText
        .slice(0, 40)
        .map(([text, n]) => ({ perOrder: Number(perOrder(n).toFixed(2)), text })),
      floors,
      ratios: {
        intakeToInsertCommit: floors.insertCommit ? intakeRate / floors.insertCommit.perSecond : undefined,
        intakeToHttpFloor: floors.http ? intakeRate / floors.http.perSecond : undefined,
        drainToKafkaPassthrough: floors.kafka ? drainRate / floors.kafka.perSecond : undefined,
      },
    };
    return result;
  } finally {
    for (const cleanup of cleanups.reverse()) await Promise.resolve(cleanup()).catch(() => {});
    if (admin) {
      await admin.query(`DROP DATABASE IF EXISTS ${benchDatabase} WITH (FORCE)`).catch(() => {});
      await admin.end();
    }
  }
}

/** One run's figures: printed by bench/e2e/report.ts, and each a line of --json. */
export type Result = Awaited<ReturnType<typeof runOnce>>;

const runs = Number(values.runs);
const results: Result[] = [];
for (let i = 0; i < runs; i++) {
  const result = await runOnce(i);
  printRun(result);
  results.push(result);
  if (values.json) appendFileSync(values.json, `${JSON.stringify(result)}\n`);
}
if (runs > 1) printMedians(results);
process.exit(0);
