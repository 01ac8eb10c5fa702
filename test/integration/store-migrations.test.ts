import { cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PersistError } from '../../src/errors/index.ts';
import { type Database, migrate, readMigrations } from '../../src/store/index.ts';
import { openTestDatabase, testDatabaseKind } from '../helpers/database.ts';

describe(`migrations on ${testDatabaseKind()}`, () => {
  let db: Database;
  beforeAll(async () => {
    db = await openTestDatabase({ migrate: false });
  });
  afterAll(() => db?.close());

  it('apply from an empty database, then re-apply as a no-op', async () => {
    const all = readMigrations().map((m) => m.version);
    expect(all.length).toBeGreaterThan(0);
    const first = await migrate(db.pool);
    expect(first).toEqual({ applied: all, alreadyApplied: [] });
    const tables = await db.pool.query<{ table_name: string }>(
      `SELECT table_name FROM information_schema.tables WHERE table_schema = current_schema() ORDER BY 1`,
    );
    expect(tables.rows.map((r) => r.table_name)).toEqual(
      expect.arrayContaining([
        'cases',
        'case_events',
        'outbox',
        'inbound_messages',
        'timers',
        'audit_log',
        'audit_head',
        'api_tokens',
        'schema_migrations',
      ]),
    );
    const second = await migrate(db.pool);
    expect(second).toEqual({ applied: [], alreadyApplied: all });
    const journal = await db.pool.query('SELECT count(*)::int AS n FROM schema_migrations');
    expect(journal.rows[0].n).toBe(all.length);
  });

  it('refuses to run when an applied migration file has changed', async () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'pagw-mig-'));
    try {
      cpSync(path.join(import.meta.dirname, '../../src/store/migrations'), dir, { recursive: true });
      const first = readMigrations(dir)[0]!;
      const file = path.join(dir, `${first.version}.sql`);
      writeFileSync(file, `${readFileSync(file, 'utf8')}\n-- edited after release\n`);
      await expect(migrate(db.pool, readMigrations(dir))).rejects.toSatisfy(
        (error: unknown) => error instanceof PersistError && error.code === 'PAGW_STORE_MIGRATION_CHANGED',
      );
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('applies a new migration once and journals it', async () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'pagw-mig-'));
    try {
      cpSync(path.join(import.meta.dirname, '../../src/store/migrations'), dir, { recursive: true });
      writeFileSync(path.join(dir, '9999_probe.sql'), 'CREATE TABLE migration_probe (id int);');
      expect((await migrate(db.pool, readMigrations(dir))).applied).toEqual(['9999_probe']);
      expect((await migrate(db.pool, readMigrations(dir))).applied).toEqual([]);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
