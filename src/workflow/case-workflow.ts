/**
 * What the workflow does next with a case, and what a payer's answer means for it. Pure: the case advancer
 * (src/workers/case-advancer.ts) performs the payer calls and applies the plans these functions return.
 *
 *   validated           → route (payer + rules): not_required, or eligibility (270/271) → eligibility_checked
 *   eligibility_checked → review gate (awaiting_review, src/workflow/review/) or submitted
 *   awaiting_review     → a reviewer decides (src/api/review-routes.ts): submitted, rejected, or a new gate
 *   submitted           → send (idempotent per trace number) → pended | decided | rejected
 *   pended              → inquire on schedule → decided (or stays pended)
 *   decided             → delivered once its outbound events are published
 */

import type { AuthorizationDecision, AuthorizationRequest, Reason } from '../canonical/index.ts';
import type { CaseEventType, CaseState } from './case-state-machine.ts';
import type { ChannelCandidate } from './channel-choice.ts';
import type {
  EligibilityResult,
  PayerChannel,
  PayerTarget,
  SubmissionOutcome,
} from './ports/payer-connector.ts';
import type { GateSpec } from './review/gate.ts';

/** Case facts a step may set besides the state (the store's case columns). */
export interface CaseFacts {
  decision?: AuthorizationDecision | null;
  payerId?: string | null;
  channel?: string | null;
  ruleVersion?: string | null;
  slaDueAt?: Date | null;
  /** The submission key the case is approved or routed with: the submit step refuses a request that differs. */
  submissionKey?: string | null;
  /** The request itself, replaced only by a reviewer's requested changes (a new version, a new key). */
  request?: AuthorizationRequest;
}

/** Where a request goes and under which rules: the payer directory and PA rules, evaluated. */
export type Routing =
  | { readonly kind: 'unknown_payer'; readonly payerId: string }
  /** The payer is known but none of its channels has a connector here (or its rules cannot be read). */
  | {
      readonly kind: 'unroutable';
      readonly payerId: string;
      readonly reason: string;
      readonly errorCode?: string;
    }
  | {
      readonly kind: 'routed';
      readonly payer: PayerTarget;
      /** The most preferred channel with a connector (candidates[0]). */
      readonly channel: PayerChannel;
      /** Whether the channel can check eligibility (270/271) before submitting. */
      readonly checkEligibility: boolean;
      /** Every channel of the payer with a connector, most preferred first: the fallback order. */
      readonly candidates: readonly ChannelCandidate[];
      readonly paRequired: boolean;
      readonly ruleVersion: string;
      /** Why: the rule that matched, for the audit trail and the status event. */
      readonly ruleId?: string;
      readonly reviewRequired: boolean;
      /** The request's expected cost under the payer's fee schedule, when any of its lines is priced. */
      readonly estimatedCost?: { readonly amount: number; readonly currency: string };
      readonly slaDueAt?: Date;
      /** The payer's decision time for this request's urgency (CMS-0057-F clock, counted from submission). */
      readonly slaHours?: number;
      /** How long to wait before asking about a pended case again. */
      readonly pendedCheckAfterMs?: number;
      /** How often a pended case may be asked about before a person takes over (payer channel followUp). */
      readonly maxInquiries?: number;
      /** The payer's appeal mailbox (payer file `appeals.email`): where an appeal goes when the channel takes none. */
      readonly appealEmail?: { readonly address: string; readonly name?: string };
    };

export interface TransitionPlan {
  readonly event: CaseEventType;
  readonly data?: Record<string, unknown>;
  readonly patch?: CaseFacts;
  /** Run the advancer again for this case after this many ms (0 = now); absent = nothing more to do. */
  readonly nextStepInMs?: number;
  /** What that next step is, when not the state's own step (`{ recheck: true }`: ask about a delivered decision). */
  readonly nextStepPayload?: Record<string, unknown>;
  /** The review gate this transition opens (recorded with it, in its transaction). */
  readonly gate?: GateSpec;
}

/** Steps the advancer takes per state; other states wait for someone (a reviewer) or are finished. */
export const advanceableStates: ReadonlySet<CaseState> = new Set([
  'validated',
  'eligibility_checked',
  'submitted',
  'pended',
  'decided',
]);

export const DEFAULT_PENDED_CHECK_MS = 60 * 60 * 1000;

/** The case's submission trace number: stable for the case, valid as X12 TRN02 (≤ 50) and a FHIR identifier. */
export function traceNumberFor(caseId: string): string {
  return caseId.replace(/-/g, '').toUpperCase();
}

function reasonCodes(reasons: readonly Reason[]): string[] {
  return reasons.map((r) => r.code);
}

export function planRouting(routing: Routing): TransitionPlan | 'check_eligibility' {
  // A directory gap, not a bad request: an admin fixes the payer entry and retries the case.
  if (routing.kind === 'unknown_payer')
    return { event: 'failed', data: { reason: 'PAYER_UNKNOWN', payerId: routing.payerId } };
  if (routing.kind === 'unroutable') {
    return {
      event: 'failed',
      data: { reason: routing.reason, payerId: routing.payerId, errorCode: routing.errorCode },
    };
  }
  if (!routing.paRequired) {
    return {
      event: 'pa_not_required',
      data: { payerId: routing.payer.id, ruleVersion: routing.ruleVersion, ruleId: routing.ruleId },
      patch: { payerId: routing.payer.id, ruleVersion: routing.ruleVersion },
    };
  }
  if (!routing.checkEligibility)
    return planAfterEligibility(
      { status: 'active', messages: ['eligibility not checked: the channel has no inquiry'] },
      routing,
    ) as TransitionPlan;
  return 'check_eligibility';
}

/** Eligibility answered: go on, stop, or (for a payer that said "try later") retry the step. */
export function planAfterEligibility(
  result: EligibilityResult,
  routing: Extract<Routing, { kind: 'routed' }>,
): TransitionPlan | { retry: true; reason: string } {
  switch (result.status) {
    case 'active':
      return {
        event: 'eligibility_checked',
        data: {
          payerId: routing.payer.id,
          channel: routing.channel,
          ruleVersion: routing.ruleVersion,
          ruleId: routing.ruleId,
          payerSaysAuthRequired: result.authorizationRequired ?? null,
        },
        patch: {
          payerId: routing.payer.id,
          channel: routing.channel,
          ruleVersion: routing.ruleVersion,
          slaDueAt: routing.slaDueAt ?? null,
        },
        nextStepInMs: 0,
      };
    case 'inactive':
      return {
        event: 'rejected',
        data: { reason: 'COVERAGE_INACTIVE', reasonCodes: reasonCodes(result.reasons) },
        patch: { payerId: routing.payer.id, ruleVersion: routing.ruleVersion },
      };
    case 'rejected':
      if (result.resubmitAllowed)
        return {
          retry: true,
          reason: `eligibility inquiry rejected (${reasonCodes(result.reasons).join(',')}), resubmission allowed`,
        };
      return {
        event: 'rejected',
        data: { reason: 'ELIGIBILITY_REJECTED', reasonCodes: reasonCodes(result.reasons) },
        patch: { payerId: routing.payer.id, ruleVersion: routing.ruleVersion },
      };
  }
}

/**
 * After eligibility: stop at the review gate `gate` decided (src/workflow/review/), or submit. Either way the
 * request's submission key is recorded: on the gate (what an approval binds to) or on the case (what the submit
 * step checks before it sends).
 */
export function planAfterEligibilityChecked(
  routing: Extract<Routing, { kind: 'routed' }>,
  caseId: string,
  gate: GateSpec | null,
  submissionKey: string,
): TransitionPlan {
  if (gate) {
    return {
      event: 'review_requested',
      data: {
        ruleId: routing.ruleId,
        ruleVersion: routing.ruleVersion,
        gateReason: gate.reason,
        rolloutMode: gate.rolloutMode,
        policyId: gate.policyId ?? null,
        policyVersion: gate.policyVersion ?? null,
        requiredRole: gate.requiredRole,
        approvalsRequired: gate.approvalsRequired,
        submissionKey,
      },
      gate,
    };
  }
  return {
    event: 'submitted',
    data: { channel: routing.channel, traceNumber: traceNumberFor(caseId), submissionKey },
    patch: { channel: routing.channel, submissionKey },
    nextStepInMs: 0,
  };
}

/**
 * The submit step found the request changed since it was approved (or routed): it does not send, and the case
 * goes back to review under a new gate bound to the request as it now stands.
 */
export function planKeyMismatch(approvedKey: string, currentKey: string, gate: GateSpec): TransitionPlan {
  return {
    event: 'review_reopened',
    data: {
      reason: 'IDEMPOTENCY_KEY_MISMATCH',
      errorCode: 'PAGW_IDEMPOTENCY_KEY_MISMATCH',
      approvedKey,
      submissionKey: currentKey,
      requiredRole: gate.requiredRole,
    },
    patch: { submissionKey: null },
    gate,
  };
}

/** A payer's changed answer to a decided case: recorded in place, the new decision replacing the case's. */
export function planDecisionUpdate(
  before: AuthorizationDecision,
  after: AuthorizationDecision,
  via: unknown,
): TransitionPlan {
  return {
    event: 'decision_updated',
    data: {
      previousOutcome: before.outcome,
      outcome: after.outcome,
      reviewActionCode: after.reviewActionCode ?? null,
      ...(before.certificationNumber ? { previousCertificationNumber: before.certificationNumber } : {}),
      via: typeof via === 'string' ? via : null,
    },
    patch: { decision: after },
  };
}

/** A payer's answer to a submission or an inquiry. `from` is the case's state when it was asked. */
export function planAfterSubmission(
  outcome: SubmissionOutcome,
  from: 'submitted' | 'pended',
  pendedCheckAfterMs: number,
): TransitionPlan | { stayPended: true; decision: AuthorizationDecision; nextStepInMs: number } {
  switch (outcome.kind) {
    case 'decided':
      return {
        event: 'decided',
        data: {
          outcome: outcome.decision.outcome,
          reviewActionCode: outcome.decision.reviewActionCode ?? null,
        },
        patch: { decision: outcome.decision },
        nextStepInMs: 0,
      };
    case 'pended': {
      const nextStepInMs = outcome.checkAfterMs ?? pendedCheckAfterMs;
      if (from === 'pended') return { stayPended: true, decision: outcome.decision, nextStepInMs };
      return {
        event: 'pended',
        data: {
          reviewActionCode: outcome.decision.reviewActionCode ?? 'A4',
          administrativeReference: outcome.decision.administrativeReference ?? null,
        },
        patch: { decision: outcome.decision },
        nextStepInMs,
      };
    }
    case 'rejected':
      return {
        event: 'rejected',
        data: {
          reason: 'PAYER_REJECTED',
          reasonCodes: reasonCodes(outcome.reasons),
          resubmitAllowed: outcome.resubmitAllowed,
        },
      };
  }
}
