/**
 * The case advancer: runs the workflow's steps for 'workflow.advance' timers. Each step reads the case,
 * makes at most one payer call OUTSIDE any transaction, then records the result — transition, outbound events,
 * the next step's timer, and this timer's completion — in ONE transaction, guarded by the case version it read
 * (a case that moved meanwhile, say cancelled, makes the step re-read and re-decide instead of overwriting).
 */
import type { PayerCallContext, PayerChannel, PayerConnector } from '../../connectors/payer-connector.ts';
import { type Actor, type AuditEntry, appendAuditEntries } from '../audit/audit-log.ts';
import type { Clock } from '../clock.ts';
import { GatewayError } from '../errors/index.ts';
import type { Logger } from '../log/logger.ts';
import type { CaseOutboundPlanner } from '../outbound/planner.ts';
import {
  type CaseRecord,
  completeTimer,
  type Database,
  getCase,
  scheduleTimer,
  type Tx,
  transitionCase,
  withTransaction,
} from '../store/index.ts';
import { canTransition } from '../workflow/case-state-machine.ts';
import {
  advanceableStates,
  DEFAULT_PENDED_CHECK_MS,
  planAfterEligibility,
  planAfterEligibilityChecked,
  planAfterSubmission,
  planRouting,
  type Routing,
  type TransitionPlan,
  traceNumberFor,
} from '../workflow/case-workflow.ts';
import type { ClaimedTimer, StepKind } from './step-worker.ts';

export const WORKFLOW_ADVANCE = 'workflow.advance';
export const SLA_CHECK = 'sla.check';

const workflowActor: Actor = { id: 'system:workflow' };

export interface CaseAdvancerDeps {
  db: Database;
  clock: Clock;
  logger: Logger;
  /** Payer directory + PA rules for a request (pure). */
  route(record: CaseRecord, at: Date): Routing;
  connectors: Partial<Record<PayerChannel, PayerConnector>>;
  /** Outbound events for each transition (status event, ClaimResponse …): src/outbound/planner.ts. */
  outbound?: CaseOutboundPlanner;
}

/** Schedules the next advance of a case inside the caller's transaction. */
export async function scheduleAdvance(
  tx: Pick<Tx, 'query'>,
  record: { tenant: string; id: string },
  dueAt: Date,
  at: Date,
): Promise<void> {
  await scheduleTimer(tx, { tenant: record.tenant, caseId: record.id, kind: WORKFLOW_ADVANCE, dueAt }, at);
}

export function createCaseAdvancer(deps: CaseAdvancerDeps): StepKind {
  const { db, clock, logger } = deps;

  function connectorFor(channel: PayerChannel): PayerConnector {
    const connector = deps.connectors[channel];
    if (!connector)
      throw new GatewayError('PAGW_INTERNAL', `No connector configured for channel '${channel}'`, {
        retriable: false,
      });
    return connector;
  }

  function callContext(
    record: CaseRecord,
    routing: Extract<Routing, { kind: 'routed' }>,
    timer: ClaimedTimer,
  ): PayerCallContext {
    return {
      tenant: record.tenant,
      caseId: record.id,
      traceNumber: traceNumberFor(record.id),
      payer: routing.payer,
      attempt: timer.attempts,
      at: clock.now(),
    };
  }

  /** Applies a plan: transition, outbound events, next step, timer done — one transaction. */
  async function apply(record: CaseRecord, timer: ClaimedTimer, plan: TransitionPlan): Promise<void> {
    const at = clock.now();
    await withTransaction(db.pool, async (tx) => {
      const audit: AuditEntry[] = [];
      const result = await transitionCase(tx, {
        tenant: record.tenant,
        caseId: record.id,
        event: plan.event,
        actor: workflowActor,
        at,
        data: plan.data,
        patch: plan.patch,
        expectedVersion: record.version,
        outbox: (after, before) =>
          deps.outbound?.({ event: plan.event, after, previousState: before.state, at }) ?? [],
        auditTo: audit,
      });
      if (plan.nextStepInMs !== undefined)
        await scheduleAdvance(tx, record, new Date(at.getTime() + plan.nextStepInMs), at);
      if (plan.event === 'eligibility_checked' && result.after.slaDueAt) {
        await scheduleTimer(
          tx,
          { tenant: record.tenant, caseId: record.id, kind: SLA_CHECK, dueAt: result.after.slaDueAt },
          at,
        );
      }
      await completeTimer(tx, timer.id, at);
      await appendAuditEntries(tx, audit); // last, so the audit chain head is held only briefly
    });
    logger.info({ caseId: record.id, event: plan.event, from: record.state }, 'case advanced');
  }

  async function finish(timer: ClaimedTimer, nextStepAt?: Date): Promise<void> {
    await withTransaction(db.pool, async (tx) => {
      if (nextStepAt && timer.caseId)
        await scheduleAdvance(tx, { tenant: timer.tenant, id: timer.caseId }, nextStepAt, clock.now());
      await completeTimer(tx, timer.id, clock.now());
    });
  }

  async function run(timer: ClaimedTimer): Promise<void> {
    if (!timer.caseId) return finish(timer);
    const record = await getCase(db.pool, timer.tenant, timer.caseId);
    if (!record) return finish(timer);

    if (!advanceableStates.has(record.state)) return finish(timer); // waiting for a reviewer, or finished
    const routing = deps.route(record, clock.now());
    if (routing.kind !== 'routed') {
      // planRouting turns an unknown or unroutable payer into `failed` (legal only before a decision).
      const plan = planRouting(routing) as TransitionPlan;
      return canTransition(record.state, plan.event) ? apply(record, timer, plan) : finish(timer);
    }

    switch (record.state) {
      case 'validated': {
        const first = planRouting(routing);
        if (first !== 'check_eligibility') return apply(record, timer, first);
        const eligibility = await connectorFor(routing.channel).checkEligibility(
          record.request,
          callContext(record, routing, timer),
        );
        const plan = planAfterEligibility(eligibility, routing);
        if ('retry' in plan) throw new GatewayError('PAGW_INTERNAL', plan.reason, { retriable: true });
        return apply(record, timer, plan);
      }
      case 'eligibility_checked':
        return apply(record, timer, planAfterEligibilityChecked(routing, record.id));
      case 'submitted':
      case 'pended': {
        const connector = connectorFor(routing.channel);
        const ctx = callContext(record, routing, timer);
        // submit() is idempotent per trace number: after a crash it reconciles instead of sending twice.
        const outcome =
          record.state === 'submitted'
            ? await connector.submit(record.request, ctx)
            : await connector.inquire(record.request, ctx);
        const plan = planAfterSubmission(
          outcome,
          record.state,
          routing.pendedCheckAfterMs ?? DEFAULT_PENDED_CHECK_MS,
        );
        if ('stayPended' in plan) return finish(timer, new Date(clock.now().getTime() + plan.nextStepInMs));
        return apply(record, timer, plan);
      }
      case 'decided': {
        const pending = await db.pool.query<{ n: number }>(
          'SELECT count(*)::int AS n FROM outbox WHERE case_id = $1 AND published_at IS NULL',
          [record.id],
        );
        if (pending.rows[0]!.n > 0) return finish(timer, new Date(clock.now().getTime() + 500));
        return apply(record, timer, { event: 'delivered', data: {} });
      }
      default:
        return finish(timer);
    }
  }

  async function giveUp(timer: ClaimedTimer, error: unknown): Promise<void> {
    const record = timer.caseId ? await getCase(db.pool, timer.tenant, timer.caseId) : null;
    if (record && canTransition(record.state, 'failed')) {
      const code = error instanceof GatewayError ? error.code : 'PAGW_INTERNAL';
      return apply(record, timer, {
        event: 'failed',
        data: { reason: 'STEP_FAILED', step: record.state, errorCode: code },
      });
    }
    return finish(timer);
  }

  return { run, giveUp, maxAttempts: 8 };
}
