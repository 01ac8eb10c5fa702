/**
 * Named prepared statements on the PostgreSQL server (issue #17, src/store/prepared-statements.ts): a parameterized
 * query is parsed once per connection (on the embedded database, once per its one shared session) and may keep a
 * generic plan; text marked `planEachRun` and parameterless text run unnamed, as before. Checked in the server's own view of the
 * connection's prepared statements (pg_prepared_statements).
 */
import type pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Database, openDatabase, planEachRun, withTransaction } from '../../src/store/index.ts';
import { describeOnPostgres, openTestDatabase, testDatabaseKind } from '../helpers/database.ts';

async function preparedOnConnection(client: pg.PoolClient): Promise<Map<string, string>> {
  // Parameterless: runs unnamed on the simple protocol, so it does not list itself.
  const { rows } = await client.query<{ name: string; statement: string }>(
    'SELECT name, statement FROM pg_prepared_statements',
  );
  return new Map(rows.map((r) => [r.statement, r.name]));
}

describe('prepared statements', () => {
  let db: Database;
  beforeAll(async () => {
    db = await openTestDatabase({ migrate: false });
  });
  afterAll(async () => {
    await db.close();
  });

  const named = 'SELECT $1::int + 1 AS n';
  const perRun = `${planEachRun}SELECT $1::int + 2 AS n`;

  it('gives the same answers whether a statement runs named or not, twice and more', async () => {
    await withTransaction(db.pool, async (tx) => {
      for (const i of [1, 2, 3, 7, 8]) {
        expect((await tx.query<{ n: number }>(named, [i])).rows[0]!.n).toBe(i + 1);
        expect((await tx.query<{ n: number }>({ text: named, values: [i] })).rows[0]!.n).toBe(i + 1);
        expect((await tx.query<{ n: number }>(perRun, [i])).rows[0]!.n).toBe(i + 2);
      }
      // Several statements without parameters still go as one simple query.
      await tx.query('SELECT 1; SELECT 2');
    });
  });

  it('names parameterized statements, never one marked planEachRun', async () => {
    const client = await db.pool.connect();
    try {
      await client.query(named, [1]);
      await client.query(perRun, [1]);
      const prepared = await preparedOnConnection(client);
      expect(prepared.get(named)).toMatch(/^pagw_[A-Za-z0-9_-]{6}_[A-Za-z0-9_-]{27}$/);
      expect(prepared.has(perRun)).toBe(false);
      expect([...prepared.keys()].some((text) => text.includes('+ 2 AS n'))).toBe(false);
    } finally {
      client.release();
    }
  });

  it('prepares a statement once per session, however many connections run it at once', async () => {
    // On PGlite all connections share one session, where a second Parse of one name would be refused.
    const text = 'SELECT $1::int * 3 AS n';
    const results = await Promise.all(
      Array.from({ length: 24 }, (_, i) => db.pool.query<{ n: number }>(text, [i]).then((r) => r.rows[0]!.n)),
    );
    expect(results).toEqual(Array.from({ length: 24 }, (_, i) => i * 3));
    const again = await Promise.all(
      Array.from({ length: 24 }, (_, i) => db.pool.query<{ n: number }>(text, [i]).then((r) => r.rows[0]!.n)),
    );
    expect(again).toEqual(results);
    const client = await db.pool.connect();
    try {
      const sessions = [...(await preparedOnConnection(client)).keys()].filter((t) => t === text).length;
      if (testDatabaseKind() === 'pglite') expect(sessions).toBe(1);
      else expect(sessions).toBeLessThanOrEqual(1); // this connection's own, if it ran one of them
    } finally {
      client.release();
    }
  });

  it('a failing named statement leaves the connection usable and the statement reusable', async () => {
    const client = await db.pool.connect();
    try {
      const divide = 'SELECT 10 / $1::int AS n';
      await expect(client.query(divide, [0])).rejects.toThrow(/division by zero/);
      expect((await client.query<{ n: number }>(divide, [5])).rows[0]!.n).toBe(2);
    } finally {
      client.release();
    }
  });
});

describeOnPostgres('prepared statements switched off', () => {
  let db: Database;
  beforeAll(async () => {
    db = await openDatabase({ databaseUrl: process.env.DATABASE_URL!, preparedStatements: false });
  });
  afterAll(async () => {
    await db.close();
  });

  it('runs every statement unnamed (for a pooler that cannot keep them)', async () => {
    const client = await db.pool.connect();
    try {
      await client.query('SELECT $1::int + 3 AS n', [1]);
      expect([...(await preparedOnConnection(client)).values()].filter((n) => n.startsWith('pagw_'))).toEqual(
        [],
      );
    } finally {
      client.release();
    }
  });
});
