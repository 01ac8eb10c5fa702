/**
 * Order cancellations from the EHR (issue #14 item 4): an HL7 v2 order whose ORC-1 withdraws it (CA, OC, DC) or a
 * FHIR request whose status does (ServiceRequest revoked …) is matched to the open case of the same tenant, sending
 * system and order (placer order number, or the FHIR resource), inside the intake's transaction:
 *   not yet at the payer (received … awaiting_review, failed) → `cancelled` at once, its tasks cancelled;
 *   at the payer (submitted, pended)                        → a payer step withdraws it (X12 278 with
 *                                                             certification type 3, PAS update) and then `cancelled`
 *                                                             (src/workers/case-advancer.ts, payload `cancel`).
 * A decided or closed case is not cancelled here (the order's answer is final; an authorization is withdrawn at the
 * payer by the people who hold it).
 */
import type { Actor, AuditEntry } from '../audit/audit-log.ts';
import type { OrderCancellation } from '../mapping/index.ts';
import { type CaseRecord, getCaseForUpdate } from '../store/cases.ts';
import { planEachRun } from '../store/prepared-statements.ts';
import type { Tx } from '../store/sql.ts';
import { scheduleAdvance } from '../workers/case-advancer.ts';
import { type ActionContext, cancelCase, type TaskActionDeps } from './task-actions.ts';

export interface CancelResult {
  /** Cases cancelled, or whose withdrawal at the payer is under way. */
  readonly caseIds: string[];
  /** Orders with no open case to cancel (with why). */
  readonly unmatched: Array<{ order: string; reason: string }>;
}

const atPayer = new Set(['submitted', 'pended']);

export async function findOrderCase(
  tx: Tx,
  tenant: string,
  sender: string,
  order: OrderCancellation['orders'][number],
): Promise<string | undefined> {
  const { rows } = await tx.query<{ id: string }>(
    `${planEachRun}SELECT id FROM cases
      WHERE tenant_id = $1 AND request #>> '{source,sender}' = $2
        AND (order_number = $3 OR request #>> '{orderReference,resourceReference}' = $4)
      ORDER BY created_at DESC, id LIMIT 1`,
    [tenant, sender, order.placerOrderNumber ?? null, order.resourceReference ?? null],
  );
  return rows[0]?.id;
}

/**
 * The case an order control message (cancel or change) names, locked for the transaction, with the name the
 * order goes by in the answer; `record` is null when no case matches.
 */
export async function lockOrderCase(
  tx: Tx,
  tenant: string,
  sender: string,
  order: OrderCancellation['orders'][number],
): Promise<{ name: string; record: CaseRecord | null }> {
  const name = order.placerOrderNumber ?? order.resourceReference ?? '?';
  const id = await findOrderCase(tx, tenant, sender, order);
  return { name, record: id ? await getCaseForUpdate(tx, tenant, id) : null };
}

export async function cancelOrders(
  tx: Tx,
  deps: TaskActionDeps,
  input: {
    tenant: string;
    sender: string;
    cancellation: OrderCancellation;
    actor: Actor;
    at: Date;
    messageKey: string;
    audit: AuditEntry[];
  },
): Promise<CancelResult> {
  const ctx: ActionContext = { tenant: input.tenant, actor: input.actor, at: input.at, audit: input.audit };
  const via = `order-cancel:${input.messageKey}`;
  const result: CancelResult = { caseIds: [], unmatched: [] };
  for (const order of input.cancellation.orders) {
    const { name, record } = await lockOrderCase(tx, input.tenant, input.sender, order);
    if (!record) {
      result.unmatched.push({ order: name, reason: 'no case for this order' });
      continue;
    }
    if (atPayer.has(record.state)) {
      // Withdrawn at the payer by a payer step, then cancelled (the step records both in one transaction).
      await scheduleAdvance(tx, record, input.at, input.at, 'payer', { cancel: true, via });
      input.audit.push({
        tenant: input.tenant,
        actor: input.actor,
        action: 'case.cancel_requested',
        caseId: record.id,
        details: { state: record.state, version: record.version, via },
        at: input.at,
      });
      result.caseIds.push(record.id);
      continue;
    }
    if (record.state === 'cancelled') {
      result.caseIds.push(record.id); // a repeated cancel: already done
      continue;
    }
    if (['decided', 'delivered', 'rejected', 'not_required'].includes(record.state)) {
      result.unmatched.push({
        order: name,
        reason: `the case is ${record.state}: there is nothing to cancel`,
      });
      continue;
    }
    await cancelCase(tx, deps, ctx, { caseId: record.id, via, reason: 'ORDER_CANCELLED' });
    result.caseIds.push(record.id);
  }
  return result;
}
