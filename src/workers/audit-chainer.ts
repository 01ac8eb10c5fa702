/**
 * Links the audit rows that transactions wrote unchained into the hash chain (see `chainAudit`), a batch at a
 * time, so no audited transaction waits on the chain head (issue #17). Every gateway instance runs one; they take
 * turns on the head row's lock and one that finds it taken skips the round. A full batch means more are waiting:
 * the next batch goes at once.
 */
import type pg from 'pg';
import { chainAudit, defaultChainBatchSize } from '../audit/audit-log.ts';
import { describeError, type Logger } from '../log/logger.ts';
import { startPollLoop } from './poll-loop.ts';
import type { Worker } from './timer-worker.ts';

export interface AuditChainerOptions {
  pool: pg.Pool;
  logger: Logger;
  /** Time between rounds when nothing was waiting (default 200 ms): how long a row may stay unchained. */
  intervalMs?: number;
  /** Rows linked per transaction (default 2,000). */
  batchSize?: number;
}

export function startAuditChainer(options: AuditChainerOptions): Worker {
  const batchSize = options.batchSize ?? defaultChainBatchSize;
  const loop = startPollLoop({
    intervalMs: options.intervalMs ?? 200,
    poll: async () => (await chainAudit(options.pool, { batchSize })) === batchSize,
    onError: (error) =>
      options.logger.warn(describeError(error), 'audit chaining failed; trying again next round'),
  });
  return { stop: () => loop.stop() };
}
