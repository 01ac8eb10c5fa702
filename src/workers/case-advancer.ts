/**
 * The case advancer: runs the workflow's steps for 'workflow.advance' timers. Each step reads the case,
 * makes its payer call OUTSIDE any transaction, then records the result — transition, outbound events,
 * the next step's timer, and this timer's completion — in ONE transaction, guarded by the case version it read
 * (a case that moved meanwhile, say cancelled, makes the step re-read and re-decide instead of overwriting).
 *
 * Channel choice (./channel-step.ts): eligibility and submission go to the first of the payer's channels that can
 * take the case, falling back after a failure that leaves nothing at the payer, and recording why; a channel that
 * may hold the request pins the case (reconciled there); follow-up goes to the channel that took it.
 *
 * The workflow's own steps are here; what a step writes is in ./case-step-writes.ts, and the steps a timer's
 * payload starts (withdraw, documents, appeals, a changed order, a recheck) in ./case-follow-up-steps.ts.
 */

import { operationOutcomeFor } from '../api/operation-outcome.ts';
import { type AuditEntry, appendAuditEntries } from '../audit/audit-log.ts';
import type { DelegationLink } from '../audit/delegation.ts';
import type { Clock } from '../clock.ts';
import { GatewayError } from '../errors/index.ts';
import type { AdvancerExceptions } from '../exceptions/transition-tasks.ts';
import { describeError, type Logger } from '../log/logger.ts';
import type { CaseOutboundPlanner } from '../outbound/planner.ts';
import type { HeldWrites } from '../store/held-writes.ts';
import {
  type CaseRecord,
  completeTimer,
  type Database,
  getCase,
  getCases,
  listGates,
  listReviewHistory,
  runTogether,
  withTransaction,
} from '../store/index.ts';
import { canTransition } from '../workflow/case-state-machine.ts';
import {
  advanceableStates,
  DEFAULT_PENDED_CHECK_MS,
  planAfterEligibility,
  planAfterEligibilityChecked,
  planAfterSubmission,
  planKeyMismatch,
  planRouting,
  type Routing,
  type TransitionPlan,
  traceNumberFor,
} from '../workflow/case-workflow.ts';
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
import { createFollowUpSteps } from './case-follow-up-steps.ts';
import { createStepWrites, workflowActor } from './case-step-writes.ts';
import type { ChannelSelector } from './channel-selector.ts';
import { createChannelStep } from './channel-step.ts';
import type { ClaimedTimer, StepKind } from './step-worker.ts';
import { approverLinks as approverLinksOf, readSubmitStepFacts } from './submit-step-facts.ts';

export { scheduleAdvance, stepLaneFor, WORKFLOW_ADVANCE } from './case-step-writes.ts';
export const SLA_CHECK = 'sla.check';

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

  const { apply, finish } = createStepWrites(deps);

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

  const followUps = createFollowUpSteps({
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
  });
  const { withdraw, sendDocuments, submitAppeal, followAppeal, sendUpdate, recheckDecision } = followUps;

  /** The cases of one claim's steps, in one read: a step that finds its case here does not read it again. */
  async function prepare(timers: readonly ClaimedTimer[]): Promise<ReadonlyMap<number, CaseRecord | null>> {
    const withCase = timers.filter((t) => t.caseId !== null);
    // The claim read them (readsCase); the others, in one statement.
    const unread = withCase.filter((t) => t.claimedCase === undefined);
    const cases =
      unread.length > 0
        ? await getCases(
            db.pool,
            unread.map((t) => ({ tenant: t.tenant, caseId: t.caseId! })),
          )
        : new Map<string, CaseRecord>();
    return new Map(
      withCase.map((t) => {
        const record = t.claimedCase !== undefined ? t.claimedCase : cases.get(t.caseId!);
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
          true, // once its events are published
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

  return { readsCase: true, prepare, run, giveUp, maxAttempts: 8 };
}
