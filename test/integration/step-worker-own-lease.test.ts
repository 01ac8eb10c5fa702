/**
 * A step whose lease runs out while it still runs in THIS process (the machine starved, the embedded database busy
 * with another transaction, so no renewal landed in time) comes due again, and the same worker claims it. It must
 * not start a second run beside the first: the two would race over one case. CI once saw a case end `failed` in a
 * gateway restarted under heavy load, with 2 s leases; this is the smallest form of that race.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { systemClock } from '../../src/clock.ts';
import { createLogger } from '../../src/log/logger.ts';
import { type Database, scheduleTimer } from '../../src/store/index.ts';
import { startStepWorker } from '../../src/workers/step-worker.ts';
import { openTestDatabase, testDatabaseKind } from '../helpers/database.ts';
import { waitFor } from '../helpers/store.ts';

describe(`step worker: its own step past its lease (${testDatabaseKind()})`, () => {
  let db: Database;
  beforeAll(async () => {
    db = await openTestDatabase();
  });
  afterAll(async () => {
    await db?.close();
  });

  it('claims it again to keep the lease but never runs it twice at once', async () => {
    const id = await scheduleTimer(
      db.pool,
      { tenant: 'clinic-a', kind: 'test.slow-step', dueAt: new Date(), lane: 'local' },
      new Date(),
    );
    const attempts = async () =>
      (await db.pool.query<{ attempts: number }>('SELECT attempts FROM timers WHERE id = $1', [id])).rows[0]
        ?.attempts ?? 0;
    let runs = 0;
    let running = 0;
    let mostAtOnce = 0;
    const worker = startStepWorker({
      pool: db.pool,
      clock: systemClock,
      logger: createLogger({ level: 'silent' }),
      intervalMs: 20,
      leaseMs: 200,
      renewEveryMs: 3_600_000, // no renewal lands: the lease runs out while the step runs
      kinds: {
        'test.slow-step': {
          async run() {
            runs++;
            running++;
            mostAtOnce = Math.max(mostAtOnce, running);
            try {
              // Hold the step until the worker has claimed it again (its lease ran out and it came due).
              await waitFor(async () => ((await attempts()) >= 3 ? true : undefined), {
                timeoutMs: 60_000,
                what: 'the worker to claim its own running step again',
              });
              await db.pool.query('DELETE FROM timers WHERE id = $1', [id]);
            } finally {
              running--;
            }
          },
        },
      },
    });
    try {
      await waitFor(async () => ((await attempts()) === 0 && runs > 0 && running === 0 ? true : undefined), {
        timeoutMs: 60_000,
        what: 'the step to finish',
      });
    } finally {
      await worker.stop();
    }
    expect(mostAtOnce).toBe(1);
    expect(runs).toBe(1);
  });
});
