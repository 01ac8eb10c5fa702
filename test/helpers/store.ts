import type pg from 'pg';
import type { Actor } from '../../src/audit/audit-log.ts';
import type { AuthorizationRequest } from '../../src/canonical/index.ts';
import { type CaseRecord, createCase, withTransaction } from '../../src/store/index.ts';
import { sampleRequest } from './fixtures.ts';

export const testActor: Actor = { id: 'system:test', onBehalfOf: 'tenant:clinic-a' };

let counter = 0;
export async function insertSampleCase(
  pool: pg.Pool,
  overrides: Partial<AuthorizationRequest> = {},
  at = new Date('2026-03-01T10:00:00.000Z'),
): Promise<CaseRecord> {
  counter++;
  const request = sampleRequest({
    idempotencyKey: `test:${process.pid}:${Date.now()}:${counter}`,
    ...overrides,
  });
  const result = await withTransaction(pool, (tx) => createCase(tx, { request, actor: testActor, at }));
  return result.case;
}

export async function countRows(
  pool: pg.Pool,
  table: string,
  where = 'true',
  params: unknown[] = [],
): Promise<number> {
  const { rows } = await pool.query<{ n: number }>(
    `SELECT count(*)::int AS n FROM ${table} WHERE ${where}`,
    params,
  );
  return rows[0]!.n;
}

/**
 * A deadline is a last guard against a hang, never a measurement: on a busy machine (CI checks with a busy loop
 * holding a core) a process start or a payer round trip can take many times longer than on a quiet one, so no
 * wait gives up before this.
 */
export const MIN_WAIT_DEADLINE_MS = 240_000;

/** Polls `check` until it returns a truthy value or the deadline (at least MIN_WAIT_DEADLINE_MS) passes. */
export async function waitFor<T>(
  check: () => Promise<T> | T,
  options: { timeoutMs?: number; intervalMs?: number; what?: string } = {},
): Promise<NonNullable<T>> {
  const deadline = Date.now() + Math.max(options.timeoutMs ?? 0, MIN_WAIT_DEADLINE_MS);
  let last: unknown;
  for (;;) {
    try {
      const value = await check();
      if (value) return value as NonNullable<T>;
      last = value;
    } catch (error) {
      last = error;
    }
    if (Date.now() > deadline)
      throw new Error(`timed out waiting for ${options.what ?? 'condition'} (last: ${String(last)})`);
    await new Promise((resolve) => setTimeout(resolve, options.intervalMs ?? 50));
  }
}
