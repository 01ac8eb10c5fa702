/**
 * SLA escalation (issue #14 item 5): the payer's decision clock (src/workflow/tasks/sla.ts) is started when the payer
 * pends a case, with a timer per warning fraction and one at the due time. Each fires inside the timer worker's
 * transaction (in-transaction timers), and on a case the payer still holds undecided:
 *   warning: `sla_warning` (a status event on pa.status.v1), an `sla_at_risk` task opened or escalated with a raised
 *            priority, and the `sla_warning` e-mail to utilization review;
 *   breach:  `sla_breached`, the case flagged (`sla_breached_at`, shown in every view), an urgent `sla_breached`
 *            task (the at-risk one closed into it), the e-mail.
 * A case decided, rejected or cancelled first has its clock stopped (timers cancelled, SLA tasks closed).
 */
import { type AuditEntry, appendAuditEntries } from '../audit/audit-log.ts';
import type { Clock } from '../clock.ts';
import type { Logger } from '../log/logger.ts';
import type { CaseOutboundPlanner } from '../outbound/planner.ts';
import type { TaskOutboundPlanner } from '../outbound/tasks/task-outbound.ts';
import { type CaseRecord, getCaseForUpdate, transitionCase } from '../store/cases.ts';
import type { Tx } from '../store/sql.ts';
import {
  cancelTimersAndLockOpenTasks,
  closeCaseTasks,
  closeTasks,
  openTask,
  stopWorkPendingSql,
  type TaskRecord,
} from '../store/tasks.ts';
import { cancelTimers, type DueTimer, scheduleTimer, type TimerHandler } from '../store/timers.ts';
import type { CaseEventType } from '../workflow/case-state-machine.ts';
import { type SlaClock, slaReasonCode, slaTaskPriority, warningTimes } from '../workflow/tasks/sla.ts';
import { planTask, type TaskKind } from '../workflow/tasks/tasks.ts';
import { type ActionContext, taskWrites } from './task-actions.ts';

/** A warning point of a case's decision clock (payload: { fraction }). */
export const SLA_WARN = 'sla.warn';
/** The due time of a case's decision clock: a breach if the case is still undecided. */
export const SLA_BREACH = 'sla.check';

const slaActor = { id: 'system:sla-watch' };

export interface SlaWatchDeps {
  readonly clock: Clock;
  readonly logger?: Logger;
  readonly outbound?: CaseOutboundPlanner;
  readonly taskOutbound?: TaskOutboundPlanner;
  /** config.sla.warnAtFractions. */
  readonly warnAtFractions: readonly number[];
}

/** Schedules the clock's warnings and its due time for a case (inside the transaction that pended it). */
export async function startSlaClock(
  tx: Pick<Tx, 'query'>,
  deps: Pick<SlaWatchDeps, 'warnAtFractions'>,
  record: Pick<CaseRecord, 'tenant' | 'id'>,
  clock: SlaClock,
  at: Date,
): Promise<void> {
  await cancelTimers(tx, record.id, [SLA_WARN, SLA_BREACH], at);
  for (const warning of warningTimes(clock, deps.warnAtFractions)) {
    await scheduleTimer(
      tx,
      {
        tenant: record.tenant,
        caseId: record.id,
        kind: SLA_WARN,
        dueAt: warning.at,
        payload: { fraction: warning.fraction },
      },
      at,
    );
  }
  await scheduleTimer(
    tx,
    { tenant: record.tenant, caseId: record.id, kind: SLA_BREACH, dueAt: clock.dueAt },
    at,
  );
}

/** The tasks of a case's decision clock: a stopped clock resolves them. */
const slaTaskKinds: readonly TaskKind[] = ['sla_at_risk', 'sla_breached'];

/**
 * A case stopped (decided, rejected, not required, cancelled): its clock stops (timers cancelled, SLA tasks resolved
 * with `reason`), then its open tasks of `others.kinds` (every kind when absent) close with `others.outcome`. One
 * read for all of it: on most cases there is nothing to cancel or close (issue #17).
 */
/** What stopCase would find, as a column of the stopping transition's statement (stopWorkPendingSql). */
export const stopCaseColumnSql = stopWorkPendingSql([SLA_WARN, SLA_BREACH]);

export async function stopCase(
  tx: Tx,
  deps: Pick<SlaWatchDeps, 'taskOutbound'>,
  ctx: ActionContext,
  after: CaseRecord,
  reason: string,
  others: { kinds?: readonly TaskKind[]; outcome: 'resolved' | 'cancelled' },
  /** False when the transition's statement found nothing to stop (stopCaseColumnSql): no read at all. */
  pending?: boolean,
): Promise<void> {
  if (pending === false) return;
  const open = await cancelTimersAndLockOpenTasks(tx, ctx.tenant, after.id, [SLA_WARN, SLA_BREACH]);
  if (open.length === 0) return;
  const isSla = (task: TaskRecord) => slaTaskKinds.includes(task.kind);
  const writes = taskWrites(deps, ctx, after);
  await closeTasks(tx, open.filter(isSla), 'resolved', { reason }, writes);
  const closing = open.filter((task) => !isSla(task) && (!others.kinds || others.kinds.includes(task.kind)));
  await closeTasks(tx, closing, others.outcome, { reason }, writes);
}

async function submittedAt(tx: Tx, caseId: string): Promise<string | undefined> {
  const { rows } = await tx.query<{ submitted_at: Date | null }>(
    'SELECT submitted_at FROM cases WHERE id = $1',
    [caseId],
  );
  return rows[0]?.submitted_at?.toISOString();
}

export function createSlaHandlers(deps: SlaWatchDeps): Record<string, TimerHandler> {
  async function escalate(tx: Tx, timer: DueTimer, fraction: number): Promise<void> {
    if (!timer.caseId) return;
    const record = await getCaseForUpdate(tx, timer.tenant, timer.caseId);
    // Only a case the payer still holds undecided; a warning raised once (a redelivered timer changes nothing).
    if (record?.state !== 'pended' || record.slaBreachedAt) return;
    const warned = await tx.query<{ sla_warned: number | null }>(
      'SELECT sla_warned FROM cases WHERE id = $1',
      [record.id],
    );
    const breach = fraction >= 1;
    if (!breach && (warned.rows[0]?.sla_warned ?? 0) >= fraction) return;
    const at = deps.clock.now();
    const audit: AuditEntry[] = [];
    const ctx: ActionContext = { tenant: record.tenant, actor: slaActor, at, audit };
    const event: CaseEventType = breach ? 'sla_breached' : 'sla_warning';
    // The flag first, so the transition's status event already carries it.
    await tx.query(
      breach
        ? 'UPDATE cases SET sla_breached_at = $2 WHERE id = $1'
        : 'UPDATE cases SET sla_warned = $2 WHERE id = $1',
      [record.id, breach ? at : fraction],
    );
    const result = await transitionCase(tx, {
      tenant: record.tenant,
      caseId: record.id,
      event,
      actor: slaActor,
      at,
      data: {
        reason: slaReasonCode(fraction),
        fraction,
        slaDueAt: record.slaDueAt?.toISOString() ?? null,
      },
      expectedVersion: record.version,
      outbox: (after, before) => deps.outbound?.({ event, after, previousState: before.state, at }) ?? [],
      auditTo: audit,
    });
    const after = result.after;
    const urgency = record.request.urgency;
    const details = { fraction, submittedAt: await submittedAt(tx, record.id) };
    if (breach) {
      await closeCaseTasks(
        tx,
        ctx.tenant,
        record.id,
        ['sla_at_risk'],
        'resolved',
        { reason: 'SLA_BREACHED' },
        taskWrites(deps, ctx, after),
      );
    }
    await openTask(tx, {
      tenant: record.tenant,
      caseId: record.id,
      spec: planTask(
        breach ? 'sla_breached' : 'sla_at_risk',
        { urgency, at, slaDueAt: record.slaDueAt },
        {
          reasonCodes: [slaReasonCode(fraction)],
          dedupeKey: breach ? 'sla_breached' : 'sla_at_risk',
          priority: slaTaskPriority(fraction),
          details,
          ...(breach ? {} : { dueAt: record.slaDueAt }),
        },
      ),
      ...taskWrites(deps, ctx, after),
    });
    await appendAuditEntries(tx, audit);
    deps.logger?.warn(
      { caseId: record.id, fraction, slaDueAt: record.slaDueAt },
      breach ? 'case SLA breached' : 'case SLA at risk',
    );
  }

  return {
    [SLA_WARN]: (tx, timer) => escalate(tx, timer, Number(timer.payload.fraction)),
    [SLA_BREACH]: (tx, timer) => escalate(tx, timer, 1),
  };
}
