/**
 * Vacuums the embedded database's busy tables now and then. PGlite runs PostgreSQL in single-user mode, which has
 * no autovacuum: without this the rows every step deletes or rewrites (timers, outbox, the audit chain head, bus
 * offsets and leases, cases) stay as dead tuples forever, the claim indexes walk over them and the data directory
 * only grows. On PostgreSQL autovacuum does this (migration 0007 tunes it for the queue tables), so the gateway
 * starts this worker only on the embedded database.
 *
 * One table per statement, each its own short command: PGlite serves one statement at a time, so other work waits
 * for one table's vacuum, never for all of them.
 */
import type pg from 'pg';
import type { Logger } from '../log/logger.ts';
import { startPollLoop } from './poll-loop.ts';
import type { Worker } from './timer-worker.ts';

/** Tables whose rows are updated or deleted as cases move; the rest only grow by inserts. */
export const vacuumedTables = [
  'timers',
  'outbox',
  'audit_head',
  // Each row is updated once, when the chainer links it (migration 0019).
  'audit_log',
  'bus_group_offsets',
  'bus_group_members',
  'bus_leases',
  'bus_partitions',
  'cases',
  'review_gates',
  'case_tasks',
  'payer_submissions',
  'pas_ehr_notifications',
] as const;

export interface EmbeddedVacuumOptions {
  pool: pg.Pool;
  logger: Logger;
  /** Time between rounds (default 5 minutes). */
  intervalMs?: number;
}

/** One round: VACUUM (ANALYZE) each busy table that exists. Returns the tables vacuumed. */
export async function vacuumBusyTables(pool: pg.Pool): Promise<string[]> {
  const { rows } = await pool.query<{ name: string }>(
    `SELECT c.relname AS name FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
      WHERE c.relkind = 'r' AND n.nspname = current_schema() AND c.relname = ANY($1)`,
    [vacuumedTables],
  );
  const present = new Set(rows.map((r) => r.name));
  const done: string[] = [];
  for (const table of vacuumedTables) {
    if (!present.has(table)) continue;
    // The name comes from the constant list above, never from input.
    await pool.query(`VACUUM (ANALYZE) ${table}`);
    done.push(table);
  }
  return done;
}

export function startEmbeddedVacuum(options: EmbeddedVacuumOptions): Worker {
  let first = true;
  const loop = startPollLoop({
    intervalMs: options.intervalMs ?? 5 * 60_000,
    poll: async () => {
      // Not at start: the gateway has just opened the database and has better things to do first.
      if (first) {
        first = false;
        return false;
      }
      const started = Date.now();
      const tables = await vacuumBusyTables(options.pool);
      options.logger.debug({ tables: tables.length, ms: Date.now() - started }, 'embedded database vacuumed');
      return false;
    },
    onError: (error) =>
      options.logger.warn(
        { error: error instanceof Error ? error.message : String(error) },
        'embedded database vacuum failed; trying again next round',
      ),
  });
  return { stop: () => loop.stop() };
}
