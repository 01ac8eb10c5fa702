import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  cancelTimers,
  claimDueTimers,
  claimDueTimersParams,
  claimDueTimersSql,
  countDueStepsSql,
  type Database,
  fireDueTimers,
  releaseAllLeases,
  renewLeases,
  retryTimerAt,
  scheduleTimer,
  withTransaction,
} from '../../src/store/index.ts';
import { itOnPostgres, openTestDatabase, testDatabaseKind } from '../helpers/database.ts';
import { countRows, insertSampleCase } from '../helpers/store.ts';

const t0 = new Date('2026-03-01T10:00:00.000Z');
const later = new Date('2026-03-01T11:00:00.000Z');

describe(`timers on ${testDatabaseKind()}`, () => {
  let db: Database;
  let secondWorkerPool: pg.Pool;
  beforeAll(async () => {
    db = await openTestDatabase();
    secondWorkerPool = new pg.Pool({ ...db.connection, max: 4 });
    await db.pool.query('CREATE TABLE timer_effects (timer_id bigint, worker text)');
  });
  afterAll(async () => {
    await secondWorkerPool?.end();
    await db?.close();
  });

  it('a timer raced by two workers fires exactly once', async () => {
    const ids: number[] = [];
    for (let i = 0; i < 30; i++)
      ids.push(await scheduleTimer(db.pool, { tenant: 'clinic-a', kind: 'sla', dueAt: t0 }, t0));
    const worker = (pool: pg.Pool, name: string) =>
      fireDueTimers(pool, {
        now: later,
        workerId: name,
        limit: 100,
        handler: async (tx, timer) => {
          await tx.query('INSERT INTO timer_effects VALUES ($1, $2)', [timer.id, name]);
        },
      });
    const [a, b] = await Promise.all([worker(db.pool, 'worker-a'), worker(secondWorkerPool, 'worker-b')]);
    expect(a + b).toBe(30);
    const effects = await db.pool.query<{ timer_id: number; n: number }>(
      'SELECT timer_id, count(*)::int AS n FROM timer_effects GROUP BY timer_id ORDER BY timer_id',
    );
    expect(effects.rows).toEqual(ids.map((id) => ({ timer_id: id, n: 1 })));
    expect(await countRows(db.pool, 'timers', 'fired_at IS NULL')).toBe(0);
  });

  it('does not fire timers before they are due, nor cancelled ones', async () => {
    const record = await insertSampleCase(db.pool);
    await scheduleTimer(
      db.pool,
      { tenant: 'clinic-a', caseId: record.id, kind: 'future', dueAt: new Date('2026-03-02T00:00:00Z') },
      t0,
    );
    await scheduleTimer(db.pool, { tenant: 'clinic-a', caseId: record.id, kind: 'sla', dueAt: t0 }, t0);
    await withTransaction(db.pool, (tx) => cancelTimers(tx, record.id, ['sla'], t0));
    const fired = await fireDueTimers(db.pool, {
      now: later,
      workerId: 'w',
      limit: 10,
      handler: async () => {},
    });
    expect(fired).toBe(0);
  });

  it('a failing handler rolls back its writes and postpones the timer with backoff', async () => {
    const id = await scheduleTimer(db.pool, { tenant: 'clinic-a', kind: 'flaky', dueAt: t0 }, t0);
    const errors: number[] = [];
    const fired = await fireDueTimers(db.pool, {
      now: later,
      workerId: 'w',
      limit: 10,
      handler: async (tx, timer) => {
        await tx.query('INSERT INTO timer_effects VALUES ($1, $2)', [timer.id, 'flaky']);
        throw new Error('payer down');
      },
      onError: (timer) => errors.push(timer.id),
    });
    expect(fired).toBe(0);
    expect(errors).toEqual([id]);
    expect(await countRows(db.pool, 'timer_effects', 'timer_id = $1', [id])).toBe(0);
    const row = await db.pool.query('SELECT attempts, due_at, fired_at FROM timers WHERE id = $1', [id]);
    expect(row.rows[0].attempts).toBe(1);
    expect(row.rows[0].fired_at).toBeNull();
    expect(new Date(row.rows[0].due_at).getTime()).toBeGreaterThan(later.getTime());
  });

  it('step leases: claimed per lane oldest first, renewed only by their holder, released by a retry or a restart', async () => {
    const kind = `lease-${Date.now()}`;
    const at = (minute: number) => new Date(Date.UTC(2026, 2, 1, 9, minute));
    const payerOld = await scheduleTimer(
      db.pool,
      { tenant: 'clinic-a', kind, dueAt: at(1), lane: 'payer' },
      t0,
    );
    const local = await scheduleTimer(db.pool, { tenant: 'clinic-a', kind, dueAt: at(0), lane: 'local' }, t0);
    const payerNew = await scheduleTimer(
      db.pool,
      { tenant: 'clinic-a', kind, dueAt: at(2), lane: 'payer' },
      t0,
    );
    const claim = (lane: 'payer' | 'local', workerId: string, limit = 10) =>
      claimDueTimers(db.pool, { now: later, workerId, leaseMs: 15_000, limit, kinds: [kind], lane });

    // Oldest first within the lane; the local lane's timer is not the payer lane's.
    expect((await claim('payer', 'w1', 1)).map((t) => t.id)).toEqual([payerOld]);
    expect((await claim('payer', 'w2')).map((t) => t.id)).toEqual([payerNew]);
    expect((await claim('local', 'w1')).map((t) => t.id)).toEqual([local]);
    expect(await claim('payer', 'w3')).toEqual([]); // all leased

    // Only the holder renews; a renewal pushes the due time one lease past `now`.
    const renewAt = new Date(later.getTime() + 10_000);
    expect(
      await renewLeases(db.pool, {
        ids: [payerOld, payerNew],
        now: renewAt,
        leaseMs: 15_000,
        workerId: 'w1',
      }),
    ).toEqual([payerOld]);
    const due = async (id: number) =>
      (await db.pool.query('SELECT due_at, fired_by FROM timers WHERE id = $1', [id])).rows[0];
    expect((await due(payerOld)).due_at).toEqual(new Date(renewAt.getTime() + 15_000));

    // A retry gives the lease up: the holder's next renewal no longer touches it.
    await retryTimerAt(db.pool, payerOld, new Date(later.getTime() + 2000), 'Error');
    expect(
      await renewLeases(db.pool, { ids: [payerOld], now: renewAt, leaseMs: 15_000, workerId: 'w1' }),
    ).toEqual([]);
    expect(await due(payerOld)).toEqual({ due_at: new Date(later.getTime() + 2000), fired_by: null });

    // A process that knows it is alone makes the leased steps due at once; the retry keeps its time.
    expect(await releaseAllLeases(db.pool, later)).toBeGreaterThanOrEqual(2);
    expect((await due(payerNew)).due_at).toEqual(later);
    expect((await due(local)).due_at).toEqual(later);
    expect((await due(payerOld)).due_at).toEqual(new Date(later.getTime() + 2000));
  });

  it('only a lookup by case may read the by-case index: the claim and the backlog count cannot', async () => {
    // Without the claim index and sequential scans, a plan reads whatever index its predicate allows. The by-case
    // index once allowed the claim and the count, read whole as bitmaps that never mark deleted timers' entries dead
    // (migration 0021): under a steady load each order read thousands of them.
    const plans = await withTransaction(db.pool, async (tx) => {
      await tx.query('DROP INDEX timers_claim');
      await tx.query('SET LOCAL enable_seqscan = off');
      const plan = async (text: string, values: unknown[]) =>
        (await tx.query<{ 'QUERY PLAN': string }>(`EXPLAIN ${text}`, values)).rows
          .map((r) => r['QUERY PLAN'])
          .join('\n');
      const now = new Date('2026-03-01T12:00:00Z');
      const result = {
        claim: await plan(
          claimDueTimersSql,
          claimDueTimersParams({ now, workerId: 'w', leaseMs: 1000, limit: 8, kinds: ['workflow.advance'] }),
        ),
        count: await plan(countDueStepsSql, [now]),
        byCase: await plan(
          'SELECT id FROM timers WHERE case_id = $1 AND fired_at IS NULL AND cancelled_at IS NULL',
          ['00000000-0000-4000-8000-000000000001'],
        ),
        byCases: await plan(
          'SELECT id FROM timers WHERE case_id = ANY($1::uuid[]) AND fired_at IS NULL AND cancelled_at IS NULL',
          [['00000000-0000-4000-8000-000000000001']],
        ),
      };
      throw Object.assign(new Error('roll back the dropped index'), { plans: result });
    }).catch((error: { plans?: Record<string, string> }) => {
      if (!error.plans) throw error;
      return error.plans;
    });
    expect(plans.claim).not.toContain('timers_open_by_case');
    expect(plans.count).not.toContain('timers_open_by_case');
    expect(plans.byCase).toContain('timers_open_by_case');
    expect(plans.byCases).toContain('timers_open_by_case');
    // This file's schema only: other test files run beside it, each with its own timers table.
    const claimIndex = await db.pool.query(
      `SELECT 1 FROM pg_indexes WHERE indexname = 'timers_claim' AND schemaname = current_schema()`,
    );
    expect(claimIndex.rowCount).toBe(1);
  });

  // Several connections at once: PostgreSQL only (the embedded database runs one transaction at a time).
  itOnPostgres(
    'a renewal skips a step being completed in an open transaction instead of waiting for it',
    async () => {
      const kind = `lease-busy-${Date.now()}`;
      const [busy, free] = [
        await scheduleTimer(db.pool, { tenant: 'clinic-a', kind, dueAt: t0, lane: 'local' }, t0),
        await scheduleTimer(db.pool, { tenant: 'clinic-a', kind, dueAt: t0, lane: 'local' }, t0),
      ];
      await claimDueTimers(db.pool, {
        now: later,
        workerId: 'w1',
        leaseMs: 15_000,
        limit: 10,
        kinds: [kind],
        lane: 'local',
      });
      // A transaction completing `busy` (one completing several steps, waiting for a lock the renewal held, deadlocked).
      const completing = await db.pool.connect();
      try {
        await completing.query('BEGIN');
        await completing.query('DELETE FROM timers WHERE id = $1', [busy]);
        const renewAt = new Date(later.getTime() + 5_000);
        const held = await renewLeases(db.pool, {
          ids: [busy, free],
          now: renewAt,
          leaseMs: 15_000,
          workerId: 'w1',
        });
        expect([...held].sort()).toEqual([busy, free].sort()); // still ours as far as anything committed says
        const { rows } = await db.pool.query('SELECT id, due_at FROM timers WHERE id = ANY($1) ORDER BY id', [
          [busy, free],
        ]);
        expect(rows.find((r) => r.id === free)!.due_at).toEqual(new Date(renewAt.getTime() + 15_000));
        expect(rows.find((r) => r.id === busy)!.due_at).toEqual(new Date(later.getTime() + 15_000)); // not renewed
        await completing.query('COMMIT');
      } finally {
        completing.release();
      }
      const afterCommit = await renewLeases(db.pool, {
        ids: [busy, free],
        now: later,
        leaseMs: 15_000,
        workerId: 'w1',
      });
      expect(afterCommit).toEqual([free]);
    },
  );
});
