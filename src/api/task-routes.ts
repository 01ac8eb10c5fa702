/**
 * The exception queue over HTTP (issue #14). Tenant-scoped like everything else; a task of another tenant answers
 * 404 like a missing one. Reading needs a case-reading role; working a task (claim, resolve) its owner role (or
 * admin; a `reviewer` task takes any reviewing role); assigning it to someone else, its owner role or admin.
 *
 *   GET   /exceptions               the queue as the console shows it: open tasks (most urgent first) with their
 *                                   case and the actions that resolve them, plus failed cases no task covers
 *   GET   /tasks?state=&kind=&ownerRole=&assignee=&caseId=&priority=&limit=
 *   GET   /tasks/:id
 *   POST  /tasks/:id/claim          { taskVersion }                        take it (assignee = me)
 *   POST  /tasks/:id/assign         { taskVersion, assignee }              give it to someone (null: release)
 *   POST  /tasks/:id/resolve        { taskVersion, action, changes?, evidence?, note? }  resolve it (the action's
 *                                                                          effect on the case and the task close
 *                                                                          in one commit)
 *   PATCH /cases/:id/request        { caseVersion?, changes: [{path, value}] }  correct the request and resume
 *   POST  /cases/:id/retry          { caseVersion? }                       run a failed case again
 * Every change is audited; every task change publishes its task event (and, for the provider, FHIR Task / HL7).
 */
import { Router } from 'express';
import { type AuditEntry, appendAuditEntries } from '../audit/audit-log.ts';
import type { Clock } from '../clock.ts';
import { GatewayError, NotFoundError } from '../errors/index.ts';
import { type AppealAnswer, type AppealDeps, prepareAppeal } from '../exceptions/appeals.ts';
import {
  type ActionContext,
  correctRequest,
  resolveTask,
  retryCase,
  type TaskActionDeps,
  taskWrites,
} from '../exceptions/task-actions.ts';
import { listFailedCases } from '../store/case-console.ts';
import {
  type Database,
  getCase,
  type TokenPrincipal,
  userIdPattern,
  withTransaction,
} from '../store/index.ts';
import {
  assignTask,
  getTask,
  listTasks,
  lockOpenTask,
  type TaskQuery,
  type TaskRecord,
} from '../store/tasks.ts';
import type { PhiCipher } from '../vault/phi.ts';
import { readSuppliedEvidence } from '../workflow/pharmacy/unknown-criteria.ts';
import { readChanges } from '../workflow/tasks/corrections.ts';
import {
  isTaskAction,
  isTaskKind,
  mayWorkTask,
  taskPriorities,
  taskRules,
  taskStates,
} from '../workflow/tasks/tasks.ts';
import { actorOf, principalOf, requireRole } from './auth.ts';
import { caseReaderRoles } from './case-console-routes.ts';

export interface TaskRouterDeps extends TaskActionDeps {
  readonly db: Database;
  readonly clock: Clock;
  /** For appeals: sealing the letter, and the clinic's name on it. */
  readonly phi?: PhiCipher;
  readonly tenants?: AppealDeps['tenants'];
}

/** Roles that correct a case's request: the ordering side and the people who review cases. */
const correctorRoles = [
  'ehr',
  'reviewer',
  'utilization_reviewer',
  'medical_director',
  'pharmacist',
  'admin',
] as const;

const actionTitles: Record<string, string> = {
  correct: 'Correct and resume',
  retry: 'Retry',
  inquire_again: 'Ask the payer again',
  send_documents: 'Send documents',
  cancel_case: 'Cancel the case',
  prepare_appeal: 'Prepare an appeal',
  approve_appeal: 'Approve the appeal',
  record_appeal_outcome: "Record the payer's answer to the appeal",
  supply_evidence: 'Supply the evidence',
  override_criteria: 'Sign off with criteria unknown',
  acknowledge: 'Mark done',
};

function bad(location: string, message: string): never {
  throw new GatewayError('PAGW_HTTP_BAD_REQUEST', `${location} ${message}`, {
    problems: [{ location, message }],
  });
}

function body(raw: unknown): Record<string, unknown> {
  return raw && typeof raw === 'object' && !Array.isArray(raw) ? (raw as Record<string, unknown>) : {};
}

function version(value: unknown, name: string, required: boolean): number | undefined {
  if (value === undefined || value === null)
    return required ? bad(name, 'is required (the version you saw)') : undefined;
  if (typeof value !== 'number' || !Number.isInteger(value) || value < 1)
    bad(name, 'must be a positive integer');
  return value as number;
}

function forbidden(task: TaskRecord): never {
  throw new GatewayError(
    'PAGW_AUTH_FORBIDDEN',
    `This ${task.kind} task is worked by the role ${task.ownerRole}`,
    {
      problems: [{ location: 'ownerRole', message: `needs ${task.ownerRole} (or admin)` }],
    },
  );
}

/** A task as the API shows it: the task, its resolving actions (as the console renders them), and its case. */
function taskView(task: TaskRecord, principal: TokenPrincipal) {
  const canWork =
    mayWorkTask(principal.roles, task.ownerRole) && (task.state === 'open' || task.state === 'claimed');
  const fieldsNeeded = task.needed.filter((n) => n.type === 'field' && n.path);
  return {
    ...task,
    canWork,
    actions: canWork
      ? taskRules[task.kind].actions.map((action) => ({
          action,
          title: actionTitles[action] ?? action,
          href: `/tasks/${task.id}/resolve`,
          method: 'POST',
          body: { action, taskVersion: task.version },
          // The console asks for these values and sends them as `changes` [{ path, value }].
          ...(action === 'correct'
            ? { fields: fieldsNeeded.map((n) => ({ path: n.path, label: n.label, source: n.source })) }
            : {}),
          // The criteria to answer, sent back as `evidence` [{ criterionId, status, source, date?, value? }].
          ...(action === 'supply_evidence'
            ? {
                criteria: task.needed
                  .filter((n) => n.type === 'criterion')
                  .map((n) => ({ criterionId: n.code, evidence: n.label, why: n.source })),
              }
            : {}),
          // Sent back as `note`: kept in the audit row only.
          ...(action === 'override_criteria'
            ? { note: { label: 'Why sign off with these criteria unknown (kept in the audit trail)' } }
            : {}),
        }))
      : [],
  };
}

function readQuery(query: Record<string, unknown>): TaskQuery {
  const one = (name: string): string | undefined => {
    const value = query[name];
    if (value === undefined || value === '') return undefined;
    if (typeof value !== 'string' || !/^[\w.:@+-]{1,128}$/.test(value))
      return bad(name, 'is not a valid filter');
    return value;
  };
  const state = one('state');
  if (state !== undefined && state !== 'all' && !(taskStates as readonly string[]).includes(state))
    bad('state', `must be one of: all, ${taskStates.join(', ')}`);
  const kind = one('kind');
  if (kind !== undefined && !isTaskKind(kind)) bad('kind', 'is not a task kind');
  const priority = one('priority');
  if (priority !== undefined && !(taskPriorities as readonly string[]).includes(priority))
    bad('priority', `must be one of: ${taskPriorities.join(', ')}`);
  const limit = query.limit === undefined ? 100 : Number(query.limit);
  if (!Number.isInteger(limit) || limit < 1 || limit > 500) bad('limit', 'must be an integer from 1 to 500');
  return {
    ...(state === 'all' ? { states: taskStates } : state ? { states: [state as TaskRecord['state']] } : {}),
    ...(kind ? { kind: kind as TaskRecord['kind'] } : {}),
    ...(one('ownerRole') ? { ownerRole: one('ownerRole')! } : {}),
    ...(one('assignee') ? { assignee: one('assignee')! } : {}),
    ...(one('caseId') ? { caseId: one('caseId')! } : {}),
    ...(priority ? { priority: priority as TaskRecord['priority'] } : {}),
    limit,
  };
}

export function taskRouter(deps: TaskRouterDeps): Router {
  const router = Router();
  const sql = deps.db.pool;
  const readers = requireRole(...caseReaderRoles);

  /** Runs `work` in one transaction with an action context; appends the collected audit rows last. */
  async function act<T>(
    principal: TokenPrincipal,
    work: (tx: Parameters<Parameters<typeof withTransaction>[1]>[0], ctx: ActionContext) => Promise<T>,
  ): Promise<T> {
    const audit: AuditEntry[] = [];
    const ctx: ActionContext = {
      tenant: principal.tenant,
      actor: actorOf(principal),
      at: deps.clock.now(),
      audit,
    };
    return withTransaction(deps.db.pool, async (tx) => {
      const result = await work(tx, ctx);
      await appendAuditEntries(tx, audit);
      return result;
    });
  }

  router.get('/exceptions', readers, async (_req, res) => {
    const principal = principalOf(res);
    const tasks = await listTasks(sql, principal.tenant, { limit: 200 });
    const caseIds = [...new Set(tasks.map((t) => t.caseId))];
    const { rows: cases } = await sql.query<{
      id: string;
      state: string;
      version: number;
      payerId: string | null;
      serviceCode: string | null;
      urgency: string | null;
      slaDueAt: Date | null;
      slaBreachedAt: Date | null;
    }>(
      `SELECT id, state, version, payer_id AS "payerId", service_code AS "serviceCode", urgency,
              sla_due_at AS "slaDueAt", sla_breached_at AS "slaBreachedAt"
         FROM cases WHERE tenant_id = $1 AND id = ANY($2::uuid[])`,
      [principal.tenant, caseIds],
    );
    const byId = new Map(cases.map((c) => [c.id, c]));
    // Failed cases no open task covers (failed before the queue existed, or by hand): still shown, with a retry.
    const covered = new Set(tasks.map((t) => t.caseId));
    const failed = (await listFailedCases(sql, principal.tenant, 200)).filter((f) => !covered.has(f.id));
    const mayRetry = mayWorkTask(principal.roles, taskRules.channel_failure.ownerRole);
    res.setHeader('cache-control', 'no-store');
    res.json({
      items: [
        ...tasks.map((t) => ({ ...taskView(t, principal), case: byId.get(t.caseId) ?? null })),
        ...failed.map((f) => ({
          id: null,
          caseId: f.id,
          kind: 'channel_failure',
          state: 'open',
          reasonCodes: [f.failure.reason, f.failure.errorCode].filter(
            (c): c is string => typeof c === 'string',
          ),
          needed: [],
          ownerRole: taskRules.channel_failure.ownerRole,
          assignee: null,
          priority: f.urgency === 'expedited' ? 'high' : 'normal',
          dueAt: null,
          createdAt: f.failedAt,
          failure: f.failure,
          case: {
            id: f.id,
            state: 'failed',
            version: f.version,
            payerId: f.payerId,
            serviceCode: f.serviceCode,
            urgency: f.urgency,
          },
          canWork: mayRetry,
          actions: mayRetry
            ? [
                {
                  action: 'retry',
                  title: 'Retry',
                  href: `/cases/${f.id}/retry`,
                  method: 'POST',
                  body: { caseVersion: f.version },
                },
              ]
            : [],
        })),
      ],
    });
  });

  router.get('/tasks', readers, async (req, res) => {
    const principal = principalOf(res);
    const tasks = await listTasks(sql, principal.tenant, readQuery(req.query as Record<string, unknown>));
    res.setHeader('cache-control', 'no-store');
    res.json({ items: tasks.map((t) => taskView(t, principal)) });
  });

  router.get('/tasks/:id', readers, async (req, res) => {
    const principal = principalOf(res);
    const task = await getTask(sql, principal.tenant, req.params.id as string);
    if (!task) throw new NotFoundError('PAGW_TASK_NOT_FOUND', 'Task not found');
    res.setHeader('cache-control', 'no-store');
    res.json(taskView(task, principal));
  });

  router.post('/tasks/:id/claim', readers, async (req, res) => {
    const principal = principalOf(res);
    const b = body(req.body);
    const task = await act(principal, async (tx, ctx) => {
      const open = await lockOpenTask(
        tx,
        principal.tenant,
        req.params.id as string,
        version(b.taskVersion, 'taskVersion', true),
      );
      if (!mayWorkTask(principal.roles, open.ownerRole)) forbidden(open);
      const record = (await getCase(tx, principal.tenant, open.caseId))!;
      return assignTask(tx, open, ctx.actor.id, 'claimed', taskWrites(deps, ctx, record));
    });
    res.json(taskView(task, principal));
  });

  router.post('/tasks/:id/assign', readers, async (req, res) => {
    const principal = principalOf(res);
    const b = body(req.body);
    const assignee =
      b.assignee === null ? null : typeof b.assignee === 'string' ? b.assignee.trim() : undefined;
    if (assignee === undefined || (assignee !== null && !userIdPattern.test(assignee.replace(/^user:/, ''))))
      bad('assignee', 'must be a user id (or null to release the task)');
    const task = await act(principal, async (tx, ctx) => {
      const open = await lockOpenTask(
        tx,
        principal.tenant,
        req.params.id as string,
        version(b.taskVersion, 'taskVersion', true),
      );
      if (!mayWorkTask(principal.roles, open.ownerRole)) forbidden(open);
      const record = (await getCase(tx, principal.tenant, open.caseId))!;
      const who = assignee === null ? null : assignee!.startsWith('user:') ? assignee! : `user:${assignee}`;
      return assignTask(tx, open, who, who ? 'assigned' : 'released', taskWrites(deps, ctx, record));
    });
    res.json(taskView(task, principal));
  });

  router.post('/tasks/:id/resolve', readers, async (req, res) => {
    const principal = principalOf(res);
    const b = body(req.body);
    if (!isTaskAction(b.action)) bad('action', 'is not a task action');
    let changes: ReturnType<typeof readChanges>['changes'];
    if (b.action === 'correct') {
      const read = readChanges(b.changes);
      if (!read.changes)
        throw new GatewayError('PAGW_HTTP_BAD_REQUEST', 'changes: give the values to correct', {
          problems: read.problems,
        });
      changes = read.changes;
    }
    let evidence: ReturnType<typeof readSuppliedEvidence>['evidence'];
    if (b.action === 'supply_evidence') {
      const read = readSuppliedEvidence(b.evidence);
      if (!read.evidence)
        throw new GatewayError('PAGW_HTTP_BAD_REQUEST', 'evidence: give the evidence for each criterion', {
          problems: read.problems,
        });
      evidence = read.evidence;
    }
    let note: string | undefined;
    if (b.action === 'override_criteria') {
      if (typeof b.note !== 'string' || b.note.trim().length === 0 || b.note.length > 500)
        bad('note', 'must give the reason for signing off with criteria unknown (at most 500 characters)');
      note = (b.note as string).trim();
    }
    let appealAnswer: AppealAnswer | undefined;
    if (b.action === 'record_appeal_outcome') {
      if (b.outcome !== 'approved' && b.outcome !== 'denied')
        bad('outcome', 'must be approved (the payer reversed its decision) or denied (it upheld it)');
      if (
        b.certificationNumber !== undefined &&
        (typeof b.certificationNumber !== 'string' || !/^[A-Za-z0-9-]{1,50}$/.test(b.certificationNumber))
      )
        bad(
          'certificationNumber',
          'must be the payer authorization number (letters, digits, dashes; at most 50)',
        );
      appealAnswer = {
        outcome: b.outcome as AppealAnswer['outcome'],
        ...(typeof b.certificationNumber === 'string' ? { certificationNumber: b.certificationNumber } : {}),
      };
    }
    if (b.action === 'prepare_appeal') {
      if (!deps.phi || !deps.tenants) throw new GatewayError('PAGW_INTERNAL', 'Appeals are not wired here');
      const task = await getTask(sql, principal.tenant, req.params.id as string);
      if (!task) throw new NotFoundError('PAGW_TASK_NOT_FOUND', 'Task not found');
      if (!mayWorkTask(principal.roles, task.ownerRole)) forbidden(task);
      if (task.kind !== 'appeal_consideration')
        throw new GatewayError(
          'PAGW_TASK_ACTION_NOT_ALLOWED',
          `prepare_appeal does not resolve a ${task.kind} task`,
        );
      const prepared = await prepareAppeal(
        {
          db: deps.db,
          phi: deps.phi,
          tenants: deps.tenants,
          ...(deps.taskOutbound ? { taskOutbound: deps.taskOutbound } : {}),
        },
        { tenant: principal.tenant, actor: actorOf(principal), at: deps.clock.now() },
        { task, taskVersion: version(b.taskVersion, 'taskVersion', true)! },
      );
      res.json({ task: taskView(prepared.task, principal), appeal: prepared.appeal });
      return;
    }
    const result = await act(principal, async (tx, ctx) => {
      const open = await lockOpenTask(
        tx,
        principal.tenant,
        req.params.id as string,
        version(b.taskVersion, 'taskVersion', true),
      );
      if (!mayWorkTask(principal.roles, open.ownerRole)) forbidden(open);
      return resolveTask(tx, deps, ctx, {
        task: open,
        action: b.action as never,
        ...(changes ? { changes } : {}),
        ...(evidence ? { evidence } : {}),
        ...(note ? { note } : {}),
        ...(appealAnswer ? { appealAnswer } : {}),
      });
    });
    res.json({
      task: taskView(result.task, principal),
      case: result.caseRecord
        ? { id: result.caseRecord.id, state: result.caseRecord.state, version: result.caseRecord.version }
        : null,
    });
  });

  router.patch('/cases/:id/request', requireRole(...correctorRoles), async (req, res) => {
    const principal = principalOf(res);
    const b = body(req.body);
    const read = readChanges(b.changes);
    if (!read.changes)
      throw new GatewayError('PAGW_HTTP_BAD_REQUEST', 'changes: give the values to correct', {
        problems: read.problems,
      });
    const after = await act(principal, (tx, ctx) =>
      correctRequest(tx, deps, ctx, {
        caseId: req.params.id as string,
        changes: read.changes!,
        ...(version(b.caseVersion, 'caseVersion', false) ? { caseVersion: b.caseVersion as number } : {}),
        via: 'api',
      }),
    );
    res.json({ id: after.id, state: after.state, version: after.version });
  });

  router.post('/cases/:id/retry', requireRole('admin'), async (req, res) => {
    const principal = principalOf(res);
    const b = body(req.body);
    const after = await act(principal, (tx, ctx) =>
      retryCase(tx, deps, ctx, {
        caseId: req.params.id as string,
        ...(version(b.caseVersion, 'caseVersion', false) ? { caseVersion: b.caseVersion as number } : {}),
        via: 'api',
      }),
    );
    res.json({ id: after.id, state: after.state, version: after.version });
  });

  return router;
}
