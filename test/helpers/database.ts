/**
 * One fresh, migrated database per test file: a schema of its own on the real server when DATABASE_URL is
 * set, otherwise an in-memory PGlite served over the wire protocol. Same code, same migrations on both.
 */
import { randomBytes } from 'node:crypto';
import pg from 'pg';
import { describe, it } from 'vitest';
import { type Database, migrate, openDatabase } from '../../src/store/index.ts';

export function testDatabaseKind(): 'postgres' | 'pglite' {
  return process.env.DATABASE_URL ? 'postgres' : 'pglite';
}

export async function openTestDatabase(
  options: { migrate?: boolean; poolSize?: number } = {},
): Promise<Database> {
  const url = process.env.DATABASE_URL;
  let db: Database;
  if (url) {
    const schema = `t_${randomBytes(6).toString('hex')}`;
    const admin = new pg.Client({ connectionString: url });
    await admin.connect();
    await admin.query(`CREATE SCHEMA ${schema}`);
    await admin.end();
    const poolOptions = { options: `-c search_path=${schema}` };
    const opened = await openDatabase({ databaseUrl: url, poolSize: options.poolSize, poolOptions });
    db = {
      ...opened,
      async close() {
        await opened.close();
        const cleanup = new pg.Client({ connectionString: url });
        await cleanup.connect();
        await cleanup.query(`DROP SCHEMA ${schema} CASCADE`);
        await cleanup.end();
      },
    };
  } else {
    db = await openDatabase({ dataDir: 'memory://', poolSize: options.poolSize });
  }
  if (options.migrate !== false) await migrate(db.pool);
  return db;
}

function unregistered(what: string) {
  const register = (name?: unknown) => {
    console.warn(
      `[pagw tests] ${what} "${String(name)}" needs PostgreSQL (several processes share one database); CI runs it in its PostgreSQL pass`,
    );
  };
  return Object.assign(register, { each: () => register });
}

/**
 * `describe` on PostgreSQL. On PGlite the suite is not registered at all — not "skipped": several processes
 * cannot share one embedded database, so the scenario does not exist there. CI runs it in its PostgreSQL pass.
 */
export const describeOnPostgres: typeof describe =
  testDatabaseKind() === 'postgres' ? describe : (unregistered('suite') as unknown as typeof describe);

/** `it` on PostgreSQL; on PGlite the test is not registered (see describeOnPostgres). */
export const itOnPostgres: typeof it =
  testDatabaseKind() === 'postgres' ? it : (unregistered('test') as unknown as typeof it);
