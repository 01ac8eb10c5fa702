/**
 * Durable timers (SLA deadlines, payer follow-ups, retries). A timer is claimed with FOR UPDATE SKIP LOCKED
 * and fired in the same transaction as its handler's writes, so two workers racing for it fire it once.
 */
import type pg from 'pg';
import { type Tx, withTransaction } from './sql.ts';

export interface TimerSpec {
  tenant: string;
  caseId?: string;
  kind: string;
  dueAt: Date;
  payload?: Record<string, unknown>;
}

export interface DueTimer {
  id: number;
  tenant: string;
  caseId: string | null;
  kind: string;
  dueAt: Date;
  payload: Record<string, unknown>;
}

export async function scheduleTimer(tx: Pick<Tx, 'query'>, spec: TimerSpec, at: Date): Promise<number> {
  const { rows } = await tx.query<{ id: number }>(
    `INSERT INTO timers (tenant_id, case_id, kind, due_at, payload, created_at) VALUES ($1, $2, $3, $4, $5, $6) RETURNING id`,
    [spec.tenant, spec.caseId ?? null, spec.kind, spec.dueAt, spec.payload ?? {}, at],
  );
  return rows[0]!.id;
}

/** Cancels a case's pending timers of the given kinds (e.g. the SLA timer once the case is decided). */
export async function cancelTimers(
  tx: Pick<Tx, 'query'>,
  caseId: string,
  kinds: readonly string[],
  at: Date,
): Promise<number> {
  const result = await tx.query(
    `UPDATE timers SET cancelled_at = $3
      WHERE case_id = $1 AND kind = ANY($2) AND fired_at IS NULL AND cancelled_at IS NULL`,
    [caseId, kinds, at],
  );
  return result.rowCount ?? 0;
}

/** A failed timer waits 2^attempts seconds (capped at 15 minutes) before its next try. */
async function postponeFailedTimer(pool: pg.Pool, id: number, now: Date, error: unknown): Promise<void> {
  const reason =
    error instanceof Error ? `${error.name}: ${(error as { code?: string }).code ?? ''}`.trim() : 'error';
  await pool
    .query(
      `UPDATE timers SET attempts = attempts + 1, last_error = $3,
              due_at = $2::timestamptz + make_interval(secs => least(900, power(2, attempts)))
        WHERE id = $1 AND fired_at IS NULL`,
      [id, now, reason],
    )
    .catch(() => {}); // best effort: the timer stays due and is retried on the next poll anyway
}

export type TimerHandler = (tx: Tx, timer: DueTimer) => Promise<void>;

/**
 * Fires timers due at `now`, one transaction each: claim (skipping rows another worker holds), run the
 * handler, mark fired. A handler that throws rolls its timer back for a later attempt.
 * Returns how many timers fired.
 */
export async function fireDueTimers(
  pool: pg.Pool,
  options: {
    now: Date;
    workerId: string;
    limit: number;
    /** Only timers of these kinds (other kinds belong to other workers); all kinds when absent. */
    kinds?: readonly string[];
    handler: TimerHandler;
    onError?: (timer: DueTimer, error: unknown) => void;
  },
): Promise<number> {
  let fired = 0;
  const failed: number[] = [];
  while (fired + failed.length < options.limit) {
    let claimed: DueTimer | undefined;
    try {
      const done = await withTransaction(pool, async (tx) => {
        const { rows } = await tx.query<{
          id: number;
          tenant_id: string;
          case_id: string | null;
          kind: string;
          due_at: Date;
          payload: Record<string, unknown>;
        }>(
          `SELECT id, tenant_id, case_id, kind, due_at, payload FROM timers
            WHERE fired_at IS NULL AND cancelled_at IS NULL AND due_at <= $1 AND NOT (id = ANY($2))
              AND ($3::text[] IS NULL OR kind = ANY($3))
            ORDER BY due_at, id LIMIT 1 FOR UPDATE SKIP LOCKED`,
          [options.now, failed, options.kinds ?? null],
        );
        const row = rows[0];
        if (!row) return false;
        claimed = {
          id: row.id,
          tenant: row.tenant_id,
          caseId: row.case_id,
          kind: row.kind,
          dueAt: row.due_at,
          payload: row.payload,
        };
        await options.handler(tx, claimed);
        await tx.query('UPDATE timers SET fired_at = $2, fired_by = $3 WHERE id = $1', [
          row.id,
          options.now,
          options.workerId,
        ]);
        return true;
      });
      if (!done) break;
      fired++;
    } catch (error) {
      if (!claimed) throw error;
      failed.push(claimed.id);
      options.onError?.(claimed, error);
      await postponeFailedTimer(pool, claimed.id, options.now, error);
    }
  }
  return fired;
}

/**
 * Claims due timers for work done OUTSIDE a database transaction (payer calls, e-mail): each claimed timer's
 * due time moves `leaseMs` ahead, so if the worker dies mid-step the timer comes due again and another
 * worker re-runs the step. Steps must therefore be idempotent (payer submissions reconcile by trace number).
 */
export async function claimDueTimers(
  pool: pg.Pool,
  options: { now: Date; workerId: string; leaseMs: number; limit: number; kinds: readonly string[] },
): Promise<Array<DueTimer & { attempts: number }>> {
  const { rows } = await pool.query<{
    id: number;
    tenant_id: string;
    case_id: string | null;
    kind: string;
    due_at: Date;
    payload: Record<string, unknown>;
    attempts: number;
  }>(
    `UPDATE timers SET due_at = $2::timestamptz + make_interval(secs => $3::double precision / 1000),
            attempts = attempts + 1, fired_by = $4
      WHERE id IN (SELECT id FROM timers
                    WHERE fired_at IS NULL AND cancelled_at IS NULL AND due_at <= $2 AND kind = ANY($5)
                    ORDER BY due_at, id LIMIT $1 FOR UPDATE SKIP LOCKED)
      RETURNING id, tenant_id, case_id, kind, due_at, payload, attempts`,
    [options.limit, options.now, options.leaseMs, options.workerId, options.kinds],
  );
  return rows.map((row) => ({
    id: row.id,
    tenant: row.tenant_id,
    caseId: row.case_id,
    kind: row.kind,
    dueAt: row.due_at,
    payload: row.payload,
    attempts: row.attempts,
  }));
}

/** Marks a claimed timer done; call it inside the transaction that records the step's result. */
export async function completeTimer(tx: Pick<Tx, 'query'>, id: number, at: Date): Promise<void> {
  await tx.query('UPDATE timers SET fired_at = $2 WHERE id = $1', [id, at]);
}

/** Puts a claimed timer back for another try at `dueAt` (after a transient failure), keeping its attempt count. */
export async function retryTimerAt(
  sql: Pick<Tx, 'query'>,
  id: number,
  dueAt: Date,
  reason: string,
): Promise<void> {
  await sql.query('UPDATE timers SET due_at = $2, last_error = $3 WHERE id = $1 AND fired_at IS NULL', [
    id,
    dueAt,
    reason,
  ]);
}
