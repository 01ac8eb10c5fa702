/**
 * The embedded bus survives its process: a consumer process killed (SIGKILL) in the middle of its work and
 * started again on the same database loses nothing and duplicates nothing. On PGlite the database is a data
 * directory (only one process may hold it, so orders are written before the process starts); on PostgreSQL a
 * schema of its own.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { createEmbeddedBus } from '../../src/bus/embedded/embedded-bus.ts';
import { createLogger } from '../../src/log/logger.ts';
import { type Database, OutboxHeader, openStore } from '../../src/store/index.ts';
import { caseIdOfOrder, orderMessage, startWorker, type WorkerProcess } from '../helpers/bus-scenario.ts';
import { cleanEnv, databaseUrlOf } from '../helpers/cli.ts';
import { openTestDatabase, testDatabaseKind } from '../helpers/database.ts';
import { uniqueName } from '../helpers/kafka.ts';
import { waitFor } from '../helpers/store.ts';

const logger = createLogger({ level: 'silent' });
const ORDERS = 120;

describe(`embedded bus across a process crash and restart (${testDatabaseKind()})`, () => {
  const workers: WorkerProcess[] = [];
  const dirs: string[] = [];
  afterAll(() => {
    for (const w of workers) if (w.child.exitCode === null) w.child.kill('SIGKILL');
    for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
  });

  it('a restarted process resumes from the committed offsets: every order once, every event once', async () => {
    const group = uniqueName('orders');
    const orders = Array.from({ length: ORDERS }, (_, i) => ({
      tenant: 'clinic-a',
      orderId: `${group}-${i}`,
    }));
    let open: () => Promise<Database>;
    let env: NodeJS.ProcessEnv;
    let testDb: Database | undefined;
    if (testDatabaseKind() === 'postgres') {
      testDb = await openTestDatabase();
      const shared = testDb;
      open = async () => shared;
      env = cleanEnv({ DATABASE_URL: databaseUrlOf(shared) });
    } else {
      const dir = mkdtempSync(path.join(tmpdir(), 'pagw-restart-'));
      dirs.push(dir);
      open = () => openStore({ dataDir: dir });
      env = cleanEnv({ DATA_DIR: dir });
    }
    env = { ...env, WORKER_GROUP: group, WORKER_HANDLER_DELAY_MS: '10' };

    const before = await open();
    const bus = await createEmbeddedBus({ pool: before.pool, logger, deadLetterTopic: 'pa.deadletter.v1' });
    await bus.publish(orders.map((o) => orderMessage('pa.orders.hl7v2', o)));
    await bus.close();
    if (before !== testDb) await before.close();

    const first = startWorker(env);
    workers.push(first);
    await first.ready();
    await waitFor(() => first.handled.length >= 30, { timeoutMs: 60_000, what: 'first process at work' });
    first.child.kill('SIGKILL');
    await first.exited();

    const second = startWorker(env);
    workers.push(second);
    await second.ready();
    const all = new Set(orders.map((o) => o.orderId));
    await waitFor(() => [...all].every((id) => first.handled.includes(id) || second.handled.includes(id)), {
      timeoutMs: 60_000,
      what: 'every order handled by one of the two processes',
    });
    // Let the relay drain, then stop it cleanly.
    const db = testDb ?? undefined;
    if (db) {
      await waitFor(
        async () =>
          (await db.pool.query('SELECT count(*)::int AS n FROM outbox WHERE published_at IS NULL')).rows[0]
            .n === 0,
        { what: 'outbox drained' },
      );
    }
    second.child.kill('SIGTERM');
    expect(await second.exited()).toBe(0);

    const after = await open();
    try {
      const cases = await after.pool.query<{ id: string }>('SELECT id FROM cases');
      expect(new Set(cases.rows.map((r) => r.id))).toEqual(new Set(orders.map(caseIdOfOrder)));
      expect(cases.rows).toHaveLength(ORDERS);
      const unpublished = await after.pool.query(
        'SELECT count(*)::int AS n FROM outbox WHERE published_at IS NULL',
      );
      expect(unpublished.rows[0].n).toBe(0);
      const events = await after.pool.query<{ headers: Record<string, string> }>(
        `SELECT headers FROM bus_log WHERE topic = 'pa.status.v1'`,
      );
      const eventIds = events.rows.map((r) => r.headers[OutboxHeader.eventId]);
      expect(new Set(eventIds).size).toBe(eventIds.length);
      expect(new Set(events.rows.map((r) => r.headers[OutboxHeader.caseId]))).toEqual(
        new Set(orders.map(caseIdOfOrder)),
      );
      const redelivered = first.handled.filter((id) => second.handled.includes(id)).length;
      console.log(
        `[bus-embedded-restart] first handled ${first.handled.length} before SIGKILL, second ${second.handled.length}, redelivered ${redelivered}`,
      );
    } finally {
      await after.close();
    }
  }, 900_000);
});
