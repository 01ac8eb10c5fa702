/**
 * The gateway's own vacuums: the embedded database's (src/workers/embedded-vacuum.ts: PGlite has no autovacuum, so
 * the gateway vacuums its busy tables) and the timers queue's every few seconds on either database
 * (src/workers/queue-vacuum.ts). Run on PGlite and PostgreSQL: a queue table whose rows all came and went holds only
 * dead tuples; one round of vacuum gives the space back (the empty pages at its end are truncated away).
 *
 * On PostgreSQL the test gets a database of its own, not just a schema: VACUUM may only remove tuples older than
 * every open snapshot in the same database, and the other test files running beside this one hold snapshots in the
 * shared test database, so there the dead timers could legitimately survive the round (CI saw exactly that).
 */
import { randomBytes } from 'node:crypto';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createLogger } from '../../src/log/logger.ts';
import type { Database } from '../../src/store/database.ts';
import { migrate, openDatabase } from '../../src/store/index.ts';
import { vacuumBusyTables, vacuumedTables } from '../../src/workers/embedded-vacuum.ts';
import { startQueueVacuum } from '../../src/workers/queue-vacuum.ts';
import { openTestDatabase } from '../helpers/database.ts';
import { waitFor } from '../helpers/store.ts';

/** A migrated database nobody else uses; on PGlite every test database already is one. */
async function openPrivateDatabase(): Promise<Database> {
  const url = process.env.DATABASE_URL;
  if (!url) return openTestDatabase();
  const name = `pagw_vacuum_${randomBytes(6).toString('hex')}`;
  const admin = async (sql: string) => {
    const client = new pg.Client({ connectionString: url });
    await client.connect();
    try {
      await client.query(sql);
    } finally {
      await client.end();
    }
  };
  await admin(`CREATE DATABASE ${name}`);
  const own = new URL(url);
  own.pathname = `/${name}`;
  const opened = await openDatabase({ databaseUrl: own.toString() });
  await migrate(opened.pool);
  return {
    ...opened,
    async close() {
      await opened.close();
      await admin(`DROP DATABASE ${name} WITH (FORCE)`);
    },
  };
}

describe('embedded vacuum', () => {
  let db: Database;
  beforeAll(async () => {
    db = await openPrivateDatabase();
  });
  afterAll(async () => {
    await db?.close();
  });

  const timersPages = async () =>
    (
      await db.pool.query<{ bytes: number }>(
        `SELECT pg_relation_size(c.oid)::int AS bytes FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
          WHERE c.relname = 'timers' AND n.nspname = current_schema()`,
      )
    ).rows[0]!.bytes;

  it('vacuums every busy table the schema has, and gives back what deleted timers held', async () => {
    await db.pool.query(
      `INSERT INTO timers (tenant_id, kind, due_at, created_at, payload)
       SELECT 'clinic-a', 'workflow.advance', now(), now(), jsonb_build_object('n', i, 'pad', repeat('x', 200))
         FROM generate_series(1, 3000) AS i`,
    );
    await db.pool.query(`DELETE FROM timers WHERE tenant_id = 'clinic-a'`);
    const before = await timersPages();
    expect(before).toBeGreaterThan(100_000); // 3,000 rows of ~250 bytes, all dead

    const done = await vacuumBusyTables(db.pool);
    expect(done).toContain('timers');
    expect(done.every((t) => (vacuumedTables as readonly string[]).includes(t))).toBe(true);
    expect(await timersPages()).toBeLessThan(before / 10);
  });

  it('the queue vacuum worker gives back what deleted timers held, round after round, on either database', async () => {
    // Only the worker may vacuum here (PGlite has no autovacuum; on PostgreSQL it is turned off for the table).
    await db.pool.query('ALTER TABLE timers SET (autovacuum_enabled = false)');
    const worker = startQueueVacuum({
      pool: db.pool,
      logger: createLogger({ level: 'silent' }),
      intervalMs: 20,
    });
    try {
      for (const round of [1, 2]) {
        await db.pool.query(
          `INSERT INTO timers (tenant_id, kind, due_at, created_at, payload)
           SELECT 'clinic-b', 'workflow.advance', now(), now(), jsonb_build_object('n', i, 'pad', repeat('x', 200))
             FROM generate_series(1, 3000) AS i`,
        );
        await db.pool.query(`DELETE FROM timers WHERE tenant_id = 'clinic-b'`);
        await waitFor(async () => ((await timersPages()) < 100_000 ? true : undefined), {
          what: `the dead timers of round ${round} vacuumed away`,
        });
      }
    } finally {
      await worker.stop();
    }
  });

  it('skips tables the schema lacks rather than failing the round', async () => {
    await db.pool.query('ALTER TABLE pas_ehr_notifications RENAME TO pas_ehr_notifications_renamed');
    try {
      const done = await vacuumBusyTables(db.pool);
      expect(done).not.toContain('pas_ehr_notifications');
      expect(done).toContain('cases');
    } finally {
      await db.pool.query('ALTER TABLE pas_ehr_notifications_renamed RENAME TO pas_ehr_notifications');
    }
  });
});
