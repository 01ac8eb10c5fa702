/**
 * bench/store: case transitions per second on the embedded PGlite and on PostgreSQL, each with its ratio to a
 * bare single-row INSERT+COMMIT loop measured in the same run on the same database.
 *
 *   npx tsx bench/store.ts [--n 2000] [--postgres postgres://root@127.0.0.1:5432/test]
 *
 * A transition is the real thing (src/store/cases.ts): lock the case row, update it, append a case event,
 * two outbox rows and a hash-chained audit row, in one transaction.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import pg from 'pg';
import type { AuthorizationRequest } from '../src/canonical/index.ts';
import {
  createCase,
  type Database,
  migrate,
  openDatabase,
  transitionCase,
  withTransaction,
} from '../src/store/index.ts';
import requestJson from '../test/fixtures/canonical/authorization-request.valid.json' with { type: 'json' };

const { values } = parseArgs({
  options: {
    n: { type: 'string', default: '2000' },
    postgres: { type: 'string', default: process.env.DATABASE_URL ?? 'postgres://root@127.0.0.1:5432/test' },
  },
});
const n = Number(values.n);
const actor = { id: 'system:bench', onBehalfOf: 'tenant:bench' };

async function timed(label: string, ops: number, work: () => Promise<void>): Promise<number> {
  const start = process.hrtime.bigint();
  await work();
  const seconds = Number(process.hrtime.bigint() - start) / 1e9;
  const rate = ops / seconds;
  console.log(`  ${label.padEnd(44)} ${rate.toFixed(0).padStart(7)} /s  (${ops} in ${seconds.toFixed(2)} s)`);
  return rate;
}

async function benchOne(db: Database): Promise<{ bare: number; sequential: number; concurrent: number }> {
  await migrate(db.pool);
  await db.pool.query('CREATE TABLE IF NOT EXISTS bench_bare (id bigserial PRIMARY KEY, v jsonb NOT NULL)');
  const request = requestJson as AuthorizationRequest;
  const run = Date.now();

  const bare = await timed('bare INSERT+COMMIT (1 connection)', n, async () => {
    const client = await db.pool.connect();
    try {
      for (let i = 0; i < n; i++) {
        await client.query('BEGIN');
        await client.query('INSERT INTO bench_bare (v) VALUES ($1)', [{ i, state: 'decided' }]);
        await client.query('COMMIT');
      }
    } finally {
      client.release();
    }
  });

  const caseIds: string[] = [];
  for (let i = 0; i < 64; i++) {
    const created = await withTransaction(db.pool, (tx) =>
      createCase(tx, { request: { ...request, idempotencyKey: `bench:${run}:${i}` }, actor, at: new Date() }),
    );
    caseIds.push(created.case.id);
    for (const event of ['validated', 'eligibility_checked', 'submitted', 'decided'] as const) {
      await withTransaction(db.pool, (tx) =>
        transitionCase(tx, { tenant: request.tenant, caseId: created.case.id, event, actor, at: new Date() }),
      );
    }
  }
  const transition = (caseId: string, i: number) =>
    withTransaction(db.pool, (tx) =>
      transitionCase(tx, {
        tenant: request.tenant,
        caseId,
        event: 'decision_updated',
        actor,
        at: new Date(),
        data: { i },
        outbox: [
          { topic: 'pa.status.v1', key: caseId, value: { caseId, i } },
          { topic: 'pa.claimresponse.v1', key: caseId, value: { resourceType: 'ClaimResponse', i } },
        ],
      }),
    );

  const sequential = await timed('case transition (1 at a time)', n, async () => {
    for (let i = 0; i < n; i++) await transition(caseIds[i % caseIds.length]!, i);
  });
  const concurrent = await timed('case transition (8 concurrent, distinct cases)', n, async () => {
    let next = 0;
    await Promise.all(
      Array.from({ length: 8 }, async (_, worker) => {
        while (next < n) {
          const i = next++;
          await transition(caseIds[(i * 8 + worker) % caseIds.length]!, i);
        }
      }),
    );
  });
  return { bare, sequential, concurrent };
}

async function main(): Promise<void> {
  console.log(`bench/store — ${n} operations per measurement, node ${process.version}`);
  const results: Array<[string, Awaited<ReturnType<typeof benchOne>>]> = [];

  const dir = mkdtempSync(path.join(tmpdir(), 'pagw-bench-'));
  const embedded = await openDatabase({ dataDir: dir });
  console.log(`\n${embedded.description}`);
  try {
    results.push(['PGlite (embedded, on disk)', await benchOne(embedded)]);
  } finally {
    await embedded.close();
    rmSync(dir, { recursive: true, force: true });
  }

  const schema = `bench_${Date.now()}`;
  const admin = new pg.Client({ connectionString: values.postgres });
  try {
    await admin.connect();
    await admin.query(`CREATE SCHEMA ${schema}`);
    const server = await openDatabase({
      databaseUrl: values.postgres,
      poolOptions: { options: `-c search_path=${schema}` },
    });
    console.log(`\n${server.description} (schema ${schema})`);
    try {
      results.push(['PostgreSQL', await benchOne(server)]);
    } finally {
      await server.close();
    }
  } catch (error) {
    console.log(
      `\nPostgreSQL unavailable at ${values.postgres.replace(/:[^:@/]*@/, ':***@')}: ${(error as Error).message}`,
    );
  } finally {
    await admin.query(`DROP SCHEMA IF EXISTS ${schema} CASCADE`).catch(() => {});
    await admin.end().catch(() => {});
  }

  console.log('\nsummary (ratio = transitions/s ÷ bare INSERT+COMMIT/s, same database, same run)');
  for (const [name, r] of results) {
    console.log(
      `  ${name.padEnd(28)} bare ${r.bare.toFixed(0)}/s | transitions ${r.sequential.toFixed(0)}/s (ratio ${(r.sequential / r.bare).toFixed(2)}) | 8 concurrent ${r.concurrent.toFixed(0)}/s (ratio ${(r.concurrent / r.bare).toFixed(2)})`,
    );
  }
}

await main();
