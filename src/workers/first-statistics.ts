/**
 * Keeps a young busy table's statistics in step with its growth: ANALYZE once it has rows, and again each time it
 * has grown by half, instead of waiting for autovacuum (a minute or more) or, on PGlite, the embedded vacuum (every
 * 5 minutes) (issue #17).
 *
 * Why: statements run prepared (src/store/prepared-statements.ts) and keep the generic plan made when they first
 * ran, until the table's statistics change. On a new database that was a table without statistics or with a few
 * rows, where any index looks as cheap as the primary key: a case looked up by id was found by walking the tenant's
 * cases (cases_by_tenant_created), a read that grows with the table. Each ANALYZE invalidates the cached plans, and
 * the next run plans for the table as it is. Growth by half means a few ANALYZEs while the table is young and none
 * once it is large: autovacuum's own rule (a tenth) comes first then.
 */
import type pg from 'pg';
import type { Logger } from '../log/logger.ts';
import { startPollLoop } from './poll-loop.ts';
import type { Worker } from './timer-worker.ts';

/** The tables every order writes: their plans matter from the first minute. */
export const firstStatisticsTables = [
  'cases',
  'case_events',
  'outbox',
  'timers',
  'inbound_messages',
  'payer_submissions',
  'case_tasks',
  'review_gates',
  'audit_log',
  'bus_log',
] as const;

/** Rows written before a table gets its first statistics (autovacuum's own base threshold). */
const minimumRows = 50;
/** Rows written since the last statistics, as a share of the table's size then, that take them again. */
const growthShare = 0.5;

/** One round: ANALYZE each listed table of this schema that got its rows or grew by half since its statistics. */
export async function takeFirstStatistics(pool: pg.Pool): Promise<string[]> {
  const { rows } = await pool.query<{ name: string }>(
    `SELECT relname AS name FROM pg_stat_user_tables
      WHERE schemaname = current_schema() AND relname = ANY($1)
        AND n_mod_since_analyze >= $2::int + $3::float8 * greatest(n_live_tup - n_mod_since_analyze, 0)`,
    [firstStatisticsTables, minimumRows, growthShare],
  );
  const done: string[] = [];
  for (const { name } of rows) {
    // The query returns only names of the list above (relname = ANY($1)), never input.
    await pool.query(`ANALYZE ${name}`);
    done.push(name);
  }
  return done;
}

export function startFirstStatistics(options: {
  pool: pg.Pool;
  logger: Logger;
  intervalMs?: number;
}): Worker {
  const loop = startPollLoop({
    intervalMs: options.intervalMs ?? 5_000,
    poll: async () => {
      const tables = await takeFirstStatistics(options.pool);
      if (tables.length > 0) options.logger.debug({ tables }, 'first statistics taken');
      return false;
    },
    onError: (error) =>
      options.logger.warn(
        { error: error instanceof Error ? error.message : String(error) },
        'taking first statistics failed; trying again next round',
      ),
  });
  return { stop: () => loop.stop() };
}
