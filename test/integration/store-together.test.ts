/**
 * runTogether sends several writes as one statement (issue #17: a step's timer done, its next step and its audit
 * rows in one round trip). One statement means one outcome: all the writes, or none.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { auditInsertStatements } from '../../src/audit/audit-log.ts';
import {
  completeTimerStatement,
  type Database,
  runTogether,
  scheduleTimer,
  scheduleTimerStatement,
  together,
  withTransaction,
} from '../../src/store/index.ts';
import { openTestDatabase, testDatabaseKind } from '../helpers/database.ts';
import { countRows, testActor } from '../helpers/store.ts';

describe('together: statements as one', () => {
  it('renumbers each statement’s parameters after the ones before it', () => {
    expect(
      together([
        { text: 'DELETE FROM t WHERE id = $1', values: [7] },
        { text: 'INSERT INTO u (a, b) VALUES ($1, $2), ($2, $1)', values: ['x', 'y'] },
        { text: 'UPDATE v SET a = $2 WHERE id = $1 AND b = $10', values: [1, 2, 3, 4, 5, 6, 7, 8, 9, 10] },
      ]),
    ).toEqual({
      text:
        'WITH w1 AS (DELETE FROM t WHERE id = $1), w2 AS (INSERT INTO u (a, b) VALUES ($2, $3), ($3, $2)), ' +
        'w3 AS (UPDATE v SET a = $5 WHERE id = $4 AND b = $13) SELECT 1',
      values: [7, 'x', 'y', 1, 2, 3, 4, 5, 6, 7, 8, 9, 10],
    });
  });

  it('leaves one statement as it is and makes nothing of none', () => {
    const one = { text: 'DELETE FROM t WHERE id = $1', values: [1] };
    expect(together([one])).toBe(one);
    expect(together([])).toBeUndefined();
  });
});

describe(`runTogether on ${testDatabaseKind()}`, () => {
  let db: Database;
  beforeAll(async () => {
    db = await openTestDatabase();
  });
  afterAll(() => db?.close());

  const at = new Date('2026-03-01T10:00:00.000Z');
  const timer = (kind: string) => ({ tenant: 'clinic-a', kind, dueAt: new Date('2030-01-01T00:00:00Z') });

  it('completes a timer, schedules the next and appends audit rows in one statement', async () => {
    const done = await scheduleTimer(db.pool, timer('test.together-done'), at);
    const auditBefore = await countRows(db.pool, 'audit_log', "action = 'test.together'");
    await withTransaction(db.pool, (tx) =>
      runTogether(tx, [
        completeTimerStatement(done),
        scheduleTimerStatement(tx, timer('test.together-next'), at),
        ...auditInsertStatements([
          { tenant: 'clinic-a', actor: testActor, action: 'test.together', details: { n: 1 }, at },
          { tenant: 'clinic-a', actor: testActor, action: 'test.together', details: { n: 2 }, at },
        ]),
      ]),
    );
    expect(await countRows(db.pool, 'timers', 'id = $1', [done])).toBe(0);
    expect(await countRows(db.pool, 'timers', "kind = 'test.together-next'")).toBe(1);
    const audit = await db.pool.query(
      "SELECT details FROM audit_log WHERE action = 'test.together' ORDER BY seq DESC LIMIT 2",
    );
    expect(audit.rows.map((r) => r.details).reverse()).toEqual([{ n: 1 }, { n: 2 }]);
    expect(await countRows(db.pool, 'audit_log', "action = 'test.together'")).toBe(auditBefore + 2);
  });

  it('is all or nothing: one failing write leaves the others undone', async () => {
    const kept = await scheduleTimer(db.pool, timer('test.together-kept'), at);
    await expect(
      runTogether(db.pool, [
        completeTimerStatement(kept),
        scheduleTimerStatement(db.pool, timer('test.together-never'), at),
        // The audit log refuses a row without a tenant (NOT NULL): the whole statement fails.
        {
          text: 'INSERT INTO audit_log (at, tenant_id, actor, action) VALUES ($1, NULL, $2, $3)',
          values: [at, 'x', 'y'],
        },
      ]),
    ).rejects.toThrow();
    expect(await countRows(db.pool, 'timers', 'id = $1', [kept])).toBe(1);
    expect(await countRows(db.pool, 'timers', "kind = 'test.together-never'")).toBe(0);
  });
});
