/**
 * Gate expiry: the `review.expire` timer of a gate that is still open when it comes due rejects the case
 * (REVIEW_EXPIRED) or escalates it to another role, as the policy said, and the exception queue opens a
 * `review_expired` task for the gate's role (src/exceptions/transition-tasks.ts). Runs inside the timer's transaction
 * (timer worker); a gate decided, escalated or superseded meanwhile makes the timer a no-op.
 */
import { type AuditEntry, appendAuditEntries } from '../audit/audit-log.ts';
import type { Clock } from '../clock.ts';
import type { AdvancerExceptions } from '../exceptions/transition-tasks.ts';
import type { Logger } from '../log/logger.ts';
import type { CaseOutboundPlanner } from '../outbound/planner.ts';
import {
  closeGate,
  getCaseForUpdate,
  openGate,
  openGateOf,
  type TimerHandler,
  transitionCase,
  writeTransitionOutbound,
} from '../store/index.ts';
import type { CaseEventType } from '../workflow/case-state-machine.ts';
import { severityAtLeast } from '../workflow/review/gate.ts';

const expiryActor = { id: 'system:review-expiry' };

export function createReviewExpiryHandler(deps: {
  clock: Clock;
  logger: Logger;
  outbound?: CaseOutboundPlanner;
  /** The exception queue: the `review_expired` task, and what a rejection stops (SLA clock, open tasks). */
  exceptions?: Pick<AdvancerExceptions, 'onTransition'>;
}): TimerHandler {
  return async (tx, timer) => {
    if (!timer.caseId) return;
    const record = await getCaseForUpdate(tx, timer.tenant, timer.caseId);
    const gate = record ? await openGateOf(tx, record.tenant, record.id) : null;
    if (!record || !gate || record.state !== 'awaiting_review' || gate.seq !== timer.payload.gateSeq) return;
    const at = deps.clock.now();
    const audit: AuditEntry[] = [];
    const escalate = gate.onExpiry === 'escalate';
    const event: CaseEventType = escalate ? 'review_escalated' : 'rejected';
    const data = {
      reason: 'REVIEW_EXPIRED',
      gateSeq: gate.seq,
      gateRole: gate.requiredRole,
      expiredAt: gate.expiresAt?.toISOString() ?? null,
      ...(escalate ? { fromRole: gate.requiredRole, toRole: gate.escalateTo ?? 'medical_director' } : {}),
    };
    const result = await transitionCase(tx, {
      tenant: record.tenant,
      caseId: record.id,
      event,
      actor: expiryActor,
      at,
      expectedVersion: record.version,
      data,
      auditTo: audit,
    });
    await closeGate(tx, { caseId: record.id, seq: gate.seq, status: 'expired', at, by: expiryActor.id });
    if (escalate) {
      await openGate(tx, {
        tenant: record.tenant,
        caseId: record.id,
        caseVersion: result.after.version,
        at,
        closedBy: expiryActor.id,
        spec: {
          reason: 'escalation',
          rolloutMode: gate.rolloutMode,
          submissionKey: gate.submissionKey,
          policyId: gate.policyId ?? null,
          policyVersion: gate.policyVersion ?? null,
          requiredRole: gate.escalateTo ?? 'medical_director',
          approvalsRequired: 1,
          severity: severityAtLeast(gate.severity, 'high'),
          facts: gate.facts ?? {},
        },
      });
    }
    await writeTransitionOutbound(tx, deps.outbound, {
      event,
      after: result.after,
      previousState: record.state,
      at,
    });
    await deps.exceptions?.onTransition(tx, { event, data, after: result.after, at, audit });
    await appendAuditEntries(tx, audit);
    deps.logger.info({ caseId: record.id, gateSeq: gate.seq, escalate }, 'review gate expired');
  };
}
