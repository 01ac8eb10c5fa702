/**
 * The case advancer: runs the workflow's steps for 'workflow.advance' timers. Each step reads the case,
 * makes its payer call OUTSIDE any transaction, then records the result — transition, outbound events,
 * the next step's timer, and this timer's completion — in ONE transaction, guarded by the case version it read
 * (a case that moved meanwhile, say cancelled, makes the step re-read and re-decide instead of overwriting).
 *
 * Channel choice (./channel-step.ts): eligibility and submission go to the first of the payer's channels that can
 * take the case, falling back after a failure that leaves nothing at the payer, and recording why; a channel that
 * may hold the request pins the case (reconciled there); follow-up goes to the channel that took it.
 */

import { operationOutcomeFor } from '../api/operation-outcome.ts';
import {
  type Actor,
  type AuditEntry,
  appendAuditEntries,
  auditInsertStatements,
} from '../audit/audit-log.ts';
import type { DelegationLink } from '../audit/delegation.ts';
import type { Clock } from '../clock.ts';
import { GatewayError } from '../errors/index.ts';
import type { AdvancerExceptions } from '../exceptions/transition-tasks.ts';
import { describeError, type Logger } from '../log/logger.ts';
import type { CaseOutboundPlanner } from '../outbound/planner.ts';
import type { HeldWrites } from '../store/held-writes.ts';
import {
  AWAITING_PUBLICATION,
  type CaseRecord,
  completeTimer,
  completeTimerStatement,
  type Database,
  getCase,
  getCases,
  holdOutboxRows,
  isRetryContextEvent,
  listGates,
  listReviewHistory,
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
import { type CaseState, canTransition } from '../workflow/case-state-machine.ts';
import {
  advanceableStates,
  DEFAULT_PENDED_CHECK_MS,
  planAfterEligibility,
  planAfterEligibilityChecked,
  planAfterSubmission,
  planDecisionUpdate,
  planKeyMismatch,
  planRouting,
  type Routing,
  type TransitionPlan,
  traceNumberFor,
} from '../workflow/case-workflow.ts';
import { decisionChanged } from '../workflow/decision-updates.ts';
import { planInformationRequest } from '../workflow/information-requests.ts';
import type {
  EligibilityResult,
  PayerCallContext,
  PayerChannel,
  PayerConnector,
  PayerTarget,
} from '../workflow/ports/payer-connector.ts';
import type { GateSpec } from '../workflow/review/gate.ts';
import { payerRuleGate } from '../workflow/review/payer-rule-gate.ts';
import { submissionKeyFor } from '../workflow/review/submission-key.ts';
import type { ChannelSelector } from './channel-selector.ts';
import { createChannelStep } from './channel-step.ts';
import type { ClaimedTimer, StepKind, StepLane } from './step-worker.ts';
import { approverLinks as approverLinksOf, readSubmitStepFacts } from './submit-step-facts.ts';

export const WORKFLOW_ADVANCE = 'workflow.advance';
export const SLA_CHECK = 'sla.check';
/** A decided case re-checks its events' publication this long after, unless the relay wakes it first (it does). */
const PUBLICATION_FALLBACK_MS = 5000;

const workflowActor: Actor = { id: 'system:workflow' };

export interface CaseAdvancerDeps {
  db: Database;
  clock: Clock;
  logger: Logger;
  /** Payer directory + PA rules for a request (pure). */
  route(record: CaseRecord, at: Date): Routing;
  connectors: Partial<Record<PayerChannel, PayerConnector>>;
  /** Channel fallback: configuration and availability per channel, and pinning (./channel-selector.ts). */
  selector?: ChannelSelector;
  /** Outbound events for each transition (status event, ClaimResponse …): src/outbound/planner.ts. */
  outbound?: CaseOutboundPlanner;
  /**
   * The review gate a case needs after eligibility, or null to submit (src/workflow/review/: tenant policies,
   * rollout mode, the payer's rule). Without it only the payer's rule stops a case, for a plain reviewer.
   */
  gateFor?(
    record: CaseRecord,
    routing: Extract<Routing, { kind: 'routed' }>,
    key: string,
    at: Date,
  ): GateSpec | null;
  /**
   * The exception queue (src/exceptions/transition-tasks.ts): tasks and SLA clocks that follow the workflow's
   * transitions, written in their transactions; and what happens when a pended case reaches its inquiry limit.
   */
  exceptions?: AdvancerExceptions;
  /**
   * Where the connectors leave the record of a payer's answer for the step's own transaction (HeldWrites): one
   * round trip and commit fewer per exchange. Without it they commit it alone.
   */
  heldWrites?: HeldWrites;
}

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

function advanceTimer(
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

export function createCaseAdvancer(deps: CaseAdvancerDeps): StepKind<CaseRecord | null> {
  const { db, clock, logger } = deps;

  function connectorFor(channel: PayerChannel): PayerConnector {
    const connector = deps.connectors[channel];
    if (!connector)
      throw new GatewayError('PAGW_INTERNAL', `No connector configured for channel '${channel}'`, {
        retriable: false,
      });
    return connector;
  }

  const channels = createChannelStep({ clock, logger, selector: deps.selector, connectorFor });

  function callContext(
    record: CaseRecord,
    target: { readonly payer: PayerTarget },
    timer: ClaimedTimer,
  ): PayerCallContext {
    return {
      tenant: record.tenant,
      caseId: record.id,
      traceNumber: traceNumberFor(record.id),
      payer: target.payer,
      attempt: timer.attempts,
      at: clock.now(),
    };
  }

  /** The connector that acted, and the vaulted login it used (a `vault:` reference, never a secret). */
  function connectorLink(routing: Extract<Routing, { kind: 'routed' }>): DelegationLink {
    const settings = routing.payer.settings as {
      credentialsRef?: unknown;
      clearinghouse?: { credentialsRef?: unknown; name?: unknown };
    };
    const credentials = settings.credentialsRef ?? settings.clearinghouse?.credentialsRef;
    const via = typeof settings.clearinghouse?.name === 'string' ? `:${settings.clearinghouse.name}` : '';
    return {
      as: 'connector',
      id: `connector:${routing.channel}${via}`,
      channel: routing.channel,
      onBehalfOf: `payer:${routing.payer.id}`,
      ...(typeof credentials === 'string' ? { credentials } : {}),
    };
  }

  /** The people whose approval the submission rests on (the last approved gate's approvers). */
  async function approverLinks(record: CaseRecord): Promise<DelegationLink[]> {
    const { gates, approvals } = await listReviewHistory(db.pool, record.tenant, record.id);
    return approverLinksOf(gates, approvals);
  }

  function gateFor(record: CaseRecord, routing: Extract<Routing, { kind: 'routed' }>, key: string) {
    return deps.gateFor ? deps.gateFor(record, routing, key, clock.now()) : payerRuleGate(routing, key);
  }

  /** Eligibility done: open the gate the policies ask for — unless this very request was approved already. */
  async function passGate(
    record: CaseRecord,
    timer: ClaimedTimer,
    routing: Extract<Routing, { kind: 'routed' }>,
  ): Promise<void> {
    const key = submissionKeyFor(record.request, routing.payer.id);
    const gate = gateFor(record, routing, key);
    if (gate && gate.rolloutMode !== 'shadow') {
      // A resumed workflow (a failed case retried) does not ask again for an approval it has: an approved gate
      // bound to exactly this request, not expired, lets it through.
      const now = clock.now();
      const approved = (await listGates(db.pool, record.tenant, record.id)).find(
        (g) => g.status === 'approved' && g.submissionKey === key && (!g.expiresAt || g.expiresAt > now),
      );
      if (approved) {
        const plan = planAfterEligibilityChecked(routing, record.id, null, key);
        return apply(record, timer, { ...plan, data: { ...plan.data, approvalReused: approved.seq } });
      }
    }
    return apply(record, timer, planAfterEligibilityChecked(routing, record.id, gate, key));
  }

  /**
   * The submit step recomputes the submission key from the case as it stands; a request that changed since it
   * was approved (or routed) is not sent: the case goes back to review, audited, before any payer call.
   */
  async function keyMismatch(
    record: CaseRecord,
    timer: ClaimedTimer,
    routing: Extract<Routing, { kind: 'routed' }>,
  ): Promise<boolean> {
    const current = submissionKeyFor(record.request, routing.payer.id);
    if (record.submissionKey === null || record.submissionKey === current) return false;
    const gate =
      gateFor(record, routing, current) ?? payerRuleGate({ ...routing, reviewRequired: true }, current)!;
    logger.warn(
      { caseId: record.id, errorCode: 'PAGW_IDEMPOTENCY_KEY_MISMATCH' },
      'submission refused: the request changed since it was approved',
    );
    const plan = planKeyMismatch(record.submissionKey, current, { ...gate, reason: 'key_mismatch' });
    // The refusal as the API would answer it (409 OperationOutcome), kept with the case event and audit row.
    const refusal = new GatewayError(
      'PAGW_IDEMPOTENCY_KEY_MISMATCH',
      'The request changed since it was approved; it was not submitted and is back in review',
      { problems: [{ location: 'submissionKey', message: 'differs from the approved key' }] },
    );
    await apply(record, timer, {
      ...plan,
      data: { ...plan.data, operationOutcome: operationOutcomeFor(refusal).body },
    });
    return true;
  }

  /**
   * Applies a plan: transition, outbound events, next step, timer done — one transaction. `waitFirst`, when given,
   * runs first in the same transaction and may decide the case waits instead (it then completes the timer itself).
   */
  async function apply(
    record: CaseRecord,
    timer: ClaimedTimer,
    plan: TransitionPlan,
    chain?: readonly DelegationLink[],
    extraAudit: readonly AuditEntry[] = [],
    waitFirst?: (tx: Tx, at: Date) => Promise<boolean>,
  ): Promise<void> {
    const at = clock.now();
    const held = heldForStep(record.id);
    const applied = await withTransaction(db.pool, async (tx) => {
      if (waitFirst && (await waitFirst(tx, at))) return false;
      const audit: AuditEntry[] = [...extraAudit];
      // The outbox rows it writes (status event, ClaimResponse, task events …) are held back and written with the
      // step's last writes below, in order, in one statement.
      // The retry context's facts are read by the transition's own statement when nothing this step writes
      // before the status event can change them: no gate opened, and not an event the context reads.
      const factsAlong = deps.outbound !== undefined && !plan.gate && !isRetryContextEvent(plan.data);
      const { result, writeHeld } = await holdOutboxRows(tx, async () => {
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
          ...(factsAlong ? { alsoSelect: retryContextColumnsSql } : {}),
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
          ...(result.alsoRead ? { facts: result.alsoRead as unknown as RetryContextFacts } : {}),
        });
        // The SLA clock (CMS-0057-F, from submission) starts when the payer pends the case: see exceptions.
        await deps.exceptions?.onTransition(tx, {
          event: plan.event,
          data: plan.data ?? {},
          after: result.after,
          at,
          audit,
        });
        return result;
      });
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
      await held.committing(() =>
        runTogether(tx, [...held.take(), ...last, ...auditInsertStatements(audit)], { thenCommit: true }),
      );
      return true;
    }).finally(held.release);
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
      await held.committing(() =>
        runTogether(tx, [...held.take(), completeTimerStatement(timer.id), ...next], { thenCommit: true }),
      );
    }).finally(held.release);
  }

  /**
   * The writes held for a case's running step (HeldWrites), for one transaction: `take` them into its last
   * statement and run that through `committing`; `release` (when the transaction has ended) gives them back when
   * it did not commit them, for the step's end to write.
   */
  function heldForStep(caseId: string | null) {
    let taken: Statement[] = [];
    let committed = false;
    const writes = caseId ? deps.heldWrites : undefined;
    return {
      take(): Statement[] {
        taken = writes?.take(caseId!) ?? [];
        return taken;
      },
      async committing(work: () => Promise<void>): Promise<void> {
        await work();
        committed = true;
      },
      release(): void {
        if (!committed && taken.length > 0) writes?.giveBack(caseId!, taken);
      },
    };
  }

  /**
   * A decided case is delivered once its events are published. While some are not, the step waits without a fixed
   * wait: the relay wakes it as it publishes them (AWAITING_PUBLICATION), the due time below is only a fallback for
   * a relay that cannot publish. Returns true when the case waits (this timer done, the next one scheduled). Runs
   * in the transaction that delivers the case when nothing is left to publish (one transaction, not two).
   */
  async function awaitPublication(
    tx: Tx,
    record: CaseRecord,
    timer: ClaimedTimer,
    at: Date,
  ): Promise<boolean> {
    // FOR UPDATE waits for a relay publishing these rows right now (PostgreSQL: it holds their locks until it has
    // marked them), so either they read as published here, or the relay has not claimed them yet and will see the
    // timer this transaction writes when it marks them.
    const { rows } = await tx.query(
      'SELECT id FROM outbox WHERE case_id = $1 AND published_at IS NULL FOR UPDATE',
      [record.id],
    );
    if (rows.length === 0) return false;
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
      { thenCommit: true }, // the delivering transaction's last write (apply's waitFirst)
    );
    // A relay round that skipped the rows this transaction locked goes again once it commits.
    raiseAfterCommit(tx, 'outbox');
    return true;
  }

  /**
   * A pended case stays pended: ask again on the payer's schedule, counting the inquiries in the timer's payload —
   * until the payer's maxInquiries, when a person takes over (an inquiry_limit task) instead of endless polling.
   */
  async function stayPended(
    record: CaseRecord,
    timer: ClaimedTimer,
    routing: Extract<Routing, { kind: 'routed' }>,
    nextStepInMs: number,
  ): Promise<void> {
    const inquiries = Number(timer.payload?.inquiries ?? 0) + 1;
    const max = routing.maxInquiries;
    if (!max || !deps.exceptions || inquiries < max)
      return finish(timer, new Date(clock.now().getTime() + nextStepInMs), 'payer', { inquiries });
    const at = clock.now();
    await withTransaction(db.pool, async (tx) => {
      const audit: AuditEntry[] = [];
      await deps.exceptions!.onInquiryLimit(tx, { record, inquiries, maxInquiries: max, at, audit });
      await completeTimer(tx, timer.id, at);
      await appendAuditEntries(tx, audit);
    });
    logger.warn(
      { caseId: record.id, inquiries },
      'pended case reached its inquiry limit: a person follows up',
    );
  }

  /** The pended plan with the payer's decision clock: from the first submission, the payer's hours for the urgency. */
  async function withSlaClock(
    record: CaseRecord,
    routing: Extract<Routing, { kind: 'routed' }>,
    plan: TransitionPlan,
  ): Promise<TransitionPlan> {
    if (plan.event !== 'pended' || !routing.slaHours) return plan;
    const { rows } = await db.pool.query<{ submitted_at: Date | null }>(
      'SELECT submitted_at FROM cases WHERE id = $1',
      [record.id],
    );
    const startedAt = rows[0]?.submitted_at ?? clock.now();
    const slaDueAt = new Date(startedAt.getTime() + routing.slaHours * 3_600_000);
    return {
      ...plan,
      data: { ...plan.data, slaStartedAt: startedAt.toISOString(), slaHours: routing.slaHours },
      patch: { ...plan.patch, slaDueAt },
    };
  }

  /**
   * The EHR cancelled the order of a case the payer holds (src/exceptions/cancellations.ts): withdraw it at the payer
   * (278 with certification type 3, PAS cancel, the portal's withdraw flow), then `cancelled` with the payer's answer.
   */
  async function withdraw(record: CaseRecord, timer: ClaimedTimer): Promise<void> {
    if (record.state !== 'submitted' && record.state !== 'pended') return finish(timer);
    const data = { reason: 'ORDER_CANCELLED', via: timer.payload.via ?? null };
    const routing = deps.route(record, clock.now());
    if (routing.kind !== 'routed')
      return apply(record, timer, { event: 'cancelled', data: { ...data, atPayer: false } });
    // To the channel that took the request (a fallback portal, not the payer's first channel), as documents go.
    const via = channels.viaCandidate(routing, channels.current(routing, record));
    const outcome = await connectorFor(via.channel).cancel(record.request, callContext(record, via, timer));
    return apply(
      record,
      timer,
      {
        event: 'cancelled',
        data: {
          ...data,
          atPayer: true,
          payerAnswer: outcome.kind,
          reviewActionCode: outcome.kind === 'rejected' ? null : (outcome.decision.reviewActionCode ?? null),
        },
        ...(outcome.kind === 'decided' ? { patch: { decision: outcome.decision } } : {}),
      },
      [connectorLink(via)],
    );
  }

  /**
   * Documents the payer asked for were uploaded and a person sent them (a more_information task): the channel's
   * connector delivers them (X12 275), then `documents_sent` and an inquiry at once (the payer decides on them).
   */
  async function sendDocuments(record: CaseRecord, timer: ClaimedTimer): Promise<void> {
    if (record.state !== 'pended' || !deps.exceptions) return finish(timer);
    const routing = deps.route(record, clock.now());
    if (routing.kind !== 'routed') return finish(timer);
    // To the channel that took the request (a fallback portal, not the payer's first channel).
    const via = channels.viaCandidate(routing, channels.current(routing, record));
    const connector = connectorFor(via.channel);
    if (!connector.sendAttachments || connector.canSendAttachments?.(via.payer) === false) {
      // The channel cannot send them (no such method, a portal recipe without an upload flow): the case stays pended
      // (its follow-up continues) and the documents go back to a person, who sends them to the payer another way.
      const at = clock.now();
      await withTransaction(db.pool, async (tx) => {
        const audit: AuditEntry[] = [];
        await deps.exceptions!.onDocumentsNotSent(tx, { record, channel: via.channel, at, audit });
        await completeTimer(tx, timer.id, at);
        await appendAuditEntries(tx, audit);
      });
      logger.warn(
        { caseId: record.id, channel: via.channel },
        'the channel cannot send documents: they are left to a person',
      );
      return;
    }
    const documents = await deps.exceptions.attachmentsToSend(record, `connector:${via.channel}`);
    if (documents.length === 0) return finish(timer);
    const { sent } = await connector.sendAttachments(
      record.request,
      documents,
      callContext(record, via, timer),
    );
    return apply(
      record,
      timer,
      {
        event: 'documents_sent',
        data: {
          documentIds: documents.map((d) => d.documentId),
          sent,
          via: via.channel === 'x12' ? 'x12-275' : via.channel,
        },
        nextStepInMs: 0,
      },
      [connectorLink(via)],
    );
  }

  /**
   * An approved appeal goes to the payer by its channel (connector `appeal`: X12 278 with an appeal certification type
   * and the letter in a 275), then `appeal_submitted`; the exceptions module schedules its follow-up.
   */
  async function submitAppeal(record: CaseRecord, timer: ClaimedTimer, appealId: string): Promise<void> {
    // A denial still being delivered: the appeal waits for it.
    if (record.state === 'decided')
      return finish(timer, new Date(clock.now().getTime() + 1000), 'payer', timer.payload);
    if (record.state !== 'delivered' || !deps.exceptions) return finish(timer);
    const routing = deps.route(record, clock.now());
    if (routing.kind !== 'routed') return finish(timer);
    const connector = connectorFor(routing.channel);
    if (!connector.appeal) {
      if (!routing.appealEmail)
        throw new GatewayError(
          'PAGW_INTERNAL',
          `The ${routing.channel} connector cannot send an appeal and the payer has no appeal address`,
          { retriable: false },
        );
      // The payer's appeal address, the letter attached; a person records the payer's answer (appeal_outcome).
      const mailed = await deps.exceptions.mailAppeal(record, appealId, routing.appealEmail, clock.now());
      if (!mailed) return finish(timer);
      return apply(record, timer, {
        event: 'appeal_submitted',
        data: { appealId, via: 'email', messageId: mailed.messageId },
      });
    }
    const appeal = await deps.exceptions.appealToSend(record, appealId, `connector:${routing.channel}`);
    if (!appeal) return finish(timer);
    const outcome = await connector.appeal(record.request, appeal, callContext(record, routing, timer));
    if (outcome.kind === 'rejected')
      throw new GatewayError('PAGW_X12_AAA_REJECTED', 'The payer refused the appeal');
    return apply(
      record,
      timer,
      {
        event: 'appeal_submitted',
        data: {
          appealId,
          via: routing.channel === 'x12' ? 'x12-278' : routing.channel,
          payerAnswer: outcome.kind,
          reviewActionCode: outcome.decision.reviewActionCode ?? null,
          followUpInMs:
            outcome.kind === 'decided'
              ? 0
              : (outcome.checkAfterMs ?? routing.pendedCheckAfterMs ?? DEFAULT_PENDED_CHECK_MS),
        },
      },
      [connectorLink(routing)],
    );
  }

  /** The payer's answer to an appeal: asked on its schedule until it decides, then `appeal_decided`. */
  async function followAppeal(record: CaseRecord, timer: ClaimedTimer, appealId: string): Promise<void> {
    if (record.state !== 'delivered') return finish(timer);
    const routing = deps.route(record, clock.now());
    if (routing.kind !== 'routed') return finish(timer);
    const outcome = await connectorFor(routing.channel).inquire(
      record.request,
      callContext(record, routing, timer),
    );
    if (outcome.kind === 'pended')
      return finish(
        timer,
        new Date(
          clock.now().getTime() +
            (outcome.checkAfterMs ?? routing.pendedCheckAfterMs ?? DEFAULT_PENDED_CHECK_MS),
        ),
        'payer',
        timer.payload,
      );
    if (outcome.kind === 'rejected') return finish(timer);
    return apply(
      record,
      timer,
      {
        event: 'appeal_decided',
        data: {
          appealId,
          outcome: outcome.decision.outcome,
          reviewActionCode: outcome.decision.reviewActionCode ?? null,
        },
        patch: { decision: outcome.decision },
      },
      [connectorLink(routing)],
    );
  }

  /**
   * A changed order the payer holds: to review first when the changed request needs a review it does not have (its
   * submission key differs from the one the live submission was bound to, and the policies ask for a gate), else
   * to the payer as an update of the live submission (connector `update`: X12 278 UM02 S) on the channel that took
   * it; the payer's answer moves the case on like a submission's.
   */
  async function sendUpdate(
    record: CaseRecord,
    timer: ClaimedTimer,
    routing: Extract<Routing, { kind: 'routed' }>,
  ): Promise<void> {
    const via = channels.viaCandidate(routing, channels.current(routing, record));
    const key = submissionKeyFor(record.request, via.payer.id);
    if (record.submissionKey !== key) {
      const gate = gateFor(record, via, key);
      const now = clock.now();
      const approved =
        gate &&
        (await listGates(db.pool, record.tenant, record.id)).some(
          (g) => g.status === 'approved' && g.submissionKey === key && (!g.expiresAt || g.expiresAt > now),
        );
      if (gate && gate.rolloutMode !== 'shadow' && !approved)
        return apply(record, timer, {
          event: 'review_reopened',
          data: {
            reason: 'ORDER_CHANGED',
            approvedKey: record.submissionKey,
            submissionKey: key,
            requiredRole: gate.requiredRole,
          },
          patch: { submissionKey: null },
          gate: { ...gate, reason: 'order_changed' },
        });
    }
    const connector = connectorFor(via.channel);
    if (!connector.update)
      throw new GatewayError('PAGW_INTERNAL', `The ${via.channel} connector cannot send a changed order`, {
        retriable: false,
      });
    const outcome = await connector.update(record.request, callContext(record, via, timer));
    const plan = planAfterSubmission(outcome, 'submitted', via.pendedCheckAfterMs ?? DEFAULT_PENDED_CHECK_MS);
    if ('stayPended' in plan) return stayPended(record, timer, via, plan.nextStepInMs);
    return apply(
      record,
      timer,
      await withSlaClock(record, via, {
        ...plan,
        data: { ...plan.data, update: via.channel === 'x12' ? 'x12-278-revision' : via.channel },
        patch: { ...plan.patch, submissionKey: key },
      }),
      [...(await approverLinks(record)), connectorLink(via)],
    );
  }

  /**
   * Asks the payer about a decided case once more (a payer's notification, or followUp.recheckAfterDecisionHours): an
   * answer that differs from the case's decision is recorded as `decision_updated` and published like a decision.
   */
  async function recheckDecision(record: CaseRecord, timer: ClaimedTimer): Promise<void> {
    if ((record.state !== 'decided' && record.state !== 'delivered') || !record.decision)
      return finish(timer);
    const routing = deps.route(record, clock.now());
    if (routing.kind !== 'routed') return finish(timer);
    const via = channels.viaCandidate(routing, channels.current(routing, record));
    const outcome = await connectorFor(via.channel).inquire(record.request, callContext(record, via, timer));
    if (outcome.kind !== 'decided' || !decisionChanged(record.decision, outcome.decision))
      return finish(timer);
    return apply(
      record,
      timer,
      planDecisionUpdate(record.decision, outcome.decision, timer.payload?.via ?? via.channel),
      [connectorLink(via)],
    );
  }

  /** The cases of one claim's steps, in one read: a step that finds its case here does not read it again. */
  async function prepare(timers: readonly ClaimedTimer[]): Promise<ReadonlyMap<number, CaseRecord | null>> {
    const withCase = timers.filter((t) => t.caseId !== null);
    const cases = await getCases(
      db.pool,
      withCase.map((t) => ({ tenant: t.tenant, caseId: t.caseId! })),
    );
    return new Map(
      withCase.map((t) => {
        const record = cases.get(t.caseId!);
        return [t.id, record && record.tenant === t.tenant ? record : null];
      }),
    );
  }

  /** A step, holding the connectors' records of the payer's answers for its transaction (HeldWrites). */
  async function run(timer: ClaimedTimer, prepared?: CaseRecord | null): Promise<void> {
    const writes = deps.heldWrites;
    if (!timer.caseId || !writes) return runStep(timer, prepared);
    writes.begin(timer.caseId);
    try {
      await runStep(timer, prepared);
    } finally {
      // What the step did not commit (it failed, or ended without a transaction of its own) is written alone.
      const rest = writes.end(timer.caseId);
      if (rest.length > 0)
        await runTogether(db.pool, rest).catch((error: unknown) =>
          // The exchanges stay `sending`: the next attempt reconciles them with the payer by trace number.
          logger.warn({ caseId: timer.caseId, ...describeError(error) }, 'could not record a payer answer'),
        );
    }
  }

  async function runStep(timer: ClaimedTimer, prepared?: CaseRecord | null): Promise<void> {
    if (!timer.caseId) return finish(timer);
    const record = prepared !== undefined ? prepared : await getCase(db.pool, timer.tenant, timer.caseId);
    if (!record) return finish(timer);
    if (timer.payload?.cancel === true) return withdraw(record, timer);
    if (timer.payload?.attachments === true) return sendDocuments(record, timer);
    if (typeof timer.payload?.appeal === 'string') return submitAppeal(record, timer, timer.payload.appeal);
    if (typeof timer.payload?.appealFollowUp === 'string')
      return followAppeal(record, timer, timer.payload.appealFollowUp);
    if (timer.payload?.recheck === true) return recheckDecision(record, timer);

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
        if (first !== 'check_eligibility' && !routing.paRequired) return apply(record, timer, first);
        // Eligibility on the first channel that can take the case; a channel without it (a portal) skips it.
        const notChecked: EligibilityResult = {
          status: 'active',
          messages: ['eligibility not checked: the channel has no inquiry'],
        };
        const run = await channels.onChannel(
          record,
          routing,
          undefined,
          (c, connector): Promise<EligibilityResult> =>
            c.checkEligibility
              ? connector.checkEligibility(record.request, callContext(record, c, timer))
              : Promise.resolve(notChecked),
        );
        const via = channels.viaCandidate(routing, run.candidate);
        const plan = planAfterEligibility(run.result, via);
        if ('retry' in plan) throw new GatewayError('PAGW_INTERNAL', plan.reason, { retriable: true });
        const recorded = channels.record(record, plan, run, workflowActor);
        return apply(record, timer, recorded.plan, [connectorLink(via)], recorded.audit);
      }
      case 'eligibility_checked':
        return passGate(record, timer, channels.viaCandidate(routing, channels.current(routing, record)));
      case 'submitted': {
        const facts = await readSubmitStepFacts(db.pool, record.tenant, record.id);
        if (facts.updateDue) return sendUpdate(record, timer, routing);
        if (await keyMismatch(record, timer, routing)) return;
        // submit() is idempotent per trace number: after a crash it reconciles instead of sending twice; a channel
        // that may already hold the request is the only one asked.
        const run = await channels.onChannel(record, routing, facts.pinned, (c, connector) =>
          connector.submit(record.request, callContext(record, c, timer)),
        );
        const via = channels.viaCandidate(routing, run.candidate);
        const plan = planAfterSubmission(
          run.result,
          'submitted',
          via.pendedCheckAfterMs ?? DEFAULT_PENDED_CHECK_MS,
        );
        if ('stayPended' in plan) return stayPended(record, timer, via, plan.nextStepInMs);
        const recorded = channels.record(record, plan, run, workflowActor);
        return apply(
          record,
          timer,
          await withSlaClock(record, via, recorded.plan),
          [...facts.approvers, connectorLink(via)],
          recorded.audit,
        );
      }
      case 'pended': {
        // Follow-up goes to the channel that took the request.
        const via = channels.viaCandidate(routing, channels.current(routing, record));
        const outcome = await connectorFor(via.channel).inquire(
          record.request,
          callContext(record, via, timer),
        );
        const plan = planAfterSubmission(
          outcome,
          'pended',
          via.pendedCheckAfterMs ?? DEFAULT_PENDED_CHECK_MS,
        );
        if ('stayPended' in plan) {
          // Still pended, but asking for documents it had not asked for: recorded, the documents task opens.
          const asked = planInformationRequest(record.decision, plan, timer.payload, via.channel);
          if (asked) return apply(record, timer, asked, [connectorLink(via)]);
          return stayPended(record, timer, via, plan.nextStepInMs);
        }
        return apply(record, timer, await withSlaClock(record, via, plan), [
          ...(await approverLinks(record)),
          connectorLink(via),
        ]);
      }
      case 'decided': {
        // A payer that may revise its answers is asked once more later (payer followUp.recheckAfterDecisionHours).
        const recheckMs = channels.current(routing, record).recheckAfterDecisionMs;
        return apply(
          record,
          timer,
          {
            event: 'delivered',
            data: {},
            ...(recheckMs ? { nextStepInMs: recheckMs, nextStepPayload: { recheck: true } } : {}),
          },
          undefined,
          [],
          (tx, at) => awaitPublication(tx, record, timer, at),
        );
      }
      default:
        return finish(timer);
    }
  }

  async function giveUp(timer: ClaimedTimer, error: unknown): Promise<void> {
    const record = timer.caseId ? await getCase(db.pool, timer.tenant, timer.caseId) : null;
    if (record && canTransition(record.state, 'failed')) {
      const code = error instanceof GatewayError ? error.code : 'PAGW_INTERNAL';
      // Where and why, for the person handling the exception: problems name places (recipe steps, channels,
      // references) and never hold PHI.
      const problems = error instanceof GatewayError ? error.problems.slice(0, 10) : [];
      return apply(record, timer, {
        event: 'failed',
        data: {
          reason: 'STEP_FAILED',
          step: record.state,
          errorCode: code,
          ...(problems.length > 0 ? { problems } : {}),
        },
      });
    }
    return finish(timer);
  }

  return { prepare, run, giveUp, maxAttempts: 8 };
}
