/**
 * A transaction's BEGIN and COMMIT sent with its first and last statements (issue #17,
 * src/store/transaction-edges.ts): fewer round trips, counted as the server's ReadyForQuery messages on the
 * connections a transaction takes, and the same transaction semantics (one transaction, all or nothing).
 */
import type pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Database, queryThenCommit, withTransaction } from '../../src/store/index.ts';
import { openTestDatabase } from '../helpers/database.ts';
import { countRoundTrips } from '../helpers/round-trips.ts';

describe('transaction edges', () => {
  let db: Database;
  beforeAll(async () => {
    db = await openTestDatabase({ migrate: false });
    await db.pool.query('CREATE TABLE IF NOT EXISTS behind_begin_probe (n int NOT NULL)');
  });
  afterAll(async () => {
    await db.close();
  });

  /** Round trips (ReadyForQuery messages) on the connections `work` takes from the pool. */
  const roundTrips = (work: () => Promise<unknown>) => countRoundTrips(db.pool, work);

  const txid = 'SELECT txid_current()::text AS id WHERE $1::int = 1';

  it('runs two statements and COMMIT in three round trips, in one transaction', async () => {
    await withTransaction(db.pool, (tx) => tx.query(txid, [1])); // prepares the statement on some connection
    let ids: string[] = [];
    const trips = await roundTrips(() =>
      withTransaction(db.pool, async (tx) => {
        const first = await tx.query<{ id: string }>(txid, [1]);
        const second = await tx.query<{ id: string }>(txid, [1]);
        ids = [first.rows[0]!.id, second.rows[0]!.id];
      }),
    );
    expect(ids[0]).toBe(ids[1]);
    // A connection new to the statement prepares it first, with BEGIN on its own: four then.
    expect(trips).toBeLessThanOrEqual(4);
    const again = await roundTrips(() =>
      withTransaction(db.pool, async (tx) => {
        await tx.query(txid, [1]);
        await tx.query(txid, [1]);
      }),
    );
    expect(again).toBe(3);
  });

  it('a transaction that runs no statement sends nothing', async () => {
    expect(await roundTrips(() => withTransaction(db.pool, async () => 'nothing'))).toBe(0);
  });

  it('a first statement without parameters still runs inside the transaction', async () => {
    const ids = await withTransaction(db.pool, async (tx) => {
      const first = await tx.query<{ id: string }>('SELECT txid_current()::text AS id');
      const second = await tx.query<{ id: string }>(txid, [1]);
      return [first.rows[0]!.id, second.rows[0]!.id];
    });
    expect(ids[0]).toBe(ids[1]);
  });

  it('rolls back what the first statement wrote when a later one fails, and when the first fails', async () => {
    await db.pool.query('DELETE FROM behind_begin_probe');
    await expect(
      withTransaction(db.pool, async (tx) => {
        await tx.query('INSERT INTO behind_begin_probe (n) VALUES ($1)', [1]);
        await tx.query('SELECT 10 / $1::int', [0]);
      }),
    ).rejects.toThrow(/division by zero/);
    await expect(
      withTransaction(db.pool, async (tx) => {
        await tx.query('INSERT INTO behind_begin_probe (n) VALUES ($1 / 0)', [2]);
      }),
    ).rejects.toThrow(/division by zero/);
    expect((await db.pool.query('SELECT count(*)::int AS n FROM behind_begin_probe')).rows[0].n).toBe(0);
    // The connections are usable afterwards, and a committed transaction keeps its row.
    await withTransaction(db.pool, (tx) => tx.query('INSERT INTO behind_begin_probe (n) VALUES ($1)', [3]));
    expect((await db.pool.query('SELECT n FROM behind_begin_probe')).rows).toEqual([{ n: 3 }]);
  });

  it('sends the last statement with its COMMIT: two statements in two round trips', async () => {
    await withTransaction(db.pool, (tx) => tx.query(txid, [1]));
    await db.pool.query('DELETE FROM behind_begin_probe');
    const trips = await roundTrips(() =>
      withTransaction(db.pool, async (tx) => {
        await tx.query('INSERT INTO behind_begin_probe (n) VALUES ($1)', [1]);
        await queryThenCommit(tx, 'INSERT INTO behind_begin_probe (n) VALUES ($1)', [2]);
      }),
    );
    expect(trips).toBeLessThanOrEqual(3); // 2 once both statements are prepared on the connection
    const again = await roundTrips(() =>
      withTransaction(db.pool, async (tx) => {
        await tx.query('INSERT INTO behind_begin_probe (n) VALUES ($1)', [3]);
        await queryThenCommit(tx, 'INSERT INTO behind_begin_probe (n) VALUES ($1)', [4]);
      }),
    );
    expect(again).toBe(2);
    const rows = await db.pool.query('SELECT n FROM behind_begin_probe ORDER BY n');
    expect(rows.rows.map((r) => r.n)).toEqual([1, 2, 3, 4]);
  });

  it('a transaction of one statement with its COMMIT is one round trip', async () => {
    const trips = await roundTrips(() =>
      withTransaction(db.pool, (tx) => queryThenCommit(tx, 'SELECT $1::int AS n', [1])),
    );
    expect(trips).toBe(1);
  });

  it('commits nothing when the last statement fails, and the connection stays usable', async () => {
    await db.pool.query('DELETE FROM behind_begin_probe');
    await expect(
      withTransaction(db.pool, async (tx) => {
        await tx.query('INSERT INTO behind_begin_probe (n) VALUES ($1)', [1]);
        await queryThenCommit(tx, 'INSERT INTO behind_begin_probe (n) VALUES ($1 / 0)', [2]);
      }),
    ).rejects.toThrow(/division by zero/);
    expect((await db.pool.query('SELECT count(*)::int AS n FROM behind_begin_probe')).rows[0].n).toBe(0);
    await withTransaction(db.pool, (tx) =>
      queryThenCommit(tx, 'INSERT INTO behind_begin_probe (n) VALUES ($1)', [5]),
    );
    expect((await db.pool.query('SELECT n FROM behind_begin_probe')).rows).toEqual([{ n: 5 }]);
  });

  it('refuses a statement after the COMMIT went out, and keeps what was committed', async () => {
    await db.pool.query('DELETE FROM behind_begin_probe');
    await expect(
      withTransaction(db.pool, async (tx) => {
        await tx.query('INSERT INTO behind_begin_probe (n) VALUES ($1)', [6]);
        await queryThenCommit(tx, 'INSERT INTO behind_begin_probe (n) VALUES ($1)', [7]);
        await tx.query('INSERT INTO behind_begin_probe (n) VALUES ($1)', [8]);
      }),
    ).rejects.toThrow(/after the transaction committed/);
    const rows = await db.pool.query('SELECT n FROM behind_begin_probe ORDER BY n');
    expect(rows.rows.map((r) => r.n)).toEqual([6, 7]);
  });

  it('prepares a statement first sent behind BEGIN, and a failed Parse there is not taken for a prepared one', async () => {
    const client = (await db.pool.connect()) as pg.PoolClient & { deferBegin(): void };
    const text = 'SELECT n FROM behind_begin_later WHERE n = $1';
    try {
      await db.pool.query('DROP TABLE IF EXISTS behind_begin_later');
      // The table does not exist yet: the statement's Parse fails, after BEGIN's succeeded in the same round trip.
      client.deferBegin();
      await expect(client.query(text, [1])).rejects.toThrow(/behind_begin_later/);
      await client.query('ROLLBACK');
      await db.pool.query('CREATE TABLE behind_begin_later (n int)');
      await db.pool.query('INSERT INTO behind_begin_later (n) VALUES (1)');
      client.deferBegin();
      expect((await client.query<{ n: number }>(text, [1])).rows).toEqual([{ n: 1 }]);
      await client.query('COMMIT');
      const prepared = await client.query<{ statement: string }>(
        'SELECT statement FROM pg_prepared_statements',
      );
      expect(prepared.rows.map((r) => r.statement)).toContain(text);
    } finally {
      client.release();
    }
  });
});
