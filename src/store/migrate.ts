/**
 * Plain-SQL migrations from src/store/migrations, applied in file-name order in ONE transaction and
 * journaled with each file's SHA-256. A file that changed after it was applied stops the gateway.
 * Two instances starting together serialize on a transaction-level advisory lock.
 */
import { createHash } from 'node:crypto';
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import type pg from 'pg';
import { PersistError } from '../errors/index.ts';
import { withTransaction } from './sql.ts';

const migrationsDir = path.join(import.meta.dirname, 'migrations');
/** Arbitrary constant: the advisory lock id that guards migrations. */
const MIGRATION_LOCK_ID = 727_274_201;

export interface Migration {
  readonly version: string;
  readonly sql: string;
  readonly sha256: string;
}

export function readMigrations(dir = migrationsDir): Migration[] {
  return readdirSync(dir)
    .filter((name) => /^\d{4}_[\w-]+\.sql$/.test(name))
    .sort()
    .map((name) => {
      const sql = readFileSync(path.join(dir, name), 'utf8');
      return {
        version: name.replace(/\.sql$/, ''),
        sql,
        sha256: createHash('sha256').update(sql).digest('hex'),
      };
    });
}

export interface MigrationResult {
  applied: string[];
  alreadyApplied: string[];
}

export async function migrate(pool: pg.Pool, migrations = readMigrations()): Promise<MigrationResult> {
  return withTransaction(pool, async (tx) => {
    await tx.query('SELECT pg_advisory_xact_lock($1)', [MIGRATION_LOCK_ID]);
    await tx.query(`CREATE TABLE IF NOT EXISTS schema_migrations (
      version text PRIMARY KEY, sha256 text NOT NULL, applied_at timestamptz NOT NULL DEFAULT now())`);
    const { rows } = await tx.query<{ version: string; sha256: string }>(
      'SELECT version, sha256 FROM schema_migrations',
    );
    const journal = new Map(rows.map((row) => [row.version, row.sha256]));
    const result: MigrationResult = { applied: [], alreadyApplied: [] };
    for (const migration of migrations) {
      const recorded = journal.get(migration.version);
      if (recorded !== undefined) {
        if (recorded !== migration.sha256) {
          throw new PersistError(
            'PAGW_STORE_MIGRATION_CHANGED',
            `Migration ${migration.version} was changed after it was applied (recorded sha256 ${recorded.slice(0, 12)}…, file ${migration.sha256.slice(0, 12)}…); add a new migration instead`,
          );
        }
        result.alreadyApplied.push(migration.version);
        continue;
      }
      await tx.query(migration.sql);
      await tx.query('INSERT INTO schema_migrations (version, sha256) VALUES ($1, $2)', [
        migration.version,
        migration.sha256,
      ]);
      result.applied.push(migration.version);
    }
    return result;
  });
}
