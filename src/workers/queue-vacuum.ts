/**
 * Vacuums the timers queue every few seconds, on PostgreSQL and on PGlite (issue #17: no dead-tuple build-up).
 *
 * Every workflow step's timer is inserted, leased (an UPDATE that moves its due time) and deleted within seconds,
 * leaving dead row versions and their index entries behind. Autovacuum looks at a table at most once a minute
 * (`autovacuum_naptime`), PGlite never: at 50 orders/s on PostgreSQL, 12,900 dead timers built up in 30 s and the
 * step claim read ~2,100 index entries per order, nearly all of them dead (its bitmap scans never mark them). The
 * queue holds only open timers, so vacuuming it touches a few pages: about a millisecond.
 *
 * SKIP_LOCKED: when another gateway instance or autovacuum is vacuuming the table, this round lets it be.
 */
import type pg from 'pg';
import { describeError, type Logger } from '../log/logger.ts';
import { startPollLoop } from './poll-loop.ts';
import type { Worker } from './timer-worker.ts';

export interface QueueVacuumOptions {
  pool: pg.Pool;
  logger: Logger;
  /** Time between rounds (config workers.queueVacuumMs). */
  intervalMs: number;
}

export function startQueueVacuum(options: QueueVacuumOptions): Worker {
  const loop = startPollLoop({
    intervalMs: options.intervalMs,
    poll: async () => {
      await options.pool.query('VACUUM (SKIP_LOCKED) timers');
      return false;
    },
    onError: (error) =>
      options.logger.warn(describeError(error), 'timers queue vacuum failed; trying again next round'),
  });
  return { stop: () => loop.stop() };
}
