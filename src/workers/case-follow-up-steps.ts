/**
 * The case advancer's follow-up steps: what a case does besides moving through its workflow, each started by its
 * timer's payload (`run` in ./case-advancer.ts): withdraw a cancelled order at the payer, send the documents the
 * payer asked for, send an appeal and follow it, send a changed order, and ask the payer again about a decided
 * case. Like every step, each makes at most one payer call, outside any transaction, and records its result
 * through the advancer's `apply` (one transaction, guarded by the case version it read).
 */
import type { AuditEntry } from '../audit/audit-log.ts';
import { appendAuditEntries } from '../audit/audit-log.ts';
import type { DelegationLink } from '../audit/delegation.ts';
import { GatewayError } from '../errors/index.ts';
import { type CaseRecord, completeTimer, listGates, withTransaction } from '../store/index.ts';
import {
  DEFAULT_PENDED_CHECK_MS,
  planAfterSubmission,
  planDecisionUpdate,
  type Routing,
  type TransitionPlan,
} from '../workflow/case-workflow.ts';
import { decisionChanged } from '../workflow/decision-updates.ts';
import type {
  PayerCallContext,
  PayerChannel,
  PayerConnector,
  PayerTarget,
} from '../workflow/ports/payer-connector.ts';
import type { GateSpec } from '../workflow/review/gate.ts';
import { submissionKeyFor } from '../workflow/review/submission-key.ts';
import type { CaseAdvancerDeps } from './case-advancer.ts';
import type { ChannelStep } from './channel-step.ts';
import type { ClaimedTimer, StepLane } from './step-worker.ts';

type Routed = Extract<Routing, { kind: 'routed' }>;

/** What the follow-up steps share with the advancer's workflow steps. */
export interface FollowUpKit {
  readonly deps: CaseAdvancerDeps;
  readonly channels: ChannelStep;
  connectorFor(channel: PayerChannel): PayerConnector;
  callContext(
    record: CaseRecord,
    target: { readonly payer: PayerTarget },
    timer: ClaimedTimer,
  ): PayerCallContext;
  /** The connector that acted, and the vaulted login it used. */
  connectorLink(routing: Routed): DelegationLink;
  /** The people whose approval the submission rests on. */
  approverLinks(record: CaseRecord): Promise<DelegationLink[]>;
  gateFor(record: CaseRecord, routing: Routed, key: string): GateSpec | null;
  apply(
    record: CaseRecord,
    timer: ClaimedTimer,
    plan: TransitionPlan,
    chain?: readonly DelegationLink[],
  ): Promise<void>;
  finish(
    timer: ClaimedTimer,
    nextStepAt?: Date,
    lane?: StepLane,
    payload?: Record<string, unknown>,
  ): Promise<void>;
  stayPended(record: CaseRecord, timer: ClaimedTimer, routing: Routed, nextStepInMs: number): Promise<void>;
  withSlaClock(record: CaseRecord, routing: Routed, plan: TransitionPlan): Promise<TransitionPlan>;
}

export function createFollowUpSteps(kit: FollowUpKit) {
  const {
    deps,
    channels,
    connectorFor,
    callContext,
    connectorLink,
    approverLinks,
    gateFor,
    apply,
    finish,
    stayPended,
    withSlaClock,
  } = kit;
  const { db, clock, logger } = deps;

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

  return { withdraw, sendDocuments, submitAppeal, followAppeal, sendUpdate, recheckDecision };
}
