/**
 * Group commit (issue #17): transactions of different callers that come while others are committing share one
 * transaction — one BEGIN, one COMMIT and one WAL flush for the batch instead of one each. Each caller's work
 * still commits all or nothing with everything else it wrote (per case, the one-transaction guarantee holds: the
 * batch is one transaction).
 *
 * - Nobody waits for a batch to fill: a caller whose turn comes runs at once, alone if it is alone. Batches form
 *   only under load, from the callers that queued while `maxBatchesInFlight` batches were committing.
 * - The callers' work runs one after another on the batch's connection, in arrival order.
 * - When one caller's work throws, the batch is rolled back: that caller gets its error (it would have failed
 *   alone too), and the others' work — undone by the rollback — runs again in the next batch, first in line. So
 *   work must be safe to run again: database writes on `tx` and pure computation only, like any transaction body
 *   that may be retried. A failed COMMIT fails every caller of the batch, as it would have failed each alone.
 * - Work must not wait on another connection of the pool (as with withTransaction): on the embedded database that
 *   waits forever.
 */
import type pg from 'pg';
import { type Tx, withTransaction } from './sql.ts';

export interface GroupCommitOptions {
  /** Most callers in one transaction (default 32). */
  readonly maxBatch?: number;
  /** Batches committing at once, each on its own connection (default 4; 1 suits the embedded database). */
  readonly maxBatchesInFlight?: number;
}

export interface GroupCommit {
  /** Runs `work` in a transaction shared with the work queued beside it; resolves once that has committed. */
  run<T>(work: (tx: Tx) => Promise<T>): Promise<T>;
  /** Callers waiting for a batch, and batches committing now. */
  stats(): { readonly queued: number; readonly inFlight: number };
}

interface Queued {
  readonly work: (tx: Tx) => Promise<unknown>;
  resolve(value: unknown): void;
  reject(error: unknown): void;
}

/** Thrown inside the batch's transaction to roll it back, naming the caller whose work failed. */
class WorkFailed extends Error {
  constructor(
    readonly index: number,
    readonly error: unknown,
  ) {
    super('work in a group commit failed');
  }
}

export function createGroupCommit(pool: pg.Pool, options: GroupCommitOptions = {}): GroupCommit {
  const maxBatch = Math.max(1, options.maxBatch ?? 32);
  const maxInFlight = Math.max(1, options.maxBatchesInFlight ?? 4);
  const queue: Queued[] = [];
  let inFlight = 0;

  function pump(): void {
    while (inFlight < maxInFlight && queue.length > 0) {
      const batch = queue.splice(0, maxBatch);
      inFlight++;
      void commitBatch(batch).finally(() => {
        inFlight--;
        pump();
      });
    }
  }

  async function commitBatch(batch: Queued[]): Promise<void> {
    const results: unknown[] = [];
    try {
      await withTransaction(pool, async (tx) => {
        for (const [index, queued] of batch.entries()) {
          try {
            results.push(await queued.work(tx));
          } catch (error) {
            throw new WorkFailed(index, error);
          }
        }
      });
    } catch (error) {
      if (error instanceof WorkFailed) {
        batch[error.index]!.reject(error.error);
        queue.unshift(...batch.filter((_, i) => i !== error.index));
      } else {
        for (const queued of batch) queued.reject(error);
      }
      return;
    }
    for (const [index, queued] of batch.entries()) queued.resolve(results[index]);
  }

  return {
    run<T>(work: (tx: Tx) => Promise<T>): Promise<T> {
      return new Promise<T>((resolve, reject) => {
        queue.push({ work, resolve: resolve as (value: unknown) => void, reject });
        pump();
      });
    },
    stats: () => ({ queued: queue.length, inFlight }),
  };
}
