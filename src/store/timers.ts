/**
 * Durable timers (SLA deadlines, workflow steps, payer follow-ups, retries). Two ways to run one:
 * - fireDueTimers: claimed with FOR UPDATE SKIP LOCKED and fired in the same transaction as its handler's writes,
 *   so two workers racing for it fire it once (lane 'timer').
 * - claimDueTimers: leased for work done outside a transaction (payer calls); the holder renews the lease while
 *   the step runs (renewLeases), so a short lease is safe and a crashed holder's steps resume within seconds.
 * Each lane is claimed oldest first (ORDER BY due_at, id, served by the index timers_claim, migration 0007).
 *
 * A timer is a queue entry, not a record: it is deleted when it fires, completes or is cancelled (the case's events
 * and audit rows say what happened), so the table holds only open timers and no fired rows pile up behind the claim
 * index (issue #17; migration 0018 removed the ones kept before).
 */
import type pg from 'pg';
import { type CaseRecord, joinedCaseColumns, joinedCaseRecord } from './cases.ts';
import { raiseAfterCommit } from './signals.ts';
import { queryMaybeLast, type Tx, withTransaction } from './sql.ts';
import type { Statement } from './together.ts';

/**
 * Which worker runs a timer: 'timer' = the timer worker, inside a transaction; 'payer' = a step that may call a
 * payer; 'local' = a step that only writes the database. Database-only steps have slots of their own, so they
 * never wait behind payer calls.
 */
export type TimerLane = 'timer' | 'payer' | 'local';

export interface TimerSpec {
  tenant: string;
  caseId?: string;
  kind: string;
  dueAt: Date;
  payload?: Record<string, unknown>;
  /** Default 'timer'. */
  lane?: TimerLane;
}

export interface DueTimer {
  id: number;
  tenant: string;
  caseId: string | null;
  kind: string;
  dueAt: Date;
  payload: Record<string, unknown>;
}

/** A timer as its table holds it (the columns DueTimer is read from). */
interface TimerRow {
  id: number;
  tenant_id: string;
  case_id: string | null;
  kind: string;
  due_at: Date;
  payload: Record<string, unknown>;
}

function insertTimer(spec: TimerSpec, at: Date): Statement {
  return {
    text: `INSERT INTO timers (tenant_id, case_id, kind, due_at, payload, created_at, lane)
     VALUES ($1, $2, $3, $4, $5, $6, $7)`,
    values: [
      spec.tenant,
      spec.caseId ?? null,
      spec.kind,
      spec.dueAt,
      spec.payload ?? {},
      at,
      spec.lane ?? 'timer',
    ],
  };
}

export async function scheduleTimer(tx: Pick<Tx, 'query'>, spec: TimerSpec, at: Date): Promise<number> {
  const insert = insertTimer(spec, at);
  const { rows } = await tx.query<{ id: number }>(`${insert.text} RETURNING id`, [...insert.values]);
  wakeWhenDue(tx, spec, at);
  return rows[0]!.id;
}

/**
 * scheduleTimer as a statement, for a caller that sends it with others (./together.ts) and needs no id back. Like
 * scheduleTimer, a timer due already wakes the workers once the transaction commits.
 */
export function scheduleTimerStatement(tx: Pick<Tx, 'query'>, spec: TimerSpec, at: Date): Statement {
  wakeWhenDue(tx, spec, at);
  return insertTimer(spec, at);
}

/** Due already: wake the worker once this commits, rather than leaving it to its next poll. */
function wakeWhenDue(tx: Pick<Tx, 'query'>, spec: TimerSpec, at: Date): void {
  if (spec.dueAt.getTime() <= at.getTime()) raiseAfterCommit(tx, `due:${spec.lane ?? 'timer'}`);
}

/** Cancels a case's pending timers of the given kinds (e.g. the SLA timer once the case is decided). */
export async function cancelTimers(
  tx: Pick<Tx, 'query'>,
  caseId: string,
  kinds: readonly string[],
  _at: Date,
): Promise<number> {
  const result = await tx.query(
    `DELETE FROM timers WHERE case_id = $1 AND kind = ANY($2) AND fired_at IS NULL AND cancelled_at IS NULL`,
    [caseId, kinds],
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
    /** Default 'timer'. */
    lane?: TimerLane;
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
        const { rows } = await tx.query<TimerRow>(
          `SELECT id, tenant_id, case_id, kind, due_at, payload FROM timers
            WHERE fired_at IS NULL AND cancelled_at IS NULL AND lane = $4 AND due_at <= $1 AND NOT (id = ANY($2))
              AND ($3::text[] IS NULL OR kind = ANY($3))
            ORDER BY due_at, id LIMIT 1 FOR UPDATE SKIP LOCKED`,
          [options.now, failed, options.kinds ?? null, options.lane ?? 'timer'],
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
        await tx.query('DELETE FROM timers WHERE id = $1', [row.id]);
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

/** The claim statement (exported so bench/e2e can EXPLAIN exactly what the step worker runs). */
export const claimDueTimersSql = `UPDATE timers SET due_at = $2::timestamptz + make_interval(secs => $3::double precision / 1000),
            attempts = attempts + 1, fired_by = $4
      WHERE id IN (SELECT id FROM timers
                    WHERE fired_at IS NULL AND cancelled_at IS NULL AND lane = $6 AND due_at <= $2
                      AND kind = ANY($5)
                    ORDER BY due_at, id LIMIT $1 FOR UPDATE SKIP LOCKED)
      RETURNING id, tenant_id, case_id, kind, due_at, payload, attempts`;

export function claimDueTimersParams(options: {
  now: Date;
  workerId: string;
  leaseMs: number;
  limit: number;
  kinds: readonly string[];
  lane?: TimerLane;
}): unknown[] {
  return [
    options.limit,
    options.now,
    options.leaseMs,
    options.workerId,
    options.kinds,
    options.lane ?? 'payer',
  ];
}

/**
 * Claims due timers of one lane for work done OUTSIDE a database transaction (payer calls, e-mail): each claimed
 * timer's due time moves `leaseMs` ahead and names this worker, so if the worker dies mid-step the timer comes due
 * again and another worker re-runs the step. The holder renews the lease while the step runs (renewLeases). Steps
 * must therefore be idempotent (payer submissions reconcile by trace number).
 */
/**
 * The claim, with each claimed step's case read by the same statement (issue #17: a step claim and its case read
 * were two round trips). The case is read as the claim's snapshot has it, as a read right after would.
 */
// The case is found by its id alone (the primary key; OFFSET 0 keeps the planner from merging the subquery), its
// tenant checked after: joined on both, a generic plan took the tenant's index and read every case of the tenant
// for each claim.
const claimDueTimersWithCasesSql = `WITH claimed AS (${claimDueTimersSql})
  SELECT claimed.*, ${joinedCaseColumns('c')}
    FROM claimed LEFT JOIN LATERAL (SELECT * FROM cases WHERE id = claimed.case_id OFFSET 0) c
      ON c.tenant_id = claimed.tenant_id`;

export async function claimDueTimers(
  pool: Pick<pg.Pool, 'query'>,
  options: {
    now: Date;
    workerId: string;
    leaseMs: number;
    limit: number;
    kinds: readonly string[];
    /** Default 'payer'. */
    lane?: TimerLane;
    /** Read each step's case with the claim (`claimedCase`: null when the timer has no case, or it is gone). */
    withCases?: boolean;
  },
): Promise<Array<DueTimer & { attempts: number; claimedCase?: CaseRecord | null }>> {
  const { rows } = await pool.query<TimerRow & { attempts: number } & Record<string, unknown>>(
    options.withCases ? claimDueTimersWithCasesSql : claimDueTimersSql,
    claimDueTimersParams(options),
  );
  return rows.map((row) => ({
    id: row.id,
    tenant: row.tenant_id,
    caseId: row.case_id,
    kind: row.kind,
    dueAt: row.due_at,
    payload: row.payload,
    attempts: row.attempts,
    ...(options.withCases ? { claimedCase: joinedCaseRecord(row) } : {}),
  }));
}

/**
 * Pushes the leases of steps this worker still runs `leaseMs` past `now`, in one statement. Returns the ids it
 * still holds: a timer missing from the answer finished meanwhile, or was taken over after its lease ran out.
 *
 * A timer locked by a transaction in progress is skipped, not waited for: it is a step being completed (or put
 * back for a retry), whose lease needs no renewal. Waiting for it would hold the locks of the others meanwhile; a
 * transaction completing several steps at once and waiting for one of those deadlocked with it (seen while trying
 * group commit, issue #17). A skipped timer still counts as held: it is still ours as far as anything committed says.
 */
export async function renewLeases(
  pool: Pick<pg.Pool, 'query'>,
  options: { ids: readonly number[]; now: Date; leaseMs: number; workerId: string },
): Promise<number[]> {
  if (options.ids.length === 0) return [];
  const { rows } = await pool.query<{ id: number }>(
    `WITH free AS (
       SELECT id FROM timers
        WHERE id = ANY($1::bigint[]) AND fired_at IS NULL AND cancelled_at IS NULL AND fired_by = $4
        FOR UPDATE SKIP LOCKED),
     renewed AS (
       UPDATE timers SET due_at = $2::timestamptz + make_interval(secs => $3::double precision / 1000)
        WHERE id IN (SELECT id FROM free)
        RETURNING id)
     SELECT id FROM renewed
     UNION
     SELECT id FROM timers
      WHERE id = ANY($1::bigint[]) AND fired_at IS NULL AND cancelled_at IS NULL AND fired_by = $4`,
    [options.ids, options.now, options.leaseMs, options.workerId],
  );
  return rows.map((r) => r.id);
}

/** The backlog count (exported so a test can check which index it may read). */
export const countDueStepsSql = `SELECT lane, count(*)::int AS n FROM timers
      WHERE fired_at IS NULL AND cancelled_at IS NULL AND lane IN ('payer', 'local') AND due_at <= $1 GROUP BY lane`;

/**
 * Steps due and not claimed yet, per lane: the queue in front of the step worker (metric pagw_steps_due, and the
 * backlog intake's back-pressure watches: src/inbound/admission.ts).
 */
export async function countDueSteps(
  sql: Pick<pg.Pool, 'query'>,
  now: Date,
): Promise<Record<Exclude<TimerLane, 'timer'>, number>> {
  const { rows } = await sql.query<{ lane: 'payer' | 'local'; n: number }>(countDueStepsSql, [now]);
  const due = { payer: 0, local: 0 };
  for (const row of rows) due[row.lane] = row.n;
  return due;
}

/**
 * Makes every leased step due now: for a process that knows no other worker can be alive (the embedded database,
 * whose data directory it has locked), so the steps a crashed predecessor held resume at once instead of after
 * their lease. Returns how many were released.
 */
export async function releaseAllLeases(pool: Pick<pg.Pool, 'query'>, now: Date): Promise<number> {
  const result = await pool.query(
    `UPDATE timers SET due_at = $1, fired_by = NULL
      WHERE fired_at IS NULL AND cancelled_at IS NULL AND lane <> 'timer' AND fired_by IS NOT NULL AND due_at > $1`,
    [now],
  );
  return result.rowCount ?? 0;
}

/**
 * Payload flag of a step (always a database-only one, lane 'local') that waits for its case's events to be published (a `decided` case becomes `delivered`
 * then). The outbox relay makes such timers due the moment it publishes the case's events
 * (wakeTimersAwaitingPublication), so the step's own due time is only a fallback.
 */
export const AWAITING_PUBLICATION = 'awaitingPublication';

/**
 * The outbox relay's mark: marks `rows` published at `at` and, in the same statement, makes due at `at` the open,
 * unleased timers of their cases that wait for publication. Returns how many timers it woke.
 */
export async function markPublishedAndWake(
  sql: Pick<Tx, 'query'>,
  rows: ReadonlyArray<{ id: number; case_id: string | null }>,
  at: Date,
  options: { thenCommit?: boolean } = {},
): Promise<number> {
  const writes = markPublishedAndWakeWrites(rows, at);
  const result = await queryMaybeLast<{ woken: number }>(
    sql,
    `WITH ${writes.ctes} SELECT ${writes.result} AS woken`,
    [...writes.values],
    options,
  );
  return result.rows[0]?.woken ?? 0;
}

/**
 * markPublishedAndWake's writes, to send with an embedded bus append (TransactionalPublisher's
 * publishLastInTransaction): the CTEs `marked` and `woken`, and the count of timers woken as the result.
 */
export function markPublishedAndWakeWrites(
  rows: ReadonlyArray<{ id: number; case_id: string | null }>,
  at: Date,
): { ctes: string; values: unknown[]; result: string } {
  // The cases as a parameter, not a join with the marked rows (that made the planner walk every open timer once per
  // marked row: ~200 ms a batch under a backlog); and the lane and due time, so the claim index bounds the scan to
  // the database-only steps due later (those waiting here, and leased ones) even without table statistics.
  const caseIds = [...new Set(rows.map((r) => r.case_id).filter((c): c is string => c !== null))];
  return {
    ctes: `marked AS (
       UPDATE outbox SET published_at = $2, attempts = attempts + 1, last_error = NULL
        WHERE id = ANY($1::bigint[]) AND published_at IS NULL),
     woken AS (
       UPDATE timers SET due_at = $2
        WHERE case_id = ANY($4::uuid[]) AND lane = 'local' AND due_at > $2
          AND fired_at IS NULL AND cancelled_at IS NULL AND fired_by IS NULL
          AND payload @> jsonb_build_object($3::text, true)
       RETURNING id)`,
    values: [rows.map((r) => r.id), at, AWAITING_PUBLICATION, caseIds],
    result: '(SELECT count(*)::int FROM woken)',
  };
}

/** Marks a claimed timer done; call it inside the transaction that records the step's result. */
export async function completeTimer(tx: Pick<Tx, 'query'>, id: number, _at: Date): Promise<void> {
  const statement = completeTimerStatement(id);
  await tx.query(statement.text, [...statement.values]);
}

/** completeTimer as a statement, to send with others (./together.ts). */
export function completeTimerStatement(id: number): Statement {
  return { text: 'DELETE FROM timers WHERE id = $1', values: [id] };
}

/**
 * Puts a claimed timer back for another try at `dueAt` (after a transient failure), keeping its attempt count.
 * It is no longer leased: no worker holds it until it is claimed again.
 */
export async function retryTimerAt(
  sql: Pick<Tx, 'query'>,
  id: number,
  dueAt: Date,
  reason: string,
): Promise<void> {
  await sql.query(
    'UPDATE timers SET due_at = $2, last_error = $3, fired_by = NULL WHERE id = $1 AND fired_at IS NULL',
    [id, dueAt, reason],
  );
}
