/**
 * Shared wiring of the embedded bus tests (bus-embedded-groups.test.ts, bus-embedded-publish.test.ts): the test
 * file's own database (PGlite, or a schema on PostgreSQL with DATABASE_URL), a bus on it with short polls, leases and
 * backoff, and a batch of keyed messages.
 *
 * Each test file calls useBusDatabase() at its top. The exported `db` is bound by its beforeAll: read it inside tests
 * only.
 */
import { afterAll, beforeAll } from 'vitest';
import { createEmbeddedBus } from '../../src/bus/embedded/embedded-bus.ts';
import { createLogger } from '../../src/log/logger.ts';
import type { Database } from '../../src/store/index.ts';
import { openTestDatabase } from '../helpers/database.ts';
import { uniqueName } from '../helpers/kafka.ts';

export const logger = createLogger({ level: 'silent' });
export let db: Database;

/** Opens the file's database before its tests and closes it after. */
export function useBusDatabase(): void {
  beforeAll(async () => {
    db = await openTestDatabase({ poolSize: 12 });
  });
  afterAll(async () => {
    await db?.close();
  });
}

export async function newBus(
  options: { leaseTtlMs?: number; topics?: Array<{ name: string; partitions: number }> } = {},
) {
  return createEmbeddedBus({
    pool: db.pool,
    logger,
    deadLetterTopic: uniqueName('dlq'),
    topics: options.topics,
    pollIntervalMs: 50,
    leaseTtlMs: options.leaseTtlMs ?? 1500,
    backoff: { initialMs: 10, maxMs: 50 },
  });
}

/** `n` messages to `topic`, keyed round-robin over `keys` keys, each with its own pagw-event-id. */
export function messages(topic: string, n: number, keys = 5) {
  return Array.from({ length: n }, (_, i) => ({
    topic,
    key: `key-${i % keys}`,
    value: Buffer.from(JSON.stringify({ i })),
    headers: { 'pagw-event-id': `e-${i}` },
  }));
}
