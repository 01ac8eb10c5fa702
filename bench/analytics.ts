/**
 * bench/analytics: every dashboard query, the console's case list and the business-metrics read on a 100k-case
 * tenant on PostgreSQL, against a budget of 300 ms each; each time is also given as a ratio to a baseline
 * measured in the same run (a plain count(*) of the tenant's cases). --plans prints each query's plan.
 *
 *   npm run bench:analytics -- [--n 100000] [--plans] [--postgres postgres://postgres@127.0.0.1:5432/test]
 *
 * The seed (bench/seed-cases.ts, generated in SQL, deterministic) goes into a schema of its own, dropped at the end.
 */
import { randomBytes } from 'node:crypto';
import { cpus, loadavg } from 'node:os';
import { parseArgs } from 'node:util';
import pg from 'pg';
import { type AnalyticsFilter, addDays, DEFAULT_RANGE_DAYS, dayIn } from '../src/analytics/filters.ts';
import {
  inAnalyticsSession,
  queryFacets,
  queryOutcomes,
  queryScorecard,
  querySla,
  queryTurnaround,
  queryVolume,
} from '../src/analytics/queries.ts';
import { readBusinessFigures } from '../src/metrics/business-metrics.ts';
import { listFailedCases, searchCases } from '../src/store/case-console.ts';
import { migrate, type Sql } from '../src/store/index.ts';
import { seedSyntheticCases } from './seed-cases.ts';

const { values } = parseArgs({
  options: {
    n: { type: 'string', default: '100000' },
    plans: { type: 'boolean', default: false },
    runs: { type: 'string', default: '7' },
    postgres: {
      type: 'string',
      default: process.env.DATABASE_URL || 'postgres://postgres@127.0.0.1:5432/test',
    },
  },
});
const n = Number(values.n);
const runs = Number(values.runs);
const BUDGET_MS = 300;
const tenant = 'bench';
const now = new Date('2026-06-01T15:00:00Z');

/** Wraps a pool or a transaction so every statement a query function sends is kept (to EXPLAIN it). */
function recording(inner: Sql, statements: Array<{ text: string; params: unknown[] }>): Sql {
  return {
    query: (text: string, params: unknown[] = []) => {
      statements.push({ text, params });
      return inner.query(text, params);
    },
  } as unknown as Sql;
}

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)]!;
}

async function measure(work: () => Promise<unknown>): Promise<{ median: number; max: number }> {
  await work(); // warm-up
  const times: number[] = [];
  for (let i = 0; i < runs; i++) {
    const start = process.hrtime.bigint();
    await work();
    times.push(Number(process.hrtime.bigint() - start) / 1e6);
  }
  return { median: median(times), max: Math.max(...times) };
}

async function main(): Promise<void> {
  const schema = `bench_analytics_${randomBytes(4).toString('hex')}`;
  const admin = new pg.Client({ connectionString: values.postgres });
  await admin.connect();
  await admin.query(`CREATE SCHEMA ${schema}`);
  const pool = new pg.Pool({
    connectionString: values.postgres,
    max: 2,
    options: `-c search_path=${schema}`,
  });
  try {
    await migrate(pool);
    const seedStart = Date.now();
    const client = await pool.connect();
    try {
      await client.query(`SET search_path = ${schema}`);
      await seedSyntheticCases(client, { n, now, tenant });
      // What autovacuum does after a bulk load: statistics, and the visibility map index-only scans rely on.
      await client.query('VACUUM ANALYZE cases');
      await client.query('VACUUM ANALYZE case_events');
    } finally {
      client.release();
    }
    const counts = await pool.query<{ state: string; n: number }>(
      'SELECT state, count(*)::int AS n FROM cases GROUP BY 1 ORDER BY 1',
    );
    console.log(
      `seeded ${n} cases in ${((Date.now() - seedStart) / 1000).toFixed(1)} s on PostgreSQL (${counts.rows
        .map((r) => `${r.state} ${r.n}`)
        .join(', ')})`,
    );

    const to = dayIn(now, 'UTC');
    const filter: AnalyticsFilter = {
      from: addDays(to, -(DEFAULT_RANGE_DAYS - 1)),
      to,
      timeZone: 'America/New_York',
    };
    const recent = await pool.query<{ updated_at: Date; id: string }>(
      `SELECT updated_at, id FROM cases WHERE tenant_id = $1 ORDER BY updated_at DESC, id DESC OFFSET 2499 LIMIT 1`,
      [tenant],
    );
    const page50 = { updatedAt: recent.rows[0]!.updated_at, id: recent.rows[0]!.id };
    const list = { limit: 50, now };

    const cases: Array<[string, (sql: Sql) => Promise<unknown>]> = [
      [
        'baseline: count(*) of the tenant’s cases',
        (sql) => sql.query('SELECT count(*) FROM cases WHERE tenant_id = $1', [tenant]),
      ],
      ['dashboard: turnaround by payer', (sql) => queryTurnaround(sql, tenant, filter, 'payer')],
      ['dashboard: turnaround by service', (sql) => queryTurnaround(sql, tenant, filter, 'service')],
      ['dashboard: outcomes / straight-through', (sql) => queryOutcomes(sql, tenant, filter)],
      ['dashboard: SLA breaches', (sql) => querySla(sql, tenant, filter, now)],
      ['dashboard: volume per day', (sql) => queryVolume(sql, tenant, filter)],
      ['dashboard: payer scorecard', (sql) => queryScorecard(sql, tenant, filter)],
      ['dashboard: filter menus (facets)', (sql) => queryFacets(sql, tenant, filter)],
      [
        'dashboard: outcomes, one payer + service',
        (sql) => queryOutcomes(sql, tenant, { ...filter, payer: 'payer-3', service: 'J0135' }),
      ],
      [
        'dashboard: turnaround, one prescriber',
        (sql) => queryTurnaround(sql, tenant, { ...filter, prescriber: '1000000007' }, 'payer'),
      ],
      ['case list: first page', (sql) => searchCases(sql, tenant, list)],
      ['case list: page 51 (keyset)', (sql) => searchCases(sql, tenant, { ...list, after: page50 })],
      ['case list: state = pended', (sql) => searchCases(sql, tenant, { ...list, state: 'pended' })],
      [
        'case list: payer + urgency',
        (sql) => searchCases(sql, tenant, { ...list, payer: 'payer-5', urgency: 'expedited' }),
      ],
      ['case list: SLA breached', (sql) => searchCases(sql, tenant, { ...list, slaRisk: 'breached' })],
      ['case list: search by order id', (sql) => searchCases(sql, tenant, { ...list, term: 'ORD-77777' })],
      ['exceptions: failed cases', (sql) => listFailedCases(sql, tenant, 200)],
      ['metrics: business figures (all tenants)', (sql) => readBusinessFigures(sql as pg.Pool, now)],
    ];

    console.log(
      `load average ${loadavg()
        .map((l) => l.toFixed(1))
        .join(' ')} on ${cpus().length} cores`,
    );
    let baseline = 0;
    let failures = 0;
    console.log(
      `\n${'query'.padEnd(44)} ${'median'.padStart(9)} ${'max'.padStart(9)}  ratio  budget ${BUDGET_MS} ms`,
    );
    for (const [label, work] of cases) {
      const statements: Array<{ text: string; params: unknown[] }> = [];
      // Dashboard queries run as the API runs them (inAnalyticsSession: read-only, more sort memory).
      const dashboard = label.startsWith('dashboard:');
      const { median: ms, max } = await measure(() =>
        dashboard
          ? inAnalyticsSession(pool, (tx) => work(recording(tx, statements)))
          : work(recording(pool, statements)),
      );
      if (!baseline) baseline = ms;
      const over = max > BUDGET_MS;
      if (over) failures++;
      console.log(
        `${label.padEnd(44)} ${ms.toFixed(1).padStart(7)} ms ${max.toFixed(1).padStart(7)} ms ${(
          ms / baseline
        )
          .toFixed(2)
          .padStart(6)}  ${over ? 'OVER' : 'ok'}`,
      );
      if (values.plans) {
        const seen = new Set<string>();
        for (const statement of statements) {
          if (seen.has(statement.text)) continue;
          seen.add(statement.text);
          const explain = `EXPLAIN (ANALYZE, COSTS OFF, TIMING OFF) ${statement.text}`;
          const plan = dashboard
            ? await inAnalyticsSession(pool, (tx) =>
                tx.query<{ 'QUERY PLAN': string }>(explain, statement.params),
              )
            : await pool.query<{ 'QUERY PLAN': string }>(explain, statement.params);
          console.log(plan.rows.map((r) => `    ${r['QUERY PLAN']}`).join('\n'));
        }
      }
    }
    console.log(
      failures === 0
        ? `\nevery query answered within ${BUDGET_MS} ms (max of ${runs} runs) on ${n} cases`
        : `\n${failures} queries took longer than ${BUDGET_MS} ms`,
    );
    if (failures > 0) process.exitCode = 1;
  } finally {
    await pool.end();
    await admin.query(`DROP SCHEMA ${schema} CASCADE`);
    await admin.end();
  }
}

await main();
