/**
 * A case that stops (decided, cancelled …) stops its decision clock and closes the tasks the stop ends, reading them
 * in the statement that cancels its SLA timers (issue #17: src/exceptions/sla-watch.ts `stopCase`). What it closes,
 * with which outcome and reason, and what it leaves open.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SLA_BREACH, SLA_WARN, stopCase, stopCaseColumnSql } from '../../src/exceptions/sla-watch.ts';
import type { ActionContext } from '../../src/exceptions/task-actions.ts';
import { type Database, scheduleTimer, withTransaction } from '../../src/store/index.ts';
import { openTask } from '../../src/store/tasks.ts';
import { planTask, type TaskKind } from '../../src/workflow/tasks/tasks.ts';
import { openTestDatabase, testDatabaseKind } from '../helpers/database.ts';
import { countRows, insertSampleCase, testActor } from '../helpers/store.ts';

const at = new Date('2026-03-02T10:00:00.000Z');

describe(`stopping a case (${testDatabaseKind()})`, () => {
  let db: Database;
  beforeAll(async () => {
    db = await openTestDatabase();
  });
  afterAll(async () => {
    await db.close();
  });

  /** A case with an open task of each kind given, its SLA timers, and an unrelated timer. */
  async function caseWithTasks(kinds: readonly TaskKind[]) {
    const record = await insertSampleCase(db.pool);
    await withTransaction(db.pool, async (tx) => {
      for (const kind of kinds)
        await openTask(tx, {
          tenant: record.tenant,
          caseId: record.id,
          spec: planTask(kind, { urgency: 'standard', at }, { reasonCodes: ['TEST'] }),
          actor: testActor,
          at,
        });
      for (const kind of [SLA_WARN, SLA_BREACH, 'workflow.advance'])
        await scheduleTimer(
          tx,
          { tenant: record.tenant, caseId: record.id, kind, dueAt: new Date(at.getTime() + 3600_000) },
          at,
        );
    });
    return record;
  }

  async function tasksOf(caseId: string) {
    const { rows } = await db.pool.query<{ kind: string; state: string; reason: string | null }>(
      `SELECT kind, state, resolution ->> 'reason' AS reason FROM case_tasks WHERE case_id = $1 ORDER BY kind`,
      [caseId],
    );
    return rows;
  }

  async function stop(record: Awaited<ReturnType<typeof caseWithTasks>>, event: 'decided' | 'cancelled') {
    await withTransaction(db.pool, async (tx) => {
      const ctx: ActionContext = { tenant: record.tenant, actor: testActor, at, audit: [] };
      await stopCase(
        tx,
        {},
        ctx,
        record,
        `CASE_${event.toUpperCase()}`,
        event === 'cancelled'
          ? { outcome: 'cancelled' }
          : { kinds: ['inquiry_limit', 'channel_failure', 'more_information'], outcome: 'resolved' },
      );
    });
  }

  it('decided: SLA and payer-side tasks resolved, other tasks left open, the SLA timers cancelled', async () => {
    const record = await caseWithTasks(['sla_at_risk', 'inquiry_limit', 'appeal_consideration']);
    await stop(record, 'decided');
    expect(await tasksOf(record.id)).toEqual([
      { kind: 'appeal_consideration', state: 'open', reason: null },
      { kind: 'inquiry_limit', state: 'resolved', reason: 'CASE_DECIDED' },
      { kind: 'sla_at_risk', state: 'resolved', reason: 'CASE_DECIDED' },
    ]);
    const timers = await db.pool.query<{ kind: string }>(
      'SELECT kind FROM timers WHERE case_id = $1 AND fired_at IS NULL AND cancelled_at IS NULL',
      [record.id],
    );
    expect(timers.rows.map((t) => t.kind)).toEqual(['workflow.advance']);
  });

  it('cancelled: SLA tasks resolved, every other open task cancelled', async () => {
    const record = await caseWithTasks(['sla_breached', 'appeal_consideration', 'missing_data']);
    await stop(record, 'cancelled');
    expect(await tasksOf(record.id)).toEqual([
      { kind: 'appeal_consideration', state: 'cancelled', reason: 'CASE_CANCELLED' },
      { kind: 'missing_data', state: 'cancelled', reason: 'CASE_CANCELLED' },
      { kind: 'sla_breached', state: 'resolved', reason: 'CASE_CANCELLED' },
    ]);
    expect(
      await countRows(db.pool, 'timers', 'case_id = $1 AND kind = ANY($2)', [
        record.id,
        [SLA_WARN, SLA_BREACH],
      ]),
    ).toBe(0);
  });

  it('a case with no tasks: one statement, nothing changed but its SLA timers', async () => {
    const record = await caseWithTasks([]);
    const statements: string[] = [];
    await withTransaction(db.pool, async (tx) => {
      const counted = new Proxy(tx, {
        get(target, property) {
          const value = Reflect.get(target, property, target);
          if (property === 'query')
            return (text: string, ...rest: unknown[]) => {
              statements.push(text);
              return (value as (...a: unknown[]) => unknown).call(target, text, ...rest);
            };
          return typeof value === 'function' ? value.bind(target) : value;
        },
      });
      const ctx: ActionContext = { tenant: record.tenant, actor: testActor, at, audit: [] };
      await stopCase(counted, {}, ctx, record, 'CASE_DECIDED', { outcome: 'resolved' });
    });
    expect(statements).toHaveLength(1);
    expect(await countRows(db.pool, 'timers', 'case_id = $1', [record.id])).toBe(1);
  });

  it('the stopping transition’s column says whether there is anything to stop; when not, stopCase runs no statement', async () => {
    const pending = async (record: { tenant: string; id: string }) =>
      (
        await db.pool.query<{ stop_work_pending: boolean }>(`SELECT ${stopCaseColumnSql}`, [
          record.tenant,
          record.id,
        ])
      ).rows[0]!.stop_work_pending;
    const bare = await insertSampleCase(db.pool);
    expect(await pending(bare)).toBe(false);
    expect(await pending(await caseWithTasks([]))).toBe(true); // its SLA timers
    const withTask = await insertSampleCase(db.pool);
    await withTransaction(db.pool, (tx) =>
      openTask(tx, {
        tenant: withTask.tenant,
        caseId: withTask.id,
        spec: planTask('inquiry_limit', { urgency: 'standard', at }, { reasonCodes: ['TEST'] }),
        actor: testActor,
        at,
      }),
    );
    expect(await pending(withTask)).toBe(true);
    // Another tenant's view of the same case id finds nothing of it.
    expect(await pending({ tenant: 'another-clinic', id: withTask.id })).toBe(false);

    let statements = 0;
    await withTransaction(db.pool, async (tx) => {
      const counted = new Proxy(tx, {
        get(target, property) {
          const value = Reflect.get(target, property, target);
          if (property === 'query')
            return (...args: unknown[]) => {
              statements++;
              return (value as (...a: unknown[]) => unknown).apply(target, args);
            };
          return typeof value === 'function' ? value.bind(target) : value;
        },
      });
      const ctx: ActionContext = { tenant: bare.tenant, actor: testActor, at, audit: [] };
      await stopCase(counted, {}, ctx, bare, 'CASE_DECIDED', { outcome: 'resolved' }, false);
    });
    expect(statements).toBe(0);
  });
});
