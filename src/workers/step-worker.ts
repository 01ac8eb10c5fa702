/**
 * The step worker: runs timers whose work happens OUTSIDE a database transaction (payer calls, e-mail).
 * It claims due timers with a lease, calls the handler for the timer's kind, and on a thrown error puts the
 * timer back with exponential backoff — or, after the kind's last attempt, calls its `giveUp`.
 * The handler completes the timer itself (completeTimer) inside the transaction that records its result,
 * so "step done" and "step's effect recorded" are one commit.
 *
 * Scheduling (issue #17):
 * - Two lanes with slots of their own: 'payer' steps (may call a payer, many in flight: the payer limits of
 *   ./payer-limits.ts bound them per payer and channel) and 'local' steps (database only), so a database-only step
 *   never waits behind payer calls. Each lane takes the oldest ready step first (ORDER BY due_at, id).
 * - Woken when a commit makes a step due (src/store/signals.ts) and when a slot frees up; `intervalMs` polling
 *   only catches work other processes wrote.
 * Leases (issue #10 item 11): a claimed step's lease is short (default 15 s) and renewed every third of it while
 * the step runs, so a long payer call keeps its step and a crashed worker's steps come due again within seconds.
 */
import { randomUUID } from 'node:crypto';
import type pg from 'pg';
import type { Clock } from '../clock.ts';
import { isGatewayError } from '../errors/index.ts';
import { describeError, type Logger } from '../log/logger.ts';
import type { CaseRecord } from '../store/cases.ts';
import { onStoreSignal } from '../store/signals.ts';
import {
  claimDueTimers,
  type DueTimer,
  releaseAllLeases,
  renewLeases,
  retryTimerAt,
  type TimerLane,
} from '../store/timers.ts';
import { startPollLoop } from './poll-loop.ts';
import type { Worker } from './timer-worker.ts';

export interface ClaimedTimer extends DueTimer {
  /** 1 on the first run of this timer, 2 on the first retry … */
  readonly attempts: number;
  /**
   * The step's case as the claim read it, when a kind of the worker reads cases (StepKind.readsCase): null when the
   * timer has no case or it is gone; absent when not read.
   */
  readonly claimedCase?: CaseRecord | null;
}

export interface StepKind<Prepared = unknown> {
  /**
   * Reads what the steps of one claim need, for all of them in one round trip (the advancer: their cases), instead
   * of one read per step (issue #17). Optional; a step it has nothing for (or a failed read) runs without.
   */
  prepare?(timers: readonly ClaimedTimer[]): Promise<ReadonlyMap<number, Prepared>>;
  /** Runs one step; `prepared` is what prepare read for this timer, if anything. */
  run(timer: ClaimedTimer, prepared?: Prepared): Promise<void>;
  /**
   * The kind's steps work on their case: the claim reads each claimed step's case in its own statement
   * (`claimedCase`), one round trip fewer per claim than a read in prepare (issue #17).
   */
  readsCase?: boolean;
  /** Attempts before giving up (default 8). */
  maxAttempts?: number;
  /** Called once when the last attempt failed (e.g. move the case to `failed`); must complete the timer. */
  giveUp?(timer: ClaimedTimer, error: unknown): Promise<void>;
}

export type StepLane = Exclude<TimerLane, 'timer'>;
export const stepLanes: readonly StepLane[] = ['payer', 'local'];

export interface StepWorkerOptions {
  pool: pg.Pool;
  clock: Clock;
  logger: Logger;
  kinds: Record<string, StepKind>;
  intervalMs: number;
  /** How long a claimed step may go without renewal before another worker may take it over (default 15 s). */
  leaseMs?: number;
  /** How often running steps' leases are renewed (default a third of the lease). */
  renewEveryMs?: number;
  /**
   * Steps run at once by this worker, per lane. A number sets the payer lane (the local lane keeps its default).
   * Defaults: payer 256 (payer calls are I/O waits; ./payer-limits.ts bounds them per payer), local 16.
   */
  concurrency?: number | Partial<Record<StepLane, number>>;
  /**
   * Make every leased step due at start: only for a process that knows it is the only worker (the embedded
   * database locks its data directory), so a crashed predecessor's steps resume at once.
   */
  releaseLeasesOnStart?: boolean;
  workerId?: string;
}

export interface StepWorkerStats {
  readonly inFlight: Readonly<Record<StepLane, number>>;
  readonly slots: Readonly<Record<StepLane, number>>;
}

export interface StepWorker extends Worker {
  runOnce(): Promise<number>;
  /** Steps running now, per lane. */
  stats(): StepWorkerStats;
}

export const defaultStepConcurrency: Readonly<Record<StepLane, number>> = { payer: 256, local: 16 };
export const defaultStepLeaseMs = 15_000;

/** Backoff before retry n (1-based): 1 s, 2 s, 4 s … capped at 5 minutes, with ±20 % jitter. */
export function retryDelayMs(attempt: number, random: () => number = Math.random): number {
  const base = Math.min(300_000, 1000 * 2 ** Math.max(0, attempt - 1));
  return Math.round(base * (0.8 + 0.4 * random()));
}

function slotsOf(concurrency: StepWorkerOptions['concurrency']): Record<StepLane, number> {
  if (typeof concurrency === 'number') return { ...defaultStepConcurrency, payer: concurrency };
  return { ...defaultStepConcurrency, ...concurrency };
}

export function startStepWorker(options: StepWorkerOptions): StepWorker {
  const workerId = options.workerId ?? `steps-${randomUUID().slice(0, 8)}`;
  const leaseMs = options.leaseMs ?? defaultStepLeaseMs;
  const renewEveryMs = options.renewEveryMs ?? Math.max(250, Math.floor(leaseMs / 3));
  const slots = slotsOf(options.concurrency);
  const kinds = Object.keys(options.kinds);
  const withCases = Object.values(options.kinds).some((kind) => kind.readsCase);
  /** Running steps by timer id, per lane. */
  const running: Record<StepLane, Map<number, Promise<void>>> = { payer: new Map(), local: new Map() };
  /**
   * Per lane: its last claim was limited by its free slots (none free, or as many claimed as were free), so more
   * steps may be due. Only then does a step that finishes claim again; otherwise the next commit's wake-up or the
   * poll does (a claim after every step found nothing: a third of the statements of a step at 20 orders/s).
   */
  const limited: Record<StepLane, boolean> = { payer: false, local: false };
  let released = !options.releaseLeasesOnStart;

  async function runStep(timer: ClaimedTimer, lane: StepLane, prepared: unknown): Promise<void> {
    const kind = options.kinds[timer.kind]!;
    const log = { timerId: timer.id, kind: timer.kind, caseId: timer.caseId, attempt: timer.attempts, lane };
    try {
      await kind.run(timer, prepared);
    } catch (error) {
      const retriable = !isGatewayError(error) || error.retriable;
      const maxAttempts = kind.maxAttempts ?? 8;
      if (retriable && timer.attempts < maxAttempts) {
        const delay = retryDelayMs(timer.attempts);
        options.logger.warn({ ...log, retryInMs: delay, ...describeError(error) }, 'step failed; will retry');
        running[lane].delete(timer.id); // no more renewals: the retry time below is the timer's due time now
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

  /** What each kind's prepare read for its timers of this claim; a failed read leaves those steps to read alone. */
  async function prepare(timers: readonly ClaimedTimer[]): Promise<Map<number, unknown>> {
    const prepared = new Map<number, unknown>();
    for (const name of new Set(timers.map((t) => t.kind))) {
      const kind = options.kinds[name]!;
      if (!kind.prepare) continue;
      try {
        const read = await kind.prepare(timers.filter((t) => t.kind === name));
        for (const [id, value] of read) prepared.set(id, value);
      } catch (error) {
        options.logger.warn(
          { kind: name, ...describeError(error) },
          'preparing steps failed; each reads alone',
        );
      }
    }
    return prepared;
  }

  async function claim(lane: StepLane): Promise<number> {
    const free = slots[lane] - running[lane].size;
    limited[lane] = free <= 0;
    if (free <= 0 || kinds.length === 0) return 0;
    if (!released) {
      const count = await releaseAllLeases(options.pool, options.clock.now());
      released = true;
      if (count > 0) options.logger.info({ count }, 'steps leased before a restart resume now');
    }
    const claimed = await claimDueTimers(options.pool, {
      now: options.clock.now(),
      workerId,
      leaseMs,
      limit: free,
      kinds,
      lane,
      withCases,
    });
    limited[lane] = claimed.length >= free;
    const toRun = claimed.filter((timer) => {
      // Our own step, still running, whose lease ran out before a renewal landed (a starved machine, the embedded
      // database busy): claiming it renewed the lease to us again, and a second run beside the first would race it.
      if (!stepLanes.some((l) => running[l].has(timer.id))) return true;
      options.logger.warn(
        { timerId: timer.id, kind: timer.kind },
        'step lease ran out while it ran; still ours',
      );
      return false;
    });
    const prepared = await prepare(toRun);
    for (const timer of toRun) {
      const task = runStep(timer, lane, prepared.get(timer.id)).finally(() => {
        running[lane].delete(timer.id);
        if (limited[lane]) loops[lane].wake();
      });
      running[lane].set(timer.id, task);
    }
    return claimed.length;
  }

  const loops = Object.fromEntries(
    stepLanes.map((lane) => [
      lane,
      startPollLoop({
        intervalMs: options.intervalMs,
        // Again at once only after a full claim with slots left: a claim that took fewer than it could took every
        // step due when it ran (a step committed since then wakes the loop).
        poll: async () => (await claim(lane)) > 0 && limited[lane] && running[lane].size < slots[lane],
        onError: (error) => options.logger.warn({ lane, ...describeError(error) }, 'step worker poll failed'),
      }),
    ]),
  ) as Record<StepLane, ReturnType<typeof startPollLoop>>;
  const unsubscribes = stepLanes.map((lane) =>
    onStoreSignal(options.pool, `due:${lane}`, () => loops[lane].wake()),
  );

  // One statement renews every running step's lease; a step that finished meanwhile is simply not renewed.
  let renewing: Promise<void> = Promise.resolve();
  const renewTimer = setInterval(() => {
    const ids = stepLanes.flatMap((lane) => [...running[lane].keys()]);
    if (ids.length === 0) return;
    renewing = renewLeases(options.pool, { ids, now: options.clock.now(), leaseMs, workerId })
      .then((held) => {
        const lost = ids.length - held.length;
        if (lost > 0) {
          const still = new Set(held);
          const gone = ids.filter((id) => !still.has(id) && stepLanes.some((l) => running[l].has(id)));
          if (gone.length > 0)
            options.logger.warn({ timerIds: gone }, 'step leases lost (taken over after they ran out)');
        }
      })
      .catch((error) => options.logger.warn(describeError(error), 'step lease renewal failed'));
  }, renewEveryMs);
  renewTimer.unref();

  return {
    async runOnce() {
      let claimed = 0;
      for (const lane of stepLanes) claimed += await claim(lane);
      return claimed;
    },
    stats: () => ({
      inFlight: { payer: running.payer.size, local: running.local.size },
      slots: { ...slots },
    }),
    async stop() {
      for (const unsubscribe of unsubscribes) unsubscribe();
      await Promise.all(stepLanes.map((lane) => loops[lane].stop()));
      await Promise.allSettled(stepLanes.flatMap((lane) => [...running[lane].values()]));
      clearInterval(renewTimer);
      await renewing;
    },
  };
}
