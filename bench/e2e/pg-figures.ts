/**
 * bench/e2e's measurements on the PostgreSQL side, taken before and after the measured window: the server's commits
 * and its backends' CPU time (pg_stat_database, /proc), the queue tables' churn (pg_stat_user_tables and _indexes),
 * and the EXPLAIN ANALYZE of the step worker's claim while the backlog is there.
 */
import { readFileSync } from 'node:fs';
import type pg from 'pg';
import { claimDueTimersParams, claimDueTimersSql } from '../../src/store/index.ts';

function procCpuMs(pid: number): number {
  try {
    const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]!.split(' ');
    return ((Number(fields[11]) + Number(fields[12])) * 1000) / 100; // utime + stime, in USER_HZ (100)
  } catch {
    return 0;
  }
}

/** The bench database's commits so far, and its backends' CPU time by pid (for cpuDelta). */
export async function pgServerFigures(admin: pg.Client, database: string) {
  const { rows } = await admin.query<{ pid: number }>('SELECT pid FROM pg_stat_activity WHERE datname = $1', [
    database,
  ]);
  const stat = await admin.query<{ xact_commit: string }>(
    'SELECT xact_commit FROM pg_stat_database WHERE datname = $1',
    [database],
  );
  return {
    commits: Number(stat.rows[0]?.xact_commit ?? 0),
    cpu: new Map(rows.map((r) => [r.pid, procCpuMs(r.pid)])),
  };
}

/** The queue tables' churn (PostgreSQL): dead tuples left, tuples the claim indexes read, HOT updates. */
const queueTables = ['timers', 'outbox', 'cases', 'audit_head'];
interface TableFigures {
  rel: string;
  deadTuples: number;
  liveTuples: number;
  updates: number;
  hotUpdates: number;
  deletes: number;
  indexTuplesRead: number;
  /** Tuples read per index of the table, to see which statement's plan reads them. */
  indexTuplesReadByIndex: Record<string, number>;
  autovacuums: number;
}

export async function tableFigures(pool: Pick<pg.Pool, 'query'>): Promise<Map<string, TableFigures>> {
  // Backends flush their statistics at most once a second: wait that out so the figures are complete.
  await new Promise((resolve) => setTimeout(resolve, 1500));
  const { rows } = await pool.query<{
    rel: string;
    dead: string;
    live: string;
    upd: string;
    hot: string;
    del: string;
    idx_read: string;
    by_index: Record<string, string> | null;
    autovacuums: string;
  }>(
    `SELECT t.relname AS rel, t.n_dead_tup AS dead, t.n_live_tup AS live, t.n_tup_upd AS upd,
            t.n_tup_hot_upd AS hot, t.n_tup_del AS del, t.autovacuum_count + t.vacuum_count AS autovacuums,
            COALESCE((SELECT sum(i.idx_tup_read) FROM pg_stat_user_indexes i WHERE i.relid = t.relid), 0) AS idx_read,
            (SELECT json_object_agg(i.indexrelname, i.idx_tup_read) FROM pg_stat_user_indexes i
              WHERE i.relid = t.relid) AS by_index
       FROM pg_stat_user_tables t WHERE t.relname = ANY($1)`,
    [queueTables],
  );
  return new Map(
    rows.map((r) => [
      r.rel,
      {
        rel: r.rel,
        deadTuples: Number(r.dead),
        liveTuples: Number(r.live),
        updates: Number(r.upd),
        hotUpdates: Number(r.hot),
        deletes: Number(r.del),
        indexTuplesRead: Number(r.idx_read),
        indexTuplesReadByIndex: Object.fromEntries(
          Object.entries(r.by_index ?? {}).map(([k, v]) => [k, Number(v)]),
        ),
        autovacuums: Number(r.autovacuums),
      },
    ]),
  );
}

export function tableDelta(
  before: Map<string, TableFigures>,
  after: Map<string, TableFigures>,
  orders: number,
) {
  return [...after.values()].map((a) => {
    const b = before.get(a.rel);
    const per = (x: number) => Number((x / Math.max(1, orders)).toFixed(2));
    return {
      rel: a.rel,
      deadTuplesAtEnd: a.deadTuples,
      liveTuplesAtEnd: a.liveTuples,
      updatesPerOrder: per(a.updates - (b?.updates ?? 0)),
      hotUpdateShare: Number(
        ((a.hotUpdates - (b?.hotUpdates ?? 0)) / Math.max(1, a.updates - (b?.updates ?? 0))).toFixed(2),
      ),
      deletesPerOrder: per(a.deletes - (b?.deletes ?? 0)),
      indexTuplesReadPerOrder: per(a.indexTuplesRead - (b?.indexTuplesRead ?? 0)),
      indexTuplesReadPerOrderByIndex: Object.fromEntries(
        Object.entries(a.indexTuplesReadByIndex)
          .map(([index, read]) => [index, per(read - (b?.indexTuplesReadByIndex[index] ?? 0))] as const)
          .filter(([, read]) => read > 0)
          .sort((x, y) => y[1] - x[1]),
      ),
      vacuums: a.autovacuums - (b?.autovacuums ?? 0),
    };
  });
}

/**
 * The step worker's claim as it runs at this moment (PostgreSQL), EXPLAIN ANALYZE inside a rolled-back transaction:
 * shows whether the claim index serves ORDER BY due_at, id (no Sort node) and how many rows and buffers it reads.
 */
export async function explainClaim(pool: pg.Pool): Promise<string[]> {
  const client = await pool.connect();
  try {
    await client.query('BEGIN');
    const lines: string[] = [];
    for (const lane of ['payer', 'local'] as const) {
      const { rows } = await client.query<{ 'QUERY PLAN': string }>(
        `EXPLAIN (ANALYZE, BUFFERS, COSTS OFF, TIMING OFF) ${claimDueTimersSql}`,
        claimDueTimersParams({
          now: new Date(),
          workerId: 'bench-explain',
          leaseMs: 15_000,
          limit: 16,
          kinds: ['workflow.advance'],
          lane,
        }),
      );
      lines.push(`lane ${lane}:`, ...rows.map((r) => `  ${r['QUERY PLAN']}`));
    }
    return lines;
  } finally {
    await client.query('ROLLBACK').catch(() => {});
    client.release();
  }
}

/** The CPU time the backends used between two pgServerFigures; a backend absent before counts from zero. */
export function cpuDelta(before: Map<number, number>, after: Map<number, number>): number {
  let total = 0;
  for (const [pid, ms] of after) total += ms - (before.get(pid) ?? 0);
  return total;
}
