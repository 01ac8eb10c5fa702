/**
 * A reviewer's decision at a gate, applied in ONE transaction on the locked case row: checks (state, role,
 * binding, submission key), then the action — approve, reject, request changes, escalate, or (shadow mode)
 * record that a person submitted it themselves. Every refusal commits an audit row before it is answered, so
 * each mismatch leaves evidence; a repeat of an approval already recorded (a double click) changes nothing.
 */
import { type Actor, type AuditEntry, appendAuditEntries } from '../audit/audit-log.ts';
import { type DelegationLink, delegationChain } from '../audit/delegation.ts';
import { checkAuthorizationRequest } from '../canonical/index.ts';
import {
  AuthError,
  GatewayError,
  type Problem,
  StateTransitionError,
  ValidationError,
} from '../errors/index.ts';
import type { CaseOutboundPlanner } from '../outbound/planner.ts';
import {
  type CaseRecord,
  closeGate,
  type GateRecord,
  getCaseForUpdate,
  listApprovals,
  openGate,
  openGateOf,
  recordApproval,
  type TokenPrincipal,
  type Tx,
  transitionCase,
  writeTransitionOutbound,
} from '../store/index.ts';
import { listTasks } from '../store/tasks.ts';
import { scheduleAdvance } from '../workers/case-advancer.ts';
import type { CaseEventType } from '../workflow/case-state-machine.ts';
import { applyChanges, readChanges } from '../workflow/review/changes.ts';
import {
  decidingRole,
  type GateSpec,
  mayDecide,
  reviewerRoles,
  severityAtLeast,
} from '../workflow/review/gate.ts';
import {
  auditableKey,
  bindingProblems,
  gateSpecOf,
  implicitGate,
  type ReviewBody,
  rejectReasonCodes,
} from './review-binding.ts';

export interface DecisionDeps {
  outbound?: CaseOutboundPlanner;
  /** The submission key of a case's request as it stands. */
  keyFor(record: CaseRecord): string;
  /** The gate an edited request needs (the policies evaluated again), or null for "the same as before". */
  regate?(record: CaseRecord, key: string, at: Date): GateSpec | null;
}

export type DecisionResult =
  | { kind: 'done'; status: number; body: Record<string, unknown> }
  | { kind: 'refused'; error: GatewayError };

export async function decideReview(
  tx: Tx,
  deps: DecisionDeps,
  input: { principal: TokenPrincipal; actor: Actor; caseId: string; body: ReviewBody; at: Date },
): Promise<DecisionResult | null> {
  const { principal, actor, body, at } = input;
  const record = await getCaseForUpdate(tx, principal.tenant, input.caseId);
  if (!record) return null;
  const audit: AuditEntry[] = [];
  // The person deciding, as the delegation chain names them (src/audit/delegation.ts).
  const reviewerLink: DelegationLink = {
    as: 'reviewer',
    id: actor.id,
    ...(principal.npi ? { npi: principal.npi } : {}),
  };
  const chain = delegationChain({
    tenant: record.tenant,
    request: record.request,
    actor,
    extra: [reviewerLink],
  });
  const auditEntry = (action: string, details: Record<string, unknown>): AuditEntry => ({
    tenant: record.tenant,
    actor,
    action,
    caseId: record.id,
    details: { ...details, chain },
    at,
  });
  const refuse = async (
    error: GatewayError,
    details: Record<string, unknown> = {},
  ): Promise<DecisionResult> => {
    await appendAuditEntries(tx, [
      auditEntry('case.review_refused', {
        reviewAction: body.action,
        errorCode: error.code,
        caseVersion: record.version,
        state: record.state,
        problems: error.problems.map((p) => p.location),
        ...details,
      }),
    ]);
    return { kind: 'refused', error };
  };
  const approver = actor.id;

  // A repeat of an approval this person already gave for this exact request (a double click, a retried
  // request): answered as the first was, nothing recorded twice.
  if (body.action === 'approve' && typeof body.submissionKey === 'string') {
    const mine = (await listApprovals(tx, record.tenant, record.id)).find(
      (a) => a.approver === approver && a.submissionKey === body.submissionKey,
    );
    const open = await openGateOf(tx, record.tenant, record.id);
    if (mine && (record.state !== 'awaiting_review' || open?.seq === mine.gateSeq)) {
      await appendAuditEntries(tx, [
        auditEntry('case.review_repeated', { gateSeq: mine.gateSeq, submissionKey: mine.submissionKey }),
      ]);
      return {
        kind: 'done',
        status: 200,
        body: { id: record.id, state: record.state, version: record.version, alreadyRecorded: true },
      };
    }
  }

  if (record.state !== 'awaiting_review') {
    return refuse(
      new StateTransitionError(
        'PAGW_CASE_ILLEGAL_TRANSITION',
        `The case is ${record.state}, not awaiting review`,
      ),
    );
  }
  const currentKey = deps.keyFor(record);
  const gate: GateRecord =
    (await openGateOf(tx, record.tenant, record.id)) ??
    (await openGate(tx, {
      tenant: record.tenant,
      caseId: record.id,
      caseVersion: record.version,
      at,
      spec: implicitGate(record, currentKey),
    }));
  if (!mayDecide(principal.roles, gate.requiredRole)) {
    return refuse(
      new AuthError('PAGW_AUTH_FORBIDDEN', `This gate needs a decision by the role ${gate.requiredRole}`),
      { gateSeq: gate.seq, requiredRole: gate.requiredRole },
    );
  }
  const problems = bindingProblems(record, body);
  if (body.submissionKey !== gate.submissionKey || gate.submissionKey !== currentKey) {
    const keyProblem: Problem = {
      location: 'submissionKey',
      message:
        body.submissionKey === undefined
          ? 'is required: repeat the submission key of the request you reviewed'
          : 'does not match the request this case holds now; reload it and review again',
    };
    const code =
      body.submissionKey === undefined ? 'PAGW_REVIEW_BINDING_MISMATCH' : 'PAGW_IDEMPOTENCY_KEY_MISMATCH';
    if (gate.submissionKey !== currentKey) {
      // The request changed under an open gate (not through a reviewer): the gate follows the request, so the
      // next screen shows — and binds to — the request as it now stands.
      await openGate(tx, {
        tenant: record.tenant,
        caseId: record.id,
        caseVersion: record.version,
        at,
        closedBy: 'system:review-gate',
        spec: { ...gateSpecOf(gate), reason: 'key_mismatch', submissionKey: currentKey },
      });
    }
    return refuse(
      new GatewayError(
        code,
        'The review decision is bound to another request than this case’s; nothing was changed',
        {
          problems: [keyProblem, ...problems],
        },
      ),
      { gateSeq: gate.seq, givenKey: auditableKey(body.submissionKey), submissionKey: currentKey },
    );
  }
  if (problems.length > 0) {
    return refuse(
      new GatewayError(
        'PAGW_REVIEW_BINDING_MISMATCH',
        'The review decision does not match this case; nothing was changed',
        {
          problems,
        },
      ),
      { gateSeq: gate.seq },
    );
  }

  const role = decidingRole(principal.roles, gate.requiredRole);
  const reviewer = { approver, role, ...(principal.npi ? { npi: principal.npi } : {}) };
  const transition = async (
    event: CaseEventType,
    data: Record<string, unknown>,
    patch?: Parameters<typeof transitionCase>[1]['patch'],
  ) => {
    const result = await transitionCase(tx, {
      tenant: record.tenant,
      caseId: record.id,
      event,
      actor,
      at,
      expectedVersion: record.version,
      data: { ...data, gateSeq: gate.seq, reviewer: reviewer.approver, role },
      patch,
      auditTo: audit,
      chain: [{ ...reviewerLink, role }],
    });
    transitioned = { event, previousState: result.before.state };
    return result.after;
  };
  let transitioned: { event: CaseEventType; previousState: CaseRecord['state'] } | undefined;
  /** Outbound events last (after the gate changes, so their retry context counts them), then the audit rows. */
  const finish = async (after: CaseRecord, extra: Record<string, unknown> = {}): Promise<DecisionResult> => {
    if (transitioned) await writeTransitionOutbound(tx, deps.outbound, { ...transitioned, after, at });
    await appendAuditEntries(tx, audit);
    return {
      kind: 'done',
      status: 200,
      body: { id: after.id, state: after.state, version: after.version, ...extra },
    };
  };

  switch (body.action) {
    case 'approve': {
      if (gate.rolloutMode === 'shadow') {
        return refuse(
          new StateTransitionError(
            'PAGW_CASE_ILLEGAL_TRANSITION',
            'This service line is in shadow mode: a person submits it; record that with action "submitted_externally"',
          ),
          { gateSeq: gate.seq },
        );
      }
      // Criteria the draft could not answer wait for evidence or an override (a criteria_unknown task), never a
      // silent approval over them.
      const [unresolved] = await listTasks(tx, record.tenant, {
        caseId: record.id,
        kind: 'criteria_unknown',
      });
      if (unresolved) {
        return refuse(
          new GatewayError(
            'PAGW_REVIEW_CRITERIA_UNRESOLVED',
            'Criteria of this draft are unknown: supply the evidence or override them (the criteria_unknown task) first',
            {
              problems: unresolved.needed
                .filter((n) => n.type === 'criterion')
                .map((n) => ({ location: `criteria.${n.code}`, message: `unknown: ${n.label}` })),
            },
          ),
          { gateSeq: gate.seq, taskId: unresolved.id },
        );
      }
      await recordApproval(tx, {
        tenant: record.tenant,
        caseId: record.id,
        gateSeq: gate.seq,
        approver,
        role,
        npi: principal.npi ?? null,
        tokenId: principal.tokenId,
        submissionKey: gate.submissionKey,
        at,
      });
      const approvals = (await listApprovals(tx, record.tenant, record.id)).filter(
        (a) => a.gateSeq === gate.seq,
      );
      if (approvals.length < gate.approvalsRequired) {
        // The first of two approvers: recorded, the case stays where it is (same version, so the second
        // approver's screen stays valid).
        audit.push(
          auditEntry('case.review_approval_recorded', {
            gateSeq: gate.seq,
            role,
            approvals: approvals.length,
            approvalsRequired: gate.approvalsRequired,
            submissionKey: gate.submissionKey,
          }),
        );
        await appendAuditEntries(tx, audit);
        return {
          kind: 'done',
          status: 202,
          body: {
            id: record.id,
            state: record.state,
            version: record.version,
            approvals: approvals.length,
            approvalsRequired: gate.approvalsRequired,
          },
        };
      }
      const after = await transition(
        'submitted',
        {
          review: 'approve',
          approvers: approvals.map((a) => a.approver),
          submissionKey: gate.submissionKey,
          policyId: gate.policyId ?? null,
          policyVersion: gate.policyVersion ?? null,
          boundPatient: 'matched',
          boundServices: record.request.serviceLines.length,
        },
        { submissionKey: gate.submissionKey },
      );
      await closeGate(tx, { caseId: record.id, seq: gate.seq, status: 'approved', at, by: approver });
      await scheduleAdvance(tx, record, at, at);
      return finish(after, { approvals: approvals.length, approvalsRequired: gate.approvalsRequired });
    }
    case 'reject': {
      if (
        typeof body.reasonCode !== 'string' ||
        !(rejectReasonCodes as readonly string[]).includes(body.reasonCode)
      ) {
        throw new GatewayError(
          'PAGW_HTTP_BAD_REQUEST',
          `reasonCode must be one of: ${rejectReasonCodes.join(', ')}`,
          {
            problems: [
              { location: 'reasonCode', message: `must be one of: ${rejectReasonCodes.join(', ')}` },
            ],
          },
        );
      }
      const after = await transition('rejected', {
        review: 'reject',
        reason: 'REVIEW_REJECTED',
        reasonCode: body.reasonCode,
        submissionKey: gate.submissionKey,
      });
      await closeGate(tx, { caseId: record.id, seq: gate.seq, status: 'rejected', at, by: approver });
      return finish(after);
    }
    case 'request_changes': {
      const read = readChanges(body.changes);
      const applied = read.problems.length ? null : applyChanges(record.request, read.changes);
      const problems = read.problems.length ? read.problems : applied && !applied.ok ? applied.problems : [];
      if (problems.length || !applied?.ok) {
        throw new ValidationError('PAGW_VALIDATION_FAILED', 'The requested changes cannot be applied', {
          problems,
        });
      }
      const valid = checkAuthorizationRequest(applied.value.request);
      if (!valid.ok) {
        throw new ValidationError('PAGW_VALIDATION_FAILED', 'The changed request would be invalid', {
          problems: valid.problems,
        });
      }
      const edited = { ...record, request: applied.value.request };
      const newKey = deps.keyFor(edited);
      if (newKey === gate.submissionKey) {
        throw new ValidationError('PAGW_VALIDATION_FAILED', 'The requested changes change nothing', {
          problems: [{ location: 'changes', message: 'leave the request as it is' }],
        });
      }
      const next = deps.regate?.(edited, newKey, at) ?? null;
      const after = await transition(
        'changes_requested',
        {
          review: 'request_changes',
          before: applied.value.before,
          after: applied.value.after,
          previousKey: gate.submissionKey,
          submissionKey: newKey,
        },
        { request: applied.value.request, submissionKey: null },
      );
      await closeGate(tx, {
        caseId: record.id,
        seq: gate.seq,
        status: 'changes_requested',
        at,
        by: approver,
      });
      const reopened = await openGate(tx, {
        tenant: record.tenant,
        caseId: record.id,
        caseVersion: after.version,
        at,
        closedBy: approver,
        spec: {
          ...(next ?? gateSpecOf(gate)),
          reason: 'changes',
          submissionKey: newKey,
          // Never less than the gate that asked for the changes.
          approvalsRequired: Math.max(next?.approvalsRequired ?? 1, gate.approvalsRequired) as 1 | 2,
        },
      });
      return finish(after, {
        submissionKey: newKey,
        gate: { seq: reopened.seq, requiredRole: reopened.requiredRole },
      });
    }
    case 'escalate': {
      const to = body.escalateTo ?? gate.escalateTo ?? 'medical_director';
      if (typeof to !== 'string' || !(reviewerRoles as readonly string[]).includes(to)) {
        throw new GatewayError(
          'PAGW_HTTP_BAD_REQUEST',
          `escalateTo must be one of: ${reviewerRoles.join(', ')}`,
          {
            problems: [{ location: 'escalateTo', message: `must be one of: ${reviewerRoles.join(', ')}` }],
          },
        );
      }
      const after = await transition('review_escalated', {
        review: 'escalate',
        fromRole: gate.requiredRole,
        toRole: to,
        submissionKey: gate.submissionKey,
      });
      await closeGate(tx, { caseId: record.id, seq: gate.seq, status: 'escalated', at, by: approver });
      const escalated = await openGate(tx, {
        tenant: record.tenant,
        caseId: record.id,
        caseVersion: after.version,
        at,
        closedBy: approver,
        spec: {
          ...gateSpecOf(gate),
          reason: 'escalation',
          requiredRole: to,
          severity: severityAtLeast(gate.severity, 'high'),
          expiresAt: null,
          onExpiry: null,
        },
      });
      return finish(after, { gate: { seq: escalated.seq, requiredRole: to } });
    }
    case 'submitted_externally': {
      if (gate.rolloutMode !== 'shadow') {
        throw new GatewayError('PAGW_HTTP_BAD_REQUEST', 'Only a shadow-mode gate is submitted by a person', {
          problems: [{ location: 'action', message: 'the gateway submits this case once it is approved' }],
        });
      }
      if (typeof body.draftAccepted !== 'boolean') {
        throw new GatewayError(
          'PAGW_HTTP_BAD_REQUEST',
          'draftAccepted must say whether the draft was sent as built',
          {
            problems: [{ location: 'draftAccepted', message: 'must be true or false' }],
          },
        );
      }
      const after = await transition('cancelled', {
        review: 'submitted_externally',
        reason: 'SUBMITTED_EXTERNALLY',
        draftAccepted: body.draftAccepted,
        submissionKey: gate.submissionKey,
      });
      await closeGate(tx, { caseId: record.id, seq: gate.seq, status: 'handed_off', at, by: approver });
      return finish(after, { draftAccepted: body.draftAccepted });
    }
  }
}
