/**
 * What resolving an exception does, in ONE transaction with its audit rows and events: correct the request (a new
 * case version, audited before and after) and resume the case, retry a failed case, ask a pended case's payer once
 * more, cancel a case, or close the task (acknowledge). Shared by the task routes and the case routes (PATCH
 * /cases/:id/request, POST /cases/:id/retry) so a case action and a task resolution do the same thing.
 */
import type { Actor, AuditEntry } from '../audit/audit-log.ts';
import type { AuthorizationRequest } from '../canonical/index.ts';
import { GatewayError, NotFoundError, ValidationError } from '../errors/index.ts';
import type { CaseOutboundPlanner } from '../outbound/planner.ts';
import type { TaskOutboundPlanner } from '../outbound/tasks/task-outbound.ts';
import { type CaseRecord, getCaseForUpdate, type Tx, transitionCase } from '../store/index.ts';
import {
  closeCaseTasks,
  closeTask,
  getTask,
  type TaskChange,
  type TaskRecord,
  type TaskWriteOptions,
} from '../store/tasks.ts';
import { scheduleAdvance } from '../workers/case-advancer.ts';
import { type CaseEventType, canTransition } from '../workflow/case-state-machine.ts';
import { applySuppliedEvidence, type SuppliedEvidence } from '../workflow/pharmacy/unknown-criteria.ts';
import { applyCorrection, correctionEvent, type FieldChange } from '../workflow/tasks/corrections.ts';
import { type TaskAction, type TaskKind, taskRules } from '../workflow/tasks/tasks.ts';
import { type AppealAnswer, approveAppeal, recordAppealOutcome } from './appeals.ts';

export interface TaskActionDeps {
  readonly outbound?: CaseOutboundPlanner;
  readonly taskOutbound?: TaskOutboundPlanner;
}

export interface ActionContext {
  readonly tenant: string;
  readonly actor: Actor;
  readonly at: Date;
  readonly audit: AuditEntry[];
}

/** Task write options whose events describe the case as `caseRecord` (the case after this transaction's change). */
export function taskWrites(
  deps: TaskActionDeps,
  ctx: ActionContext,
  caseRecord: CaseRecord,
  auditDetails?: Record<string, unknown>,
): TaskWriteOptions {
  return {
    actor: ctx.actor,
    at: ctx.at,
    auditTo: ctx.audit,
    ...(auditDetails ? { auditDetails } : {}),
    ...(deps.taskOutbound
      ? {
          outbox: (task: TaskRecord, change: TaskChange) =>
            deps.taskOutbound!({ task, change, caseRecord, at: ctx.at }),
        }
      : {}),
  };
}

async function lockCase(tx: Tx, tenant: string, caseId: string, expectedVersion?: number) {
  const record = await getCaseForUpdate(tx, tenant, caseId);
  if (!record) throw new NotFoundError('PAGW_CASE_NOT_FOUND', 'Case not found');
  if (expectedVersion !== undefined && record.version !== expectedVersion) {
    throw new GatewayError(
      'PAGW_CASE_VERSION_CONFLICT',
      `The case is at version ${record.version}, not ${expectedVersion}: it changed since it was read`,
      { problems: [{ location: 'caseVersion', message: `the case is at version ${record.version}` }] },
    );
  }
  return record;
}

async function move(
  tx: Tx,
  deps: TaskActionDeps,
  ctx: ActionContext,
  record: CaseRecord,
  event: CaseEventType,
  data: Record<string, unknown>,
  patch?: Parameters<typeof transitionCase>[1]['patch'],
): Promise<CaseRecord> {
  const result = await transitionCase(tx, {
    tenant: ctx.tenant,
    caseId: record.id,
    event,
    actor: ctx.actor,
    at: ctx.at,
    data,
    ...(patch ? { patch } : {}),
    expectedVersion: record.version,
    outbox: (after, before) =>
      deps.outbound?.({ event, after, previousState: before.state, at: ctx.at }) ?? [],
    auditTo: ctx.audit,
  });
  return result.after;
}

/** Tasks a correction settles: the missing data it supplies, the failure it retries. */
const settledByCorrection: readonly TaskKind[] = ['missing_data', 'channel_failure'];

/**
 * Corrects a case's request and resumes it (received → validated, failed → retried), inside `tx`. The audit row
 * `case.request_corrected` holds each changed path with its value before and after.
 */
export async function correctRequest(
  tx: Tx,
  deps: TaskActionDeps,
  ctx: ActionContext,
  input: {
    caseId: string;
    changes: readonly FieldChange[];
    caseVersion?: number;
    via: string;
    taskId?: string;
    /** A resent order: the request takes the resent message's source (so answers go to the latest message). */
    source?: AuthorizationRequest['source'];
  },
): Promise<CaseRecord> {
  const record = await lockCase(tx, ctx.tenant, input.caseId, input.caseVersion);
  const event = correctionEvent(record.state);
  if (!event) {
    throw new GatewayError(
      'PAGW_CORRECTION_NOT_ALLOWED',
      `A case in state ${record.state} cannot be corrected here: ${
        record.state === 'awaiting_review'
          ? 'its reviewer requests changes'
          : 'only a case held for missing data (received) or a failed case can be'
      }`,
      { problems: [{ location: 'state', message: `is ${record.state}` }] },
    );
  }
  const corrected = applyCorrection(record.request, input.changes);
  if (!corrected.ok) {
    throw new ValidationError(
      'PAGW_CORRECTION_INVALID',
      `The corrected request is not valid: ${corrected.problems
        .slice(0, 5)
        .map((p) => `${p.location}: ${p.message}`)
        .join('; ')}`,
      { problems: corrected.problems },
    );
  }
  const paths = corrected.changes.map((c) => c.path);
  const after = await move(
    tx,
    deps,
    ctx,
    record,
    event,
    {
      reason: 'REQUEST_CORRECTED',
      via: input.via,
      corrected: paths,
      ...(input.taskId ? { taskId: input.taskId } : {}),
    },
    { request: input.source ? { ...corrected.request, source: input.source } : corrected.request },
  );
  ctx.audit.push({
    tenant: ctx.tenant,
    actor: ctx.actor,
    action: 'case.request_corrected',
    caseId: record.id,
    // Before and after are the request's own values: the audit log is the record of who changed what.
    details: {
      fromVersion: record.version,
      version: after.version,
      via: input.via,
      changes: corrected.changes,
    },
    at: ctx.at,
  });
  await scheduleAdvance(tx, record, ctx.at, ctx.at);
  await closeCaseTasks(
    tx,
    ctx.tenant,
    record.id,
    settledByCorrection,
    'resolved',
    { action: 'correct', via: input.via, fields: paths },
    taskWrites(deps, ctx, after),
  );
  return after;
}

/** Runs a failed case again from validation (failed → retried). */
export async function retryCase(
  tx: Tx,
  deps: TaskActionDeps,
  ctx: ActionContext,
  input: { caseId: string; caseVersion?: number; via: string },
): Promise<CaseRecord> {
  const record = await lockCase(tx, ctx.tenant, input.caseId, input.caseVersion);
  if (record.state !== 'failed') notAllowed(`the case is ${record.state}, not failed`);
  const after = await move(tx, deps, ctx, record, 'retried', { reason: 'RETRIED', via: input.via });
  await scheduleAdvance(tx, record, ctx.at, ctx.at);
  await closeCaseTasks(
    tx,
    ctx.tenant,
    record.id,
    ['channel_failure'],
    'resolved',
    { action: 'retry', via: input.via },
    taskWrites(deps, ctx, after),
  );
  return after;
}

/** Cancels a case that is not at the payer (a case the payer holds is withdrawn there first: see cancellation). */
export async function cancelCase(
  tx: Tx,
  deps: TaskActionDeps,
  ctx: ActionContext,
  input: { caseId: string; caseVersion?: number; via: string; reason: string },
): Promise<CaseRecord> {
  const record = await lockCase(tx, ctx.tenant, input.caseId, input.caseVersion);
  if (!canTransition(record.state, 'cancelled')) notAllowed(`a ${record.state} case cannot be cancelled`);
  if (record.state === 'submitted' || record.state === 'pended')
    notAllowed(
      `the payer holds this ${record.state} request: cancel the order so it is withdrawn at the payer`,
    );
  const after = await move(tx, deps, ctx, record, 'cancelled', { reason: input.reason, via: input.via });
  await closeCaseTasks(
    tx,
    ctx.tenant,
    record.id,
    undefined,
    'cancelled',
    { reason: 'CASE_CANCELLED', via: input.via },
    taskWrites(deps, ctx, after),
  );
  return after;
}

function notAllowed(message: string): never {
  throw new GatewayError('PAGW_TASK_ACTION_NOT_ALLOWED', message, {
    problems: [{ location: 'action', message }],
  });
}

export interface ResolveInput {
  readonly task: TaskRecord;
  readonly action: TaskAction;
  readonly changes?: readonly FieldChange[];
  /** supply_evidence: the evidence for each unknown criterion the task names. */
  readonly evidence?: readonly SuppliedEvidence[];
  /** override_criteria: why the pharmacist signs off with criteria unknown (kept in the audit row only: free text
   * may name the patient, and task events carry codes and ids). */
  readonly note?: string;
  /** record_appeal_outcome: the payer's answer to an appeal sent by e-mail. */
  readonly appealAnswer?: AppealAnswer;
}

/**
 * A pharmacist answers a `criteria_unknown` task with evidence: the request's checklist records it (each criterion
 * met or not met, the evidence, who supplied it) as a new case version, still in review (criteria_answered); the
 * submission key does not change, so the open gate stays valid. The task closes; approval is then possible.
 */
async function supplyCriteriaEvidence(
  tx: Tx,
  deps: TaskActionDeps,
  ctx: ActionContext,
  task: TaskRecord,
  evidence: readonly SuppliedEvidence[],
): Promise<CaseRecord> {
  const record = await lockCase(tx, ctx.tenant, task.caseId);
  if (record.state !== 'awaiting_review') notAllowed(`the case is ${record.state}, not awaiting review`);
  const checklist = record.request.clinicalCriteria;
  if (!checklist) notAllowed('the case has no criteria checklist');
  const required = task.needed.filter((n) => n.type === 'criterion' && n.code).map((n) => n.code!);
  const applied = applySuppliedEvidence(checklist, required, evidence, ctx.actor.id);
  if (!applied.ok)
    throw new ValidationError('PAGW_CORRECTION_INVALID', 'The evidence does not answer this task', {
      problems: applied.problems,
    });
  const after = await move(
    tx,
    deps,
    ctx,
    record,
    'criteria_answered',
    { reason: 'CRITERIA_EVIDENCE_SUPPLIED', via: `task:${task.id}`, criteria: applied.answered },
    { request: { ...record.request, clinicalCriteria: applied.checklist } },
  );
  ctx.audit.push({
    tenant: ctx.tenant,
    actor: ctx.actor,
    action: 'case.criteria_answered',
    caseId: record.id,
    // Criterion ids, statuses and where the evidence is: references, not the record's content.
    details: {
      taskId: task.id,
      criteriaId: checklist.criteriaId,
      answers: evidence.map((e) => ({ criterionId: e.criterionId, status: e.status, source: e.source })),
    },
    at: ctx.at,
  });
  return after;
}

/** Resolves a (locked, open) task by `action`; returns the task and the case as they stand afterwards. */
export async function resolveTask(
  tx: Tx,
  deps: TaskActionDeps,
  ctx: ActionContext,
  input: ResolveInput,
): Promise<{ task: TaskRecord; caseRecord: CaseRecord | null }> {
  const { task, action } = input;
  if (!taskRules[task.kind].actions.includes(action))
    notAllowed(
      `${action} does not resolve a ${task.kind} task (${taskRules[task.kind].actions.join(', ')} do)`,
    );
  const via = `task:${task.id}`;
  let caseRecord: CaseRecord | null = null;
  switch (action) {
    case 'correct':
      if (!input.changes) notAllowed('correct needs the changes to make');
      caseRecord = await correctRequest(tx, deps, ctx, {
        caseId: task.caseId,
        changes: input.changes,
        via,
        taskId: task.id,
      });
      break;
    case 'retry':
      caseRecord = await retryCase(tx, deps, ctx, { caseId: task.caseId, via });
      break;
    case 'cancel_case':
      caseRecord = await cancelCase(tx, deps, ctx, { caseId: task.caseId, via, reason: 'CANCELLED_BY_USER' });
      break;
    case 'inquire_again': {
      const record = await lockCase(tx, ctx.tenant, task.caseId);
      if (record.state !== 'pended') notAllowed(`the case is ${record.state}, not pended`);
      // A fresh inquiry budget: the advancer counts inquiries from this timer's payload.
      await scheduleAdvance(tx, record, ctx.at, ctx.at, 'payer', { inquiries: 0 });
      caseRecord = record;
      break;
    }
    case 'send_documents': {
      const record = await lockCase(tx, ctx.tenant, task.caseId);
      if (record.state !== 'pended')
        notAllowed(`the case is ${record.state}: the payer no longer waits for documents`);
      const { rows } = await tx.query<{ n: number }>(
        `SELECT count(*)::int AS n FROM case_documents WHERE case_id = $1 AND purpose = 'attachment' AND sent_at IS NULL`,
        [record.id],
      );
      if (rows[0]!.n === 0) notAllowed('upload the documents first (POST /cases/{id}/documents)');
      // A payer step sends them (X12 275 …) and records documents_sent; the payer then decides on an inquiry.
      await scheduleAdvance(tx, record, ctx.at, ctx.at, 'payer', {
        attachments: true,
        via: `task:${task.id}`,
      });
      caseRecord = record;
      break;
    }
    case 'approve_appeal':
      caseRecord = await approveAppeal(tx, ctx, task);
      break;
    case 'record_appeal_outcome':
      if (!input.appealAnswer) notAllowed('record_appeal_outcome needs the outcome (approved or denied)');
      caseRecord = await recordAppealOutcome(tx, ctx, task, input.appealAnswer, (record, data, patch) =>
        move(tx, deps, ctx, record, 'appeal_decided', data, patch),
      );
      break;
    case 'supply_evidence':
      if (!input.evidence) notAllowed('supply_evidence needs the evidence for each unknown criterion');
      caseRecord = await supplyCriteriaEvidence(tx, deps, ctx, task, input.evidence);
      break;
    case 'override_criteria': {
      if (!input.note) notAllowed('override_criteria needs the reason (note)');
      const record = await lockCase(tx, ctx.tenant, task.caseId);
      if (record.state !== 'awaiting_review') notAllowed(`the case is ${record.state}, not awaiting review`);
      ctx.audit.push({
        tenant: ctx.tenant,
        actor: ctx.actor,
        action: 'case.criteria_overridden',
        caseId: record.id,
        details: {
          taskId: task.id,
          criteria: task.needed.filter((n) => n.type === 'criterion').map((n) => n.code),
          note: input.note,
        },
        at: ctx.at,
      });
      caseRecord = record;
      break;
    }
    case 'acknowledge':
      break;
    default:
      notAllowed(`${action} is not available yet`);
  }
  const current = await getTask(tx, ctx.tenant, task.id);
  // The case action may have closed this task already (with the other tasks it settled).
  if (current && current.state !== 'open' && current.state !== 'claimed')
    return { task: current, caseRecord };
  const record = caseRecord ?? (await lockCase(tx, ctx.tenant, task.caseId));
  const closed = await closeTask(
    tx,
    current ?? task,
    'resolved',
    { action },
    taskWrites(deps, ctx, record, { action }),
  );
  return { task: closed, caseRecord };
}
