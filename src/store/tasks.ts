/**
 * The exception queue's store (migration 0014): tasks on cases, opened, claimed, assigned and closed inside the
 * caller's transaction together with their audit row and their outbox events (the task event, and for a task to
 * the ordering provider its FHIR Task, HL7 v2 message and e-mail). Every change moves the task's version, so a
 * screen showing an old task is refused (PAGW_TASK_VERSION_CONFLICT), like a stale case.
 */
import { randomUUID } from 'node:crypto';
import type { Actor, AuditEntry } from '../audit/audit-log.ts';
import { appendAudit } from '../audit/audit-log.ts';
import { GatewayError, NotFoundError } from '../errors/index.ts';
import {
  type NeededItem,
  openTaskStates,
  type TaskKind,
  type TaskPriority,
  type TaskSpec,
  type TaskState,
} from '../workflow/tasks/tasks.ts';
import { uuidPattern } from './ids.ts';
import { insertOutboxMessages, type OutboxMessage } from './outbox.ts';
import { planEachRun } from './prepared-statements.ts';
import type { Sql, Tx } from './sql.ts';

export interface TaskRecord {
  readonly id: string;
  readonly tenant: string;
  readonly caseId: string;
  readonly kind: TaskKind;
  readonly state: TaskState;
  readonly reasonCodes: string[];
  readonly needed: NeededItem[];
  readonly ownerRole: string;
  readonly assignee: string | null;
  readonly priority: TaskPriority;
  readonly dueAt: Date | null;
  readonly dedupeKey: string;
  readonly details: Record<string, unknown>;
  readonly version: number;
  readonly createdAt: Date;
  readonly updatedAt: Date;
  readonly closedAt: Date | null;
  readonly closedBy: string | null;
  readonly resolution: Record<string, unknown> | null;
}

/** What happened to a task: the `change` of its task event and the suffix of its audit action. */
export type TaskChange =
  | 'opened'
  | 'escalated'
  | 'claimed'
  | 'assigned'
  | 'released'
  | 'resolved'
  | 'cancelled';

const columns = `id, tenant_id AS tenant, case_id AS "caseId", kind, state, reason_codes AS "reasonCodes", needed,
  owner_role AS "ownerRole", assignee, priority, due_at AS "dueAt", dedupe_key AS "dedupeKey", details, version,
  created_at AS "createdAt", updated_at AS "updatedAt", closed_at AS "closedAt", closed_by AS "closedBy", resolution`;

const openStates = `(${openTaskStates.map((s) => `'${s}'`).join(', ')})`;

export interface TaskWriteOptions {
  readonly actor: Actor;
  readonly at: Date;
  /** The task's events (task.v1, and a provider task's FHIR Task / HL7 / e-mail), written in this transaction. */
  readonly outbox?: (task: TaskRecord, change: TaskChange) => readonly OutboxMessage[];
  /** Collect the audit entry instead of appending it now (the caller appends it last). */
  readonly auditTo?: AuditEntry[];
  /** Codes and ids for the audit row. */
  readonly auditDetails?: Record<string, unknown>;
}

async function record(tx: Tx, task: TaskRecord, change: TaskChange, options: TaskWriteOptions) {
  const messages = options.outbox?.(task, change) ?? [];
  await insertOutboxMessages(tx, { tenant: task.tenant, caseId: task.caseId, at: options.at }, messages);
  const entry: AuditEntry = {
    tenant: task.tenant,
    actor: options.actor,
    action: `task.${change}`,
    caseId: task.caseId,
    details: {
      taskId: task.id,
      kind: task.kind,
      state: task.state,
      version: task.version,
      priority: task.priority,
      reasonCodes: task.reasonCodes,
      ...(task.assignee ? { assignee: task.assignee } : {}),
      ...options.auditDetails,
    },
    at: options.at,
  };
  if (options.auditTo) options.auditTo.push(entry);
  else await appendAudit(tx, entry);
}

export interface OpenTaskResult {
  readonly task: TaskRecord;
  /** opened: a new task; escalated: the open task with its key got a higher priority or an earlier due time; none. */
  readonly change: 'opened' | 'escalated' | 'none';
}

/**
 * Opens a task for a case, or — when a task with the same dedupe key is open — raises that one's priority and
 * brings its due time forward when the new spec asks for more (an SLA warning at 90 % after one at 75 %).
 */
export async function openTask(
  tx: Tx,
  input: { tenant: string; caseId: string; spec: TaskSpec } & TaskWriteOptions,
): Promise<OpenTaskResult> {
  const { spec, at } = input;
  const inserted = await tx.query<TaskRecord>(
    `INSERT INTO case_tasks (id, tenant_id, case_id, kind, state, reason_codes, needed, owner_role, priority, due_at,
                             dedupe_key, details, version, created_at, updated_at)
     VALUES ($1, $2, $3, $4, 'open', $5, $6, $7, $8, $9, $10, $11, 1, $12, $12)
     ON CONFLICT (case_id, dedupe_key) WHERE state IN ${openStates} DO NOTHING
     RETURNING ${columns}`,
    [
      randomUUID(),
      input.tenant,
      input.caseId,
      spec.kind,
      spec.reasonCodes,
      JSON.stringify(spec.needed),
      spec.ownerRole,
      spec.priority,
      spec.dueAt,
      spec.dedupeKey,
      spec.details,
      at,
    ],
  );
  if (inserted.rows[0]) {
    await record(tx, inserted.rows[0], 'opened', input);
    return { task: inserted.rows[0], change: 'opened' };
  }
  const existing = await tx.query<TaskRecord>(
    `SELECT ${columns} FROM case_tasks WHERE case_id = $1 AND dedupe_key = $2 AND state IN ${openStates} FOR UPDATE`,
    [input.caseId, spec.dedupeKey],
  );
  const open = existing.rows[0]!;
  const rank = { low: 0, normal: 1, high: 2, urgent: 3 } as const;
  const higher = rank[spec.priority] > rank[open.priority];
  const sooner = spec.dueAt !== null && (open.dueAt === null || spec.dueAt < open.dueAt);
  if (!higher && !sooner) return { task: open, change: 'none' };
  const updated = await tx.query<TaskRecord>(
    `UPDATE case_tasks SET priority = $2, due_at = $3, reason_codes = $4, details = details || $5::jsonb,
            version = version + 1, updated_at = $6
      WHERE id = $1 RETURNING ${columns}`,
    [
      open.id,
      higher ? spec.priority : open.priority,
      sooner ? spec.dueAt : open.dueAt,
      [...new Set([...open.reasonCodes, ...spec.reasonCodes])],
      spec.details,
      at,
    ],
  );
  await record(tx, updated.rows[0]!, 'escalated', input);
  return { task: updated.rows[0]!, change: 'escalated' };
}

export async function getTask(sql: Sql, tenant: string, id: string): Promise<TaskRecord | null> {
  if (!uuidPattern.test(id)) return null;
  const { rows } = await sql.query<TaskRecord>(
    `SELECT ${columns} FROM case_tasks WHERE tenant_id = $1 AND id = $2`,
    [tenant, id],
  );
  return rows[0] ?? null;
}

async function lockTask(tx: Tx, tenant: string, id: string, expectedVersion?: number): Promise<TaskRecord> {
  const task = uuidPattern.test(id)
    ? (
        await tx.query<TaskRecord>(
          `SELECT ${columns} FROM case_tasks WHERE tenant_id = $1 AND id = $2 FOR UPDATE`,
          [tenant, id],
        )
      ).rows[0]
    : undefined;
  // Another tenant's task answers exactly like a missing one.
  if (!task) throw new NotFoundError('PAGW_TASK_NOT_FOUND', 'Task not found');
  if (expectedVersion !== undefined && task.version !== expectedVersion) {
    throw new GatewayError(
      'PAGW_TASK_VERSION_CONFLICT',
      `The task is at version ${task.version}, not ${expectedVersion}: it changed since it was read`,
      {
        problems: [
          {
            location: 'taskVersion',
            message: `the task is at version ${task.version}, not ${expectedVersion}`,
          },
        ],
      },
    );
  }
  return task;
}

function refuseClosed(task: TaskRecord): void {
  if (!openTaskStates.includes(task.state)) {
    throw new GatewayError('PAGW_TASK_CLOSED', `The task is ${task.state} already`, {
      problems: [{ location: 'task', message: `is ${task.state}` }],
    });
  }
}

/** Reads and locks a task for an action (the caller checks the role); refuses a closed or stale one. */
export async function lockOpenTask(
  tx: Tx,
  tenant: string,
  id: string,
  expectedVersion?: number,
): Promise<TaskRecord> {
  const task = await lockTask(tx, tenant, id, expectedVersion);
  refuseClosed(task);
  return task;
}

/** Sets (or clears) the task's assignee: a claim by oneself, an assignment by someone else. */
export async function assignTask(
  tx: Tx,
  task: TaskRecord,
  assignee: string | null,
  change: 'claimed' | 'assigned' | 'released',
  options: TaskWriteOptions,
): Promise<TaskRecord> {
  const { rows } = await tx.query<TaskRecord>(
    `UPDATE case_tasks SET assignee = $2, state = $3, version = version + 1, updated_at = $4
      WHERE id = $1 RETURNING ${columns}`,
    [task.id, assignee, assignee ? 'claimed' : 'open', options.at],
  );
  await record(tx, rows[0]!, change, options);
  return rows[0]!;
}

/** Closes a task: resolved (with how) or cancelled (with why). */
export async function closeTask(
  tx: Tx,
  task: TaskRecord,
  outcome: 'resolved' | 'cancelled',
  resolution: Record<string, unknown>,
  options: TaskWriteOptions,
): Promise<TaskRecord> {
  const { rows } = await tx.query<TaskRecord>(
    `UPDATE case_tasks SET state = $2, resolution = $3, closed_at = $4, closed_by = $5, version = version + 1,
            updated_at = $4
      WHERE id = $1 RETURNING ${columns}`,
    [task.id, outcome, resolution, options.at, options.actor.id],
  );
  await record(tx, rows[0]!, outcome, options);
  return rows[0]!;
}

/**
 * Cancels a case's pending timers of `timerKinds` and reads (locked) its open tasks, oldest first, in one statement:
 * what a case that stops (decided, rejected, cancelled) does first. Usually there is nothing to cancel or close, and
 * three round trips to learn that cost 6 % of a decided case's statements (issue #17). The caller closes the tasks
 * it means to with closeTasks.
 */
export async function cancelTimersAndLockOpenTasks(
  tx: Tx,
  tenant: string,
  caseId: string,
  timerKinds: readonly string[],
): Promise<TaskRecord[]> {
  const { rows } = await tx.query<TaskRecord>(
    `WITH cancelled AS (
       DELETE FROM timers WHERE case_id = $2 AND kind = ANY($3) AND fired_at IS NULL AND cancelled_at IS NULL)
     SELECT ${columns} FROM case_tasks
      WHERE tenant_id = $1 AND case_id = $2 AND state IN ${openStates}
      ORDER BY created_at, id FOR UPDATE`,
    [tenant, caseId, timerKinds],
  );
  return rows;
}

/**
 * A select list column ($1 tenant, $2 case id) saying whether cancelTimersAndLockOpenTasks would find anything: an
 * open task or a pending timer of `timerKinds` (code constants, not input). Read with the stopping transition's
 * own statement, it spares a case with nothing to stop that statement (issue #17: every decided case).
 */
export function stopWorkPendingSql(timerKinds: readonly string[]): string {
  const kinds = timerKinds.map((k) => `'${k.replaceAll("'", "''")}'`).join(', ');
  return `(EXISTS (SELECT 1 FROM case_tasks WHERE tenant_id = $1 AND case_id = $2 AND state IN ${openStates})
     OR EXISTS (SELECT 1 FROM timers WHERE case_id = $2 AND kind IN (${kinds})
                  AND fired_at IS NULL AND cancelled_at IS NULL)) AS stop_work_pending`;
}

/** Closes the given (locked, open) tasks in order, as closeTask does. */
export async function closeTasks(
  tx: Tx,
  tasks: readonly TaskRecord[],
  outcome: 'resolved' | 'cancelled',
  resolution: Record<string, unknown>,
  options: TaskWriteOptions,
): Promise<TaskRecord[]> {
  const closed: TaskRecord[] = [];
  for (const task of tasks) closed.push(await closeTask(tx, task, outcome, resolution, options));
  return closed;
}

/**
 * Closes a case's open tasks of the given kinds (all kinds when absent): the case moved on without them (a
 * corrected resend resolved the missing data, the payer decided before the SLA ran out, the case was cancelled).
 */
export async function closeCaseTasks(
  tx: Tx,
  tenant: string,
  caseId: string,
  kinds: readonly TaskKind[] | undefined,
  outcome: 'resolved' | 'cancelled',
  resolution: Record<string, unknown>,
  options: TaskWriteOptions,
): Promise<TaskRecord[]> {
  const { rows } = await tx.query<TaskRecord>(
    `SELECT ${columns} FROM case_tasks
      WHERE tenant_id = $1 AND case_id = $2 AND state IN ${openStates} AND ($3::text[] IS NULL OR kind = ANY($3))
      ORDER BY created_at, id FOR UPDATE`,
    [tenant, caseId, kinds ?? null],
  );
  return closeTasks(tx, rows, outcome, resolution, options);
}

export interface TaskQuery {
  /** Open (open + claimed) when absent. */
  readonly states?: readonly TaskState[];
  readonly kind?: TaskKind;
  readonly ownerRole?: string;
  readonly assignee?: string;
  readonly caseId?: string;
  readonly priority?: TaskPriority;
  readonly limit?: number;
}

/** A tenant's tasks, most urgent first: priority, then due time, then age. */
export async function listTasks(sql: Sql, tenant: string, query: TaskQuery = {}): Promise<TaskRecord[]> {
  const params: unknown[] = [tenant, query.states ?? openTaskStates];
  const where = ['tenant_id = $1', 'state = ANY($2)'];
  const add = (column: string, value: unknown) => {
    if (value === undefined) return;
    params.push(value);
    where.push(`${column} = $${params.length}`);
  };
  add('kind', query.kind);
  add('owner_role', query.ownerRole);
  add('assignee', query.assignee);
  add('case_id', query.caseId);
  add('priority', query.priority);
  params.push(Math.min(Math.max(query.limit ?? 100, 1), 500));
  const { rows } = await sql.query<TaskRecord>(
    `${planEachRun}SELECT ${columns} FROM case_tasks WHERE ${where.join(' AND ')}
      ORDER BY array_position(ARRAY['urgent', 'high', 'normal', 'low'], priority), due_at NULLS LAST, created_at, id
      LIMIT $${params.length}`,
    params,
  );
  return rows;
}
