/**
 * Orders that lack only what the ordering provider can supply later (src/canonical/correctable-fields.ts) are held,
 * not refused: inbound intake creates their case in `received` with a `missing_data` task to the provider (a FHIR
 * Task on the EHR topic, an HL7 v2 message back to a v2 sender, an e-mail to the care team, each naming exactly
 * what is missing), all in the intake's one transaction. A corrected resend of the order — same tenant, same
 * sending system, same placer order number — is matched to the held case and resumes it (received → validated,
 * the request replaced, audited before/after) instead of opening a second case.
 */
import type { Actor, AuditEntry } from '../audit/audit-log.ts';
import type { AuthorizationRequest } from '../canonical/index.ts';
import type { IncompleteOrder } from '../mapping/index.ts';
import type { CaseOutboundPlanner } from '../outbound/planner.ts';
import type { TaskOutboundPlanner } from '../outbound/tasks/task-outbound.ts';
import { type CaseRecord, createCase } from '../store/cases.ts';
import { caseIdFor } from '../store/ids.ts';
import type { Tx } from '../store/sql.ts';
import { openTask } from '../store/tasks.ts';
import { type FieldChange, requestDifferences } from '../workflow/tasks/corrections.ts';
import { missingDataTask } from '../workflow/tasks/tasks.ts';
import { type ActionContext, correctRequest, taskWrites } from './task-actions.ts';

export interface HeldOrderDeps {
  readonly outbound?: CaseOutboundPlanner;
  readonly taskOutbound?: TaskOutboundPlanner;
}

/** Creates the held case (state `received`) and its task to the provider; returns the case id. */
export async function recordHeldOrder(
  tx: Tx,
  deps: HeldOrderDeps,
  input: {
    incomplete: IncompleteOrder;
    actor: Actor;
    at: Date;
    correlationId?: string;
    auditTo: AuditEntry[];
  },
): Promise<{ caseId: string; created: boolean }> {
  const { at, actor } = input;
  // Not valid against the schema until the provider supplies what is missing: the case holds it as it came.
  const request = input.incomplete.request as unknown as AuthorizationRequest;
  const id = caseIdFor(request.tenant, request.idempotencyKey);
  const planned: CaseRecord = {
    id,
    tenant: request.tenant,
    state: 'received',
    version: 1,
    idempotencyKey: request.idempotencyKey,
    request,
    decision: null,
    payerId: null,
    channel: null,
    ruleVersion: null,
    slaDueAt: null,
    submissionKey: null,
    createdAt: at,
    updatedAt: at,
  };
  const created = await createCase(tx, {
    request,
    actor,
    at,
    auditTo: input.auditTo,
    ...(input.correlationId ? { correlationId: input.correlationId } : {}),
    outbox: deps.outbound?.({ event: 'received', after: planned, previousState: null, at }) ?? [],
  });
  if (!created.created) return { caseId: created.case.id, created: false };
  const ctx: ActionContext = { tenant: request.tenant, actor, at, audit: input.auditTo };
  await openTask(tx, {
    tenant: request.tenant,
    caseId: id,
    spec: missingDataTask(input.incomplete.missing, request.source.format, { urgency: request.urgency, at }),
    ...taskWrites(deps, ctx, created.case),
  });
  return { caseId: id, created: true };
}

/**
 * The held case a resend of an order answers, locked: same tenant ($1), sending system and placer order number
 * (the SQL expressions given), still in `received` with its missing-data task open. A scalar subquery, so intake can
 * ask it for each order group beside the message's INSERT (one round trip: src/inbound/record-inbound.ts).
 */
export function heldCaseSql(orderNumber: string, sender: string): string {
  return `(SELECT c.id FROM cases c
      WHERE c.tenant_id = $1 AND c.order_number = ${orderNumber} AND c.state = 'received'
        AND c.request #>> '{source,sender}' = ${sender}
        AND EXISTS (SELECT 1 FROM case_tasks t WHERE t.case_id = c.id AND t.kind = 'missing_data'
                     AND t.state IN ('open', 'claimed'))
      ORDER BY c.created_at, c.id LIMIT 1 FOR UPDATE)`;
}

/** The held case a resend of this order answers, locked (heldCaseSql). */
export async function findHeldCase(tx: Tx, request: AuthorizationRequest): Promise<string | undefined> {
  const order = request.orderReference?.placerOrderNumber;
  if (!order) return undefined;
  const { rows } = await tx.query<{ id: string | null }>(`SELECT ${heldCaseSql('$2', '$3')} AS id`, [
    request.tenant,
    order,
    request.source.sender,
  ]);
  return rows[0]?.id ?? undefined;
}

/**
 * Resumes a held case with the corrected order: its request becomes the resent one (keeping the case's own
 * idempotency key), each changed field audited before and after, and the case goes on from `received`.
 */
export async function resumeHeldCase(
  tx: Tx,
  deps: HeldOrderDeps,
  ctx: ActionContext,
  input: { caseId: string; held: AuthorizationRequest; resent: AuthorizationRequest; messageKey: string },
): Promise<CaseRecord> {
  const changes: FieldChange[] = requestDifferences(input.held, input.resent);
  return correctRequest(tx, deps, ctx, {
    caseId: input.caseId,
    changes,
    via: `resend:${input.messageKey}`,
    source: input.resent.source,
  });
}
