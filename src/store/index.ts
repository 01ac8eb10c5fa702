export * from './cases.ts';
export * from './database.ts';
export * from './ids.ts';
export * from './migrate.ts';
export * from './outbox.ts';
export { planEachRun } from './prepared-statements.ts';
export * from './retry-context.ts';
export * from './review-gates.ts';
export * from './sql.ts';
export * from './timers.ts';
export * from './together.ts';
export * from './tokens.ts';

import { type Database, type OpenDatabaseOptions, openDatabase } from './database.ts';
import { migrate } from './migrate.ts';

/** Opens the database and brings its schema up to date: what `pagw start` does before anything else. */
export async function openStore(options: OpenDatabaseOptions): Promise<Database> {
  const db = await openDatabase(options);
  try {
    await migrate(db.pool);
  } catch (error) {
    await db.close();
    throw error;
  }
  return db;
}
