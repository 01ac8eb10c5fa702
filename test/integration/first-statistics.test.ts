/**
 * A new database's busy tables get their first statistics as soon as they have rows (src/workers/first-statistics.ts,
 * issue #17), and again each time it has grown by half: the prepared statements' cached plans are then made anew
 * for the table as it is.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Database } from '../../src/store/index.ts';
import { takeFirstStatistics } from '../../src/workers/first-statistics.ts';
import { openTestDatabase, testDatabaseKind } from '../helpers/database.ts';
import { insertSampleCase, waitFor } from '../helpers/store.ts';

describe(`first statistics (${testDatabaseKind()})`, () => {
  let db: Database;
  beforeAll(async () => {
    db = await openTestDatabase();
  });
  afterAll(async () => {
    await db.close();
  });

  const lastAnalyzed = async (table: string) =>
    (
      await db.pool.query<{ at: Date | null }>(
        `SELECT coalesce(last_analyze, last_autoanalyze) AS at FROM pg_stat_user_tables
          WHERE schemaname = current_schema() AND relname = $1`,
        [table],
      )
    ).rows[0]?.at ?? null;

  it('analyzes a busy table once it has rows, then each time it has grown by half', async () => {
    expect(await takeFirstStatistics(db.pool)).toEqual([]);
    for (let i = 0; i < 60; i++) await insertSampleCase(db.pool);
    // The server publishes table statistics a moment after the transactions that wrote them.
    const taken = await waitFor(
      async () => {
        const tables = await takeFirstStatistics(db.pool);
        return tables.includes('cases') ? tables : undefined;
      },
      { what: 'the first ANALYZE of cases' },
    );
    expect(taken).toContain('cases');
    expect(await lastAnalyzed('cases')).toBeInstanceOf(Date);
    expect(await takeFirstStatistics(db.pool)).not.toContain('cases');

    // Grown by more than half since (60 → 160): statistics again (the cached plans are made anew from them).
    for (let i = 0; i < 100; i++) await insertSampleCase(db.pool);
    const again = await waitFor(
      async () => {
        const tables = await takeFirstStatistics(db.pool);
        return tables.includes('cases') ? tables : undefined;
      },
      { what: 'the second ANALYZE of cases' },
    );
    expect(again).toContain('cases');
    expect(await takeFirstStatistics(db.pool)).not.toContain('cases');
  });
});
