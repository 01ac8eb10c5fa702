/**
 * Group commit (src/store/group-commit.ts, issue #17): work that queues while a batch commits shares the next
 * transaction; one caller's failure is that caller's alone, and the others' work commits exactly once.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createGroupCommit, type Database } from '../../src/store/index.ts';
import { onStoreSignal, raiseAfterCommit } from '../../src/store/signals.ts';
import { openTestDatabase, testDatabaseKind } from '../helpers/database.ts';

describe(`group commit on ${testDatabaseKind()}`, () => {
  let db: Database;
  beforeAll(async () => {
    db = await openTestDatabase();
    await db.pool.query('CREATE TABLE IF NOT EXISTS test_group_commit (tag text NOT NULL, n int NOT NULL)');
  });
  afterAll(() => db?.close());

  const rowsOf = async (tag: string) =>
    (
      await db.pool.query<{ n: number }>('SELECT n FROM test_group_commit WHERE tag = $1 ORDER BY n', [tag])
    ).rows.map((r) => r.n);

  /** A first caller that holds the only batch slot until released, so that the next callers queue. */
  function holdFirst(commits: ReturnType<typeof createGroupCommit>) {
    let release!: () => void;
    const held = new Promise<void>((r) => {
      release = r;
    });
    let started!: () => void;
    const running = new Promise<void>((r) => {
      started = r;
    });
    const first = commits.run(async (tx) => {
      started();
      await held;
      return (await tx.query<{ id: string }>('SELECT txid_current()::text AS id')).rows[0]!.id;
    });
    return { first, running, release };
  }

  it('callers that queue while a batch commits share the next transaction and get their own results', async () => {
    const commits = createGroupCommit(db.pool, { maxBatchesInFlight: 1 });
    const { first, running, release } = holdFirst(commits);
    await running;
    const queued = [1, 2, 3, 4, 5].map((n) =>
      commits.run(async (tx) => {
        await tx.query('INSERT INTO test_group_commit (tag, n) VALUES ($1, $2)', ['shared', n]);
        const { rows } = await tx.query<{ id: string }>('SELECT txid_current()::text AS id');
        return { n, txid: rows[0]!.id };
      }),
    );
    expect(commits.stats()).toEqual({ queued: 5, inFlight: 1 });
    release();
    const firstTx = await first;
    const results = await Promise.all(queued);
    expect(results.map((r) => r.n)).toEqual([1, 2, 3, 4, 5]);
    expect(new Set(results.map((r) => r.txid)).size).toBe(1);
    expect(results[0]!.txid).not.toBe(firstTx);
    expect(await rowsOf('shared')).toEqual([1, 2, 3, 4, 5]);
    expect(commits.stats()).toEqual({ queued: 0, inFlight: 0 });
  });

  it('a caller whose work fails gets its error; the others commit, each once', async () => {
    const commits = createGroupCommit(db.pool, { maxBatchesInFlight: 1 });
    const { first, running, release } = holdFirst(commits);
    await running;
    let runsOfOne = 0;
    const outcomes = [1, 2, 3, 4].map((n) =>
      commits.run(async (tx) => {
        if (n === 1) runsOfOne++;
        if (n === 3) {
          // A failing statement aborts the shared transaction, undoing 1 and 2 as well.
          await tx.query('INSERT INTO test_group_commit (tag, n) VALUES ($1, NULL)', ['failing']);
        }
        await tx.query('INSERT INTO test_group_commit (tag, n) VALUES ($1, $2)', ['failing', n]);
        return n;
      }),
    );
    release();
    await first;
    const settled = await Promise.allSettled(outcomes);
    expect(settled.map((s) => s.status)).toEqual(['fulfilled', 'fulfilled', 'rejected', 'fulfilled']);
    expect((settled[2] as PromiseRejectedResult).reason).toMatchObject({ code: '23502' }); // not-null violation
    expect(await rowsOf('failing')).toEqual([1, 2, 4]);
    expect(runsOfOne).toBe(2); // ran, was rolled back with the batch, ran again
  });

  it('signals raised in the work come after the shared commit, once it is visible', async () => {
    const commits = createGroupCommit(db.pool);
    const seen: number[][] = [];
    const off = onStoreSignal(db.pool, 'outbox', () => {
      void rowsOf('signal').then((rows) => seen.push(rows));
    });
    try {
      await commits.run(async (tx) => {
        await tx.query('INSERT INTO test_group_commit (tag, n) VALUES ($1, 1)', ['signal']);
        raiseAfterCommit(tx, 'outbox');
      });
      await expect.poll(() => seen.length).toBeGreaterThan(0);
    } finally {
      off();
    }
    expect(seen[0]).toEqual([1]);
  });
});
