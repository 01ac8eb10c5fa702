/**
 * What a case step writes, in one transaction each (issue #17: a round trip is the unit of cost): `apply` records a
 * plan — the transition, its outbound events, the next step's timer, this step's timer done, the audit rows and the
 * connectors' records of the payer's answers — guarded by the case version the step read; `finish` ends a step that
 * moves nothing; `awaitPublication` keeps a decided case waiting, without a fixed wait, until its events are
 * published. Used by ./case-advancer.ts and ./case-follow-up-steps.ts.
 */

import { type Actor, type AuditEntry, auditInsertStatements } from '../audit/audit-log.ts';
import type { DelegationLink } from '../audit/delegation.ts';
import {
  AWAITING_PUBLICATION,
  type CaseRecord,
  completeTimerStatement,
  EventsUnpublished,
  holdOutboxRows,
  isRetryContextEvent,
  openGate,
  type RetryContextFacts,
  retryContextColumnsSql,
  runTogether,
  scheduleTimer,
  scheduleTimerStatement,
  type TimerSpec,
  type Tx,
  transitionCase,
  withTransaction,
  writeTransitionOutbound,
} from '../store/index.ts';
import { raiseAfterCommit } from '../store/signals.ts';
import type { Statement } from '../store/together.ts';
import type { CaseState } from '../workflow/case-state-machine.ts';
import { advanceableStates, type TransitionPlan } from '../workflow/case-workflow.ts';
import type { CaseAdvancerDeps } from './case-advancer.ts';
import type { ClaimedTimer, StepLane } from './step-worker.ts';

export const WORKFLOW_ADVANCE = 'workflow.advance';
/** A decided case re-checks its events' publication this long after, unless the relay wakes it first (it does). */
const PUBLICATION_FALLBACK_MS = 5000;

export const workflowActor: Actor = { id: 'system:workflow' };

/** States whose next step may call a payer (eligibility, 278, 278 inquiry); others only write the database. */
const payerStepStates: ReadonlySet<string> = new Set(['validated', 'submitted', 'pended']);

/** The step worker lane of a case's next step, from the state it will be in (unknown states: 'payer'). */
export function stepLaneFor(state: string): StepLane {
  return payerStepStates.has(state) || !advanceableStates.has(state as CaseState) ? 'payer' : 'local';
}

/**
 * Schedules the next advance of a case inside the caller's transaction. `lane` says whether the step may call a
 * payer (default) or only writes the database (src/workers/step-worker.ts).
 */
export async function scheduleAdvance(
  tx: Pick<Tx, 'query'>,
  record: { tenant: string; id: string },
  dueAt: Date,
  at: Date,
  lane: StepLane = 'payer',
  payload?: Record<string, unknown>,
): Promise<void> {
  await scheduleTimer(tx, advanceTimer(record, dueAt, lane, payload), at);
}

export function advanceTimer(
  record: { tenant: string; id: string },
  dueAt: Date,
  lane: StepLane,
  payload?: Record<string, unknown>,
): TimerSpec {
  return {
    tenant: record.tenant,
    caseId: record.id,
    kind: WORKFLOW_ADVANCE,
    dueAt,
    lane,
    ...(payload ? { payload } : {}),
  };
}

/** The writes of a case's steps, for the advancer built on `deps`. */
export function createStepWrites(deps: CaseAdvancerDeps) {
  const { db, clock, logger } = deps;

  /**
   * Applies a plan: transition, outbound events, next step, timer done — one transaction. With `untilPublished`
   * (delivering a decided case) the transition happens only once the case's events are published; until then the
   * case waits (awaitPublication) and this timer is done.
   */
  async function apply(
    record: CaseRecord,
    timer: ClaimedTimer,
    plan: TransitionPlan,
    chain?: readonly DelegationLink[],
    extraAudit: readonly AuditEntry[] = [],
    untilPublished = false,
  ): Promise<void> {
    const at = clock.now();
    const held = heldForStep(record.id);
    const applied = await withTransaction(db.pool, async (tx) => {
      const audit: AuditEntry[] = [...extraAudit];
      // The outbox rows it writes (status event, ClaimResponse, task events …) are held back and written with the
      // step's last writes below, in order, in one statement.
      // The retry context's facts are read by the transition's own statement when nothing this step writes
      // before the status event can change them: no gate opened, and not an event the context reads.
      const factsAlong = deps.outbound !== undefined && !plan.gate && !isRetryContextEvent(plan.data);
      // And what the exception queue will look at for this event (a stopping case's open tasks and SLA timers).
      const exceptionColumns = deps.exceptions?.alsoSelectFor?.(plan.event);
      const alsoSelect = [factsAlong ? retryContextColumnsSql : undefined, exceptionColumns]
        .filter((c) => c !== undefined)
        .join(', ');
      const transitioned = await holdOutboxRows(tx, async () => {
        const result = await transitionCase(tx, {
          tenant: record.tenant,
          caseId: record.id,
          event: plan.event,
          actor: workflowActor,
          at,
          data: plan.data,
          patch: plan.patch,
          expectedVersion: record.version,
          asRead: record,
          auditTo: audit,
          ...(chain ? { chain } : {}),
          ...(alsoSelect ? { alsoSelect } : {}),
          ...(untilPublished ? { onlyOncePublished: true } : {}),
        });
        if (plan.gate)
          await openGate(tx, {
            tenant: record.tenant,
            caseId: record.id,
            caseVersion: result.after.version,
            at,
            spec: plan.gate,
          });
        // After the gate, so the status event's retry context counts it.
        await writeTransitionOutbound(tx, deps.outbound, {
          event: plan.event,
          after: result.after,
          previousState: result.before.state,
          at,
          ...(factsAlong && result.alsoRead
            ? { facts: result.alsoRead as unknown as RetryContextFacts }
            : {}),
        });
        // The SLA clock (CMS-0057-F, from submission) starts when the payer pends the case: see exceptions.
        await deps.exceptions?.onTransition(tx, {
          event: plan.event,
          data: plan.data ?? {},
          after: result.after,
          at,
          audit,
          ...(exceptionColumns && result.alsoRead ? { alsoRead: result.alsoRead } : {}),
        });
        return result;
      }).catch((error: unknown) => {
        if (error instanceof EventsUnpublished) return undefined; // nothing written; its rows locked here
        throw error;
      });
      if (!transitioned) {
        await awaitPublication(tx, record, timer, at);
        return false;
      }
      const { result, writeHeld } = transitioned;
      // The held outbox rows, the step's own timer done, the next step, the audit rows: one statement (nothing in
      // this transaction reads them back).
      const last = [...writeHeld, completeTimerStatement(timer.id)];
      if (plan.nextStepInMs !== undefined) {
        // A next step due at once keeps the case's place in the queue (due at its creation): under a backlog the
        // oldest case moves on first, whatever its stage, instead of every case waiting for the whole backlog to
        // pass each stage (issue #17).
        const dueAt = plan.nextStepInMs === 0 ? record.createdAt : new Date(at.getTime() + plan.nextStepInMs);
        const next = advanceTimer(record, dueAt, stepLaneFor(result.after.state), plan.nextStepPayload);
        last.push(scheduleTimerStatement(tx, next, at));
      }
      // With them, the connectors' records of the payer's answer (HeldWrites).
      await runTogether(tx, [...held.take(), ...last, ...auditInsertStatements(audit)], { thenCommit: true });
      return true;
    }).catch(held.giveBack);
    if (applied) logger.info({ caseId: record.id, event: plan.event, from: record.state }, 'case advanced');
  }

  async function finish(
    timer: ClaimedTimer,
    nextStepAt?: Date,
    lane: StepLane = 'payer',
    payload?: Record<string, unknown>,
  ): Promise<void> {
    const held = heldForStep(timer.caseId);
    await withTransaction(db.pool, async (tx) => {
      const next =
        nextStepAt && timer.caseId
          ? [
              scheduleTimerStatement(
                tx,
                advanceTimer({ tenant: timer.tenant, id: timer.caseId }, nextStepAt, lane, payload),
                clock.now(),
              ),
            ]
          : [];
      await runTogether(tx, [...held.take(), completeTimerStatement(timer.id), ...next], {
        thenCommit: true,
      });
    }).catch(held.giveBack);
  }

  /**
   * The writes held for a case's running step (HeldWrites), for one transaction: `take` them into its last
   * statement (the one with its COMMIT); if the transaction fails, `giveBack` holds them again for the step's end
   * to write, and rethrows.
   */
  function heldForStep(caseId: string | null) {
    let taken: Statement[] = [];
    const writes = caseId ? deps.heldWrites : undefined;
    return {
      take(): Statement[] {
        taken = writes?.take(caseId!) ?? [];
        return taken;
      },
      giveBack(error: unknown): never {
        if (taken.length > 0) writes?.giveBack(caseId!, taken);
        throw error;
      },
    };
  }

  /**
   * A decided case is delivered once its events are published. While some are not, the step waits without a fixed
   * wait: the relay wakes it as it publishes them (AWAITING_PUBLICATION), the due time below is only a fallback for
   * a relay that cannot publish. Runs in the delivering transaction, whose transition found the case's unpublished
   * outbox rows and locked them (transitionCase's onlyOncePublished): the relay, which skips rows locked elsewhere,
   * sees the timer written here when it marks them after this commit.
   */
  async function awaitPublication(tx: Tx, record: CaseRecord, timer: ClaimedTimer, at: Date): Promise<void> {
    const fallback = new Date(at.getTime() + PUBLICATION_FALLBACK_MS);
    await runTogether(
      tx,
      [
        scheduleTimerStatement(
          tx,
          advanceTimer(record, fallback, 'local', { [AWAITING_PUBLICATION]: true }),
          at,
        ),
        completeTimerStatement(timer.id),
      ],
      { thenCommit: true }, // the delivering transaction's last write
    );
    // A relay round that skipped the rows this transaction locked goes again once it commits.
    raiseAfterCommit(tx, 'outbox');
  }

  return { apply, finish };
}
