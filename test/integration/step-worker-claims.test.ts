/**
 * How often the step worker claims (issue #17: a claim is a statement). A lane claims when a commit makes a step of
 * that lane due, again at once only after a claim that filled its free slots, and after a step finishes only when
 * its lane was full. No step waits for the poll: with a one-hour poll interval every step still runs.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { systemClock } from '../../src/clock.ts';
import { createLogger } from '../../src/log/logger.ts';
import { type Database, scheduleTimer, withTransaction } from '../../src/store/index.ts';
import { startStepWorker } from '../../src/workers/step-worker.ts';
import { openTestDatabase, testDatabaseKind } from '../helpers/database.ts';
import { waitFor } from '../helpers/store.ts';

describe(`step worker claims (${testDatabaseKind()})`, () => {
  let db: Database;
  beforeAll(async () => {
    db = await openTestDatabase();
  });
  afterAll(async () => {
    await db?.close();
  });

  /** The worker, on a pool that counts its claims (the claim is an UPDATE of timers … RETURNING the steps). */
  function startCounting(kind: string, seen: Set<number>) {
    const counter = { claims: 0, lanes: [] as unknown[] };
    const pool = new Proxy(db.pool, {
      get(target, property) {
        const value = Reflect.get(target, property, target);
        if (property === 'query')
          return (text: unknown, ...rest: unknown[]) => {
            if (
              typeof text === 'string' &&
              /^\s*UPDATE timers SET/.test(text) &&
              text.includes('SKIP LOCKED')
            ) {
              counter.claims++;
              counter.lanes.push((rest[0] as unknown[])[5]); // claimDueTimersParams: the lane is $6
            }
            return (value as (...a: unknown[]) => unknown).call(target, text, ...rest);
          };
        return typeof value === 'function' ? value.bind(target) : value;
      },
    });
    const worker = startStepWorker({
      pool,
      clock: systemClock,
      logger: createLogger({ level: 'silent' }),
      intervalMs: 3_600_000, // only commits and finishing steps bring claims within the test
      concurrency: { local: 2 },
      kinds: {
        [kind]: {
          async run(timer) {
            await db.pool.query('DELETE FROM timers WHERE id = $1', [timer.id]);
            seen.add(timer.id);
          },
        },
      },
    });
    return { worker, counter, pool };
  }

  /** Schedules a due step in a transaction of its own: its commit wakes the worker of `pool`. */
  const schedule = (kind: string, i: number, pool = db.pool) =>
    withTransaction(pool, (tx) =>
      scheduleTimer(
        tx,
        { tenant: 'clinic-a', kind, dueAt: new Date(0), lane: 'local', payload: { i } },
        new Date(),
      ),
    );

  it('runs every step with its lane full: a finishing step claims the next', async () => {
    const kind = 'test.claims.full';
    const ids: number[] = [];
    for (let i = 0; i < 7; i++) ids.push(await schedule(kind, i));
    const seen = new Set<number>();
    const { worker } = startCounting(kind, seen);
    try {
      await waitFor(() => (seen.size === 7 ? true : undefined), { what: 'seven steps through two slots' });
    } finally {
      await worker.stop();
    }
    expect([...seen].sort()).toEqual([...ids].sort());
  });

  it("one claim, in the step's own lane, for a step a commit made due; none after it finishes", async () => {
    const kind = 'test.claims.quiet';
    const seen = new Set<number>();
    const { worker, counter, pool } = startCounting(kind, seen);
    try {
      await waitFor(() => (counter.claims >= 2 ? true : undefined), { what: 'the claims at start' });
      const first = await schedule(kind, 0, pool);
      await waitFor(() => (seen.has(first) ? true : undefined), { what: 'the first step' });
      const before = counter.claims;
      const lanesBefore = counter.lanes.length;
      for (const i of [1, 2]) {
        const id = await schedule(kind, i, pool);
        await waitFor(() => (seen.has(id) ? true : undefined), { what: `step ${i}` });
      }
      // Each commit wakes its step's lane once (not the payer lane: it would find nothing); that claim took one step
      // of two free slots, so nothing more.
      expect(counter.claims - before).toBe(2);
      expect(counter.lanes.slice(lanesBefore)).toEqual(['local', 'local']);
    } finally {
      await worker.stop();
    }
  });
});
