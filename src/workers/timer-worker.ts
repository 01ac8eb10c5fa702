/**
 * The timer worker: a loop that fires due timers through their kind's handler. The loop owns polling and
 * shutdown; handlers only decide what a timer does (inside the transaction that marks it fired).
 */
import { randomUUID } from 'node:crypto';
import type pg from 'pg';
import type { Clock } from '../clock.ts';
import { describeError, type Logger } from '../log/logger.ts';
import { fireDueTimers, type TimerHandler } from '../store/timers.ts';
import { startPollLoop } from './poll-loop.ts';

export interface Worker {
  stop(): Promise<void>;
}

export interface TimerWorkerOptions {
  pool: pg.Pool;
  clock: Clock;
  logger: Logger;
  intervalMs: number;
  batchSize: number;
  /** Timer kind → what firing it does. A timer of an unknown kind is logged and left for a newer version. */
  handlers: Record<string, TimerHandler>;
  workerId?: string;
}

export function startTimerWorker(options: TimerWorkerOptions): Worker {
  const workerId = options.workerId ?? `timers-${randomUUID().slice(0, 8)}`;
  const handler: TimerHandler = async (tx, timer) => {
    const handle = options.handlers[timer.kind];
    if (!handle) throw new Error(`No handler for timer kind '${timer.kind}'`);
    await handle(tx, timer);
  };
  const loop = startPollLoop({
    intervalMs: options.intervalMs,
    poll: async () =>
      (await fireDueTimers(options.pool, {
        now: options.clock.now(),
        workerId,
        limit: options.batchSize,
        kinds: Object.keys(options.handlers),
        handler,
        onError: (timer, error) =>
          options.logger.warn(
            { timerId: timer.id, kind: timer.kind, caseId: timer.caseId, ...describeError(error) },
            'timer handler failed',
          ),
      })) > 0,
    onError: (error) => options.logger.warn(describeError(error), 'timer worker poll failed'),
  });
  return { stop: () => loop.stop() };
}
