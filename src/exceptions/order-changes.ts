/**
 * Changed orders from the EHR (issue #14 item 4, `resubmitted`): an HL7 v2 order whose ORC-1 changes it (XO, XX) is
 * matched to the open case of the same tenant, sending system and order (placer order number, or the FHIR resource)
 * — like a cancellation (./cancellations.ts) — and updates that case's request, inside the intake's transaction:
 *
 *   held for missing data (received)      → resumed with the changed order (a corrected resend, ./held-orders.ts)
 *   not yet at the payer (validated …
 *     awaiting_review, failed without a
 *     live submission)                    → `order_changed` → validated: routing, eligibility and review run again
 *                                            on the new request; an open gate is superseded (it was for the old one)
 *   at the payer (submitted, pended,
 *     failed with a live submission)      → `resubmitted` → submitted: the submit step sends the change as an update
 *                                            of the live submission (X12 278 UM02 S) — after a review gate first when
 *                                            the changed request needs one (docs/review.md: an approval binds to the
 *                                            submission key of the request it saw) — src/workers/case-advancer.ts
 *
 * The order's identity (tenant, idempotency key, order reference) stays the case's; its source becomes the changed
 * message's (answers go to the latest message). A FHIR ServiceRequest resent in a new version (same resource and
 * identifier, changed content) is such a change too (resentFhirOrderChange). Each changed field is audited before and after
 * (`case.request_changed`). An order that did not change is a resend: its case is named, nothing moves. A decided or
 * closed case is not changed here (the payer's answer is final; a new order is a new request).
 */
import type { Actor, AuditEntry } from '../audit/audit-log.ts';
import type { AuthorizationRequest } from '../canonical/index.ts';
import type { OrderChange } from '../mapping/index.ts';
import { type CaseRecord, getCaseForUpdate, transitionCase } from '../store/cases.ts';
import type { Tx } from '../store/sql.ts';
import { closeCaseTasks } from '../store/tasks.ts';
import { cancelTimers } from '../store/timers.ts';
import { scheduleAdvance, WORKFLOW_ADVANCE } from '../workers/case-advancer.ts';
import type { CaseEventType } from '../workflow/case-state-machine.ts';
import { type AppliedChange, applyCorrection, requestDifferences } from '../workflow/tasks/corrections.ts';
import { findOrderCase, lockOrderCase } from './cancellations.ts';
import { resumeHeldCase } from './held-orders.ts';
import { type ActionContext, type TaskActionDeps, taskWrites } from './task-actions.ts';

export interface ChangeResult {
  /** Cases the changed orders were matched to (changed, or already as the order says). */
  readonly caseIds: string[];
  /** Orders with no open case to change (with why). */
  readonly unmatched: Array<{ order: string; reason: string }>;
}

/** Where a changed order takes a case in `state`; undefined: it cannot be changed there. */
function changeEvent(
  state: string,
  liveAtPayer: boolean,
): Extract<CaseEventType, 'order_changed' | 'resubmitted'> | 'resume' | undefined {
  if (state === 'received') return 'resume';
  if (state === 'submitted' || state === 'pended') return 'resubmitted';
  if (state === 'failed') return liveAtPayer ? 'resubmitted' : 'order_changed';
  if (state === 'validated' || state === 'eligibility_checked' || state === 'awaiting_review')
    return 'order_changed';
  return undefined;
}

/** Whether the payer holds a live submission of the case (in flight, unresolved or answered). */
async function liveSubmission(tx: Tx, caseId: string): Promise<boolean> {
  const { rows } = await tx.query(
    `SELECT 1 FROM payer_submissions
      WHERE case_id = $1 AND purpose = 'submit' AND status IN ('sending', 'unknown', 'answered') LIMIT 1`,
    [caseId],
  );
  return rows.length > 0;
}

/** The case's request with the changed order's content; its identity kept, its source the changed message's. */
function changedRequest(current: AuthorizationRequest, changed: AuthorizationRequest) {
  return applyCorrection(current, requestDifferences(current, changed));
}

export async function changeOrders(
  tx: Tx,
  deps: TaskActionDeps,
  input: {
    tenant: string;
    sender: string;
    change: OrderChange;
    actor: Actor;
    at: Date;
    messageKey: string;
    audit: AuditEntry[];
  },
): Promise<ChangeResult> {
  const ctx: ActionContext = { tenant: input.tenant, actor: input.actor, at: input.at, audit: input.audit };
  const via = `order-change:${input.messageKey}`;
  const result: ChangeResult = { caseIds: [], unmatched: [] };
  for (const order of input.change.orders) {
    const { name, record } = await lockOrderCase(tx, input.tenant, input.sender, order);
    if (!record) {
      result.unmatched.push({ order: name, reason: 'no case for this order' });
      continue;
    }
    const event = changeEvent(record.state, await liveSubmission(tx, record.id));
    if (!event) {
      result.unmatched.push({
        order: name,
        reason: `the case is ${record.state}: it can no longer be changed`,
      });
      continue;
    }
    const differences = requestDifferences(record.request, order.request);
    if (differences.length === 0) {
      result.caseIds.push(record.id); // the same order again: nothing changed
      continue;
    }
    if (event === 'resume') {
      await resumeHeldCase(tx, deps, ctx, {
        caseId: record.id,
        held: record.request,
        resent: order.request,
        messageKey: input.messageKey,
      });
      result.caseIds.push(record.id);
      continue;
    }
    const corrected = changedRequest(record.request, order.request);
    if (!corrected.ok) {
      // The mapper validated the order; only a change of the order's identity could fail here.
      result.unmatched.push({ order: name, reason: 'the changed order does not fit its case' });
      continue;
    }
    await applyChange(tx, deps, ctx, record, event, {
      request: { ...corrected.request, source: order.request.source },
      changes: corrected.changes,
      via,
    });
    result.caseIds.push(record.id);
  }
  return result;
}

/**
 * FHIR has no order control like ORC-1 XO: an EHR changes an order by sending the ServiceRequest again — the same
 * resource (id) in a new version (meta.versionId), status still active. Such a resend, mapped as a new order, is a
 * change of the open case of the same tenant, sending system and order (placer identifier or resource) that came from
 * an earlier version of that resource, when the case can still change: the change to apply with changeOrders
 * (unchanged content moves nothing). Undefined otherwise — a resource without id and version, another resource, or a
 * decided or closed case: a new order as before.
 */
export async function resentFhirOrderChange(
  tx: Tx,
  request: AuthorizationRequest,
): Promise<OrderChange | undefined> {
  const resource = (messageId: string | undefined) => messageId?.split('/_history/')[0];
  if (request.source.format !== 'fhir' || !request.source.messageId?.includes('/_history/')) return undefined;
  const ref = request.orderReference;
  if (!ref?.placerOrderNumber && !ref?.resourceReference) return undefined;
  const order = {
    ...(ref.placerOrderNumber ? { placerOrderNumber: ref.placerOrderNumber } : {}),
    ...(ref.resourceReference ? { resourceReference: ref.resourceReference } : {}),
  };
  const id = await findOrderCase(tx, request.tenant, request.source.sender, order);
  const record = id ? await getCaseForUpdate(tx, request.tenant, id) : null;
  if (record?.request.source.format !== 'fhir') return undefined;
  if (resource(record.request.source.messageId) !== resource(request.source.messageId)) return undefined;
  if (!changeEvent(record.state, false)) return undefined;
  return { orders: [{ ...order, request }] };
}

async function applyChange(
  tx: Tx,
  deps: TaskActionDeps,
  ctx: ActionContext,
  record: CaseRecord,
  event: 'order_changed' | 'resubmitted',
  change: {
    request: AuthorizationRequest;
    changes: readonly AppliedChange[];
    via: string;
  },
): Promise<void> {
  const paths = change.changes.map((c) => c.path);
  const atPayer = event === 'resubmitted';
  // Steps scheduled for the old request (an inquiry, a pending eligibility check) give way to the changed one.
  await cancelTimers(tx, record.id, [WORKFLOW_ADVANCE], ctx.at);
  if (!atPayer) {
    // The gate was for the old request: superseded; routing and review run again on the new one.
    await tx.query(
      `UPDATE review_gates SET status = 'superseded', closed_at = $2, closed_by = $3
        WHERE case_id = $1 AND status = 'open'`,
      [record.id, ctx.at, ctx.actor.id],
    );
  }
  const { after } = await transitionCase(tx, {
    tenant: ctx.tenant,
    caseId: record.id,
    event,
    actor: ctx.actor,
    at: ctx.at,
    expectedVersion: record.version,
    // The submission key stays the one the payer's live submission (or the old approval) was bound to: the submit
    // step compares it with the changed request's and asks for a review when the policies want one.
    patch: { request: change.request, ...(atPayer ? {} : { submissionKey: null }) },
    data: { reason: 'ORDER_CHANGED', via: change.via, changed: paths, atPayer },
    outbox: (next, before) =>
      deps.outbound?.({ event, after: next, previousState: before.state, at: ctx.at }) ?? [],
    auditTo: ctx.audit,
  });
  ctx.audit.push({
    tenant: ctx.tenant,
    actor: ctx.actor,
    action: 'case.request_changed',
    caseId: record.id,
    // Before and after are the request's own values: the audit log is the record of who changed what.
    details: {
      fromVersion: record.version,
      version: after.version,
      via: change.via,
      changes: change.changes,
    },
    at: ctx.at,
  });
  await scheduleAdvance(tx, record, ctx.at, ctx.at, 'payer');
  if (record.state === 'failed')
    await closeCaseTasks(
      tx,
      ctx.tenant,
      record.id,
      ['channel_failure'],
      'resolved',
      { action: 'order_changed', via: change.via, fields: paths },
      taskWrites(deps, ctx, after),
    );
}
