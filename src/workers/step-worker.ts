/**
 * The step worker: runs timers whose work happens OUTSIDE a database transaction (payer calls, e-mail).
 * It claims due timers with a lease, calls the handler for the timer's kind, and on a thrown error puts the
 * timer back with exponential backoff — or, after the kind's last attempt, calls its `giveUp`.
 * The handler completes the timer itself (completeTimer) inside the transaction that records its result,
 * so "step done" and "step's effect recorded" are one commit.
 */
import { randomUUID } from 'node:crypto';
import type pg from 'pg';
import type { Clock } from '../clock.ts';
import { isGatewayError } from '../errors/index.ts';
import { describeError, type Logger } from '../log/logger.ts';
import { claimDueTimers, type DueTimer, retryTimerAt } from '../store/timers.ts';
import { startPollLoop } from './poll-loop.ts';
import type { Worker } from './timer-worker.ts';

export interface ClaimedTimer extends DueTimer {
  /** 1 on the first run of this timer, 2 on the first retry … */
  readonly attempts: number;
}

export interface StepKind {
  run(timer: ClaimedTimer): Promise<void>;
  /** Attempts before giving up (default 8). */
  maxAttempts?: number;
  /** Called once when the last attempt failed (e.g. move the case to `failed`); must complete the timer. */
  giveUp?(timer: ClaimedTimer, error: unknown): Promise<void>;
}

export interface StepWorkerOptions {
  pool: pg.Pool;
  clock: Clock;
  logger: Logger;
  kinds: Record<string, StepKind>;
  intervalMs: number;
  /** How long a claimed step may run before another worker may take it over. */
  leaseMs?: number;
  /** Steps run at once by this worker. */
  concurrency?: number;
  workerId?: string;
}

/** Backoff before retry n (1-based): 1 s, 2 s, 4 s … capped at 5 minutes, with ±20 % jitter. */
export function retryDelayMs(attempt: number, random: () => number = Math.random): number {
  const base = Math.min(300_000, 1000 * 2 ** Math.max(0, attempt - 1));
  return Math.round(base * (0.8 + 0.4 * random()));
}

export function startStepWorker(options: StepWorkerOptions): Worker & { runOnce(): Promise<number> } {
  const workerId = options.workerId ?? `steps-${randomUUID().slice(0, 8)}`;
  const leaseMs = options.leaseMs ?? 120_000;
  const concurrency = options.concurrency ?? 4;
  const kinds = Object.keys(options.kinds);
  const running = new Set<Promise<void>>();

  async function runStep(timer: ClaimedTimer): Promise<void> {
    const kind = options.kinds[timer.kind]!;
    const log = { timerId: timer.id, kind: timer.kind, caseId: timer.caseId, attempt: timer.attempts };
    try {
      await kind.run(timer);
    } catch (error) {
      const retriable = !isGatewayError(error) || error.retriable;
      const maxAttempts = kind.maxAttempts ?? 8;
      if (retriable && timer.attempts < maxAttempts) {
        const delay = retryDelayMs(timer.attempts);
        options.logger.warn({ ...log, retryInMs: delay, ...describeError(error) }, 'step failed; will retry');
        await retryTimerAt(
          options.pool,
          timer.id,
          new Date(options.clock.now().getTime() + delay),
          describeError(error).errorName as string,
        ).catch(
          () => {}, // the lease expires and the step comes due again anyway
        );
        return;
      }
      options.logger.error({ ...log, retriable, ...describeError(error) }, 'step failed for good');
      try {
        if (kind.giveUp) await kind.giveUp(timer, error);
      } catch (giveUpError) {
        options.logger.error({ ...log, ...describeError(giveUpError) }, 'giving up on a step failed too');
      }
    }
  }

  async function runOnce(): Promise<number> {
    const free = concurrency - running.size;
    if (free <= 0 || kinds.length === 0) return 0;
    const claimed = await claimDueTimers(options.pool, {
      now: options.clock.now(),
      workerId,
      leaseMs,
      limit: free,
      kinds,
    });
    for (const timer of claimed) {
      const task = runStep(timer).finally(() => {
        running.delete(task);
        loop.wake();
      });
      running.add(task);
    }
    return claimed.length;
  }

  const loop = startPollLoop({
    intervalMs: options.intervalMs,
    poll: async () => (await runOnce()) > 0 && running.size < concurrency,
    onError: (error) => options.logger.warn(describeError(error), 'step worker poll failed'),
  });

  return {
    runOnce,
    async stop() {
      await loop.stop();
      await Promise.allSettled([...running]);
    },
  };
}
