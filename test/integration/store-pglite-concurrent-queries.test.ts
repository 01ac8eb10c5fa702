/**
 * Regression: on the embedded database, plain parameterized queries running while other connections run
 * transactions used to interleave inside pglite-socket (one connection's Parse landing between another's
 * Parse and Sync): wrong rows, "unnamed prepared statement does not exist", hangs. See database.ts.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Database, withTransaction } from '../../src/store/index.ts';
import { openTestDatabase, testDatabaseKind } from '../helpers/database.ts';

let db: Database;
beforeAll(async () => {
  db = await openTestDatabase({ poolSize: 10 });
  await db.pool.query('CREATE TABLE concurrency_probe (id int PRIMARY KEY, v text NOT NULL)');
});
afterAll(async () => {
  await db?.close();
});

describe(`concurrent queries and transactions on ${testDatabaseKind()}`, () => {
  it('every query gets its own rows while other connections run transactions', async () => {
    let wrong = 0;
    const errors: string[] = [];
    await Promise.all([
      ...Array.from({ length: 4 }, async (_, worker) => {
        for (let i = 0; i < 100; i++) {
          const tag = `w${worker}-${i}`;
          try {
            const { rows } = await db.pool.query<{ i: number; tag: string }>(
              'SELECT $1::int AS i, $2::text AS tag FROM generate_series(1, 20)',
              [i, tag],
            );
            if (rows.length !== 20 || rows[0]!.i !== i || rows[0]!.tag !== tag) wrong++;
          } catch (error) {
            errors.push(String(error));
          }
        }
      }),
      ...Array.from({ length: 4 }, async (_, worker) => {
        for (let i = 0; i < 50; i++) {
          const id = worker * 1000 + i;
          try {
            await withTransaction(db.pool, async (tx) => {
              await tx.query('INSERT INTO concurrency_probe (id, v) VALUES ($1, $2)', [id, `v${id}`]);
              await new Promise((resolve) => setImmediate(resolve));
              const { rows } = await tx.query<{ v: string }>(
                'SELECT v FROM concurrency_probe WHERE id = $1',
                [id],
              );
              if (rows[0]?.v !== `v${id}`) wrong++;
            });
          } catch (error) {
            errors.push(String(error));
          }
        }
      }),
    ]);
    expect(errors).toEqual([]);
    expect(wrong).toBe(0);
    const { rows } = await db.pool.query<{ n: number }>('SELECT count(*)::int AS n FROM concurrency_probe');
    expect(rows[0]!.n).toBe(200);
  }, 600_000);
});
