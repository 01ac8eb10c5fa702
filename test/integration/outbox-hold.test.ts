/**
 * holdOutboxRows (issue #17): a step's outbox rows are held back while it runs and written, in the order they were
 * written, by one statement sent with its other last writes.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  type Database,
  holdOutboxRows,
  insertOutboxMessages,
  runTogether,
  withTransaction,
} from '../../src/store/index.ts';
import { openTestDatabase, testDatabaseKind } from '../helpers/database.ts';
import { countRows, insertSampleCase } from '../helpers/store.ts';

describe(`outbox rows held back on ${testDatabaseKind()}`, () => {
  let db: Database;
  beforeAll(async () => {
    db = await openTestDatabase();
  });
  afterAll(() => db?.close());

  const at = new Date('2026-03-01T10:00:00.000Z');
  const topicsOf = async (caseId: string) =>
    (await db.pool.query('SELECT topic FROM outbox WHERE case_id = $1 ORDER BY id', [caseId])).rows.map(
      (r) => r.topic,
    );

  it('writes nothing until the held statement runs, then every row in the order written', async () => {
    const record = await insertSampleCase(db.pool);
    const context = { tenant: record.tenant, caseId: record.id, at };
    await withTransaction(db.pool, async (tx) => {
      const { writeHeld } = await holdOutboxRows(tx, async () => {
        await insertOutboxMessages(tx, context, [
          { topic: 'first', key: record.id, value: { n: 1 } },
          { topic: 'second', key: record.id, value: { n: 2 } },
        ]);
        await insertOutboxMessages(tx, context, [{ topic: 'third', key: record.id, value: { n: 3 } }]);
        expect(await countRows(tx as never, 'outbox', 'case_id = $1', [record.id])).toBe(0);
      });
      expect(writeHeld).toHaveLength(1);
      await runTogether(tx, writeHeld);
    });
    expect(await topicsOf(record.id)).toEqual(['first', 'second', 'third']);
  });

  it('a step that throws leaves the connection writing its outbox rows at once again', async () => {
    const record = await insertSampleCase(db.pool);
    const context = { tenant: record.tenant, caseId: record.id, at };
    await expect(
      withTransaction(db.pool, (tx) =>
        holdOutboxRows(tx, async () => {
          await insertOutboxMessages(tx, context, [{ topic: 'lost', key: record.id, value: {} }]);
          throw new Error('the step failed');
        }),
      ),
    ).rejects.toThrow('the step failed');
    // Every connection of the pool in turn: none still holds rows back.
    for (let i = 0; i < 6; i++) {
      await withTransaction(db.pool, async (tx) => {
        const stored = await insertOutboxMessages(tx, context, [
          { topic: `after-${i}`, key: record.id, value: {} },
        ]);
        expect(stored).toHaveLength(1);
      });
    }
    expect(await topicsOf(record.id)).toEqual([0, 1, 2, 3, 4, 5].map((i) => `after-${i}`));
  });

  it('refuses to hold twice in one transaction', async () => {
    await withTransaction(db.pool, async (tx) => {
      await expect(holdOutboxRows(tx, () => holdOutboxRows(tx, async () => {}))).rejects.toThrow(/already/);
    });
  });
});
