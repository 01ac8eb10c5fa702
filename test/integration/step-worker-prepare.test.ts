/**
 * A step kind's prepare reads what one claim's steps need in one go (the case advancer: their cases, issue #17).
 * The worker calls it once per claim with the claimed timers and hands each step its part; a failed prepare leaves
 * the steps to run without it, never stuck.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { systemClock } from '../../src/clock.ts';
import { createLogger } from '../../src/log/logger.ts';
import { type Database, getCase, scheduleTimer } from '../../src/store/index.ts';
import { type ClaimedTimer, startStepWorker } from '../../src/workers/step-worker.ts';
import { openTestDatabase, testDatabaseKind } from '../helpers/database.ts';
import { insertSampleCase, waitFor } from '../helpers/store.ts';

describe(`step worker: prepare once per claim (${testDatabaseKind()})`, () => {
  let db: Database;
  beforeAll(async () => {
    db = await openTestDatabase();
  });
  afterAll(async () => {
    await db?.close();
  });

  async function scheduleSteps(kind: string, n: number): Promise<number[]> {
    const ids: number[] = [];
    for (let i = 0; i < n; i++)
      ids.push(
        await scheduleTimer(
          db.pool,
          { tenant: 'clinic-a', kind, dueAt: new Date(0), lane: 'local', payload: { i } },
          new Date(),
        ),
      );
    return ids;
  }

  async function runAll(
    kind: string,
    prepare: (timers: readonly ClaimedTimer[]) => Promise<Map<number, string>>,
  ) {
    const seen = new Map<number, string | undefined>();
    const batches: number[][] = [];
    const worker = startStepWorker({
      pool: db.pool,
      clock: systemClock,
      logger: createLogger({ level: 'silent' }),
      intervalMs: 3_600_000, // the first poll at start claims every step scheduled before: one claim
      concurrency: { local: 16 },
      kinds: {
        [kind]: {
          async prepare(timers) {
            batches.push(timers.map((t) => t.id));
            return prepare(timers);
          },
          async run(timer, prepared) {
            seen.set(timer.id, prepared as string | undefined);
            await db.pool.query('DELETE FROM timers WHERE id = $1', [timer.id]);
          },
        },
      },
    });
    return { worker, seen, batches };
  }

  it('calls prepare once with every claimed step and hands each step its own part', async () => {
    const ids = await scheduleSteps('test.prepared', 5);
    const { worker, seen, batches } = await runAll('test.prepared', async (timers) => {
      return new Map(timers.map((t) => [t.id, `for ${t.payload.i}`]));
    });
    try {
      await waitFor(async () => (seen.size === 5 ? true : undefined), {
        timeoutMs: 60_000,
        what: 'five steps',
      });
    } finally {
      await worker.stop();
    }
    expect(batches).toHaveLength(1);
    expect([...batches[0]!].sort()).toEqual([...ids].sort());
    expect(ids.map((id) => seen.get(id))).toEqual(['for 0', 'for 1', 'for 2', 'for 3', 'for 4']);
  });

  it('a prepare that fails leaves the steps to run without it', async () => {
    const ids = await scheduleSteps('test.prepare-fails', 3);
    const { worker, seen } = await runAll('test.prepare-fails', async () => {
      throw new Error('database went away');
    });
    try {
      await waitFor(async () => (seen.size === 3 ? true : undefined), {
        timeoutMs: 60_000,
        what: 'three steps',
      });
    } finally {
      await worker.stop();
    }
    expect(ids.map((id) => seen.has(id) && seen.get(id) === undefined)).toEqual([true, true, true]);
  });

  it('a kind that reads cases gets each step’s case from the claim itself: the case as stored, null without one', async () => {
    const record = await insertSampleCase(db.pool);
    const at = new Date();
    const own = await scheduleTimer(
      db.pool,
      {
        tenant: record.tenant,
        caseId: record.id,
        kind: 'test.reads-case',
        dueAt: new Date(0),
        lane: 'local',
      },
      at,
    );
    // A timer naming the case under another tenant must not see it; one without a case sees none.
    const foreign = await scheduleTimer(
      db.pool,
      {
        tenant: 'another-clinic',
        caseId: record.id,
        kind: 'test.reads-case',
        dueAt: new Date(0),
        lane: 'local',
      },
      at,
    );
    const none = await scheduleTimer(
      db.pool,
      { tenant: record.tenant, kind: 'test.reads-case', dueAt: new Date(0), lane: 'local' },
      at,
    );
    const claimed = new Map<number, ClaimedTimer>();
    const worker = startStepWorker({
      pool: db.pool,
      clock: systemClock,
      logger: createLogger({ level: 'silent' }),
      intervalMs: 3_600_000,
      concurrency: { local: 16 },
      kinds: {
        'test.reads-case': {
          readsCase: true,
          async run(timer) {
            claimed.set(timer.id, timer);
            await db.pool.query('DELETE FROM timers WHERE id = $1', [timer.id]);
          },
        },
      },
    });
    try {
      await waitFor(async () => (claimed.size === 3 ? true : undefined), { what: 'three steps' });
    } finally {
      await worker.stop();
    }
    expect(claimed.get(own)!.claimedCase).toEqual(await getCase(db.pool, record.tenant, record.id));
    expect(claimed.get(own)).toMatchObject({ tenant: record.tenant, caseId: record.id });
    expect(claimed.get(foreign)!.claimedCase).toBeNull();
    expect(claimed.get(foreign)).toMatchObject({ tenant: 'another-clinic', caseId: record.id });
    expect(claimed.get(none)!.claimedCase).toBeNull();
  });
});
