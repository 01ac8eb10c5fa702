/**
 * Loads what the retry context of a case is built from (src/workflow/review/retry-context.ts): its gates,
 * approvals, events and payer exchanges. Run inside the transaction of a transition to put the context in the
 * status event, or on the pool for the case API.
 */
import type { CaseOutboundPlanner } from '../outbound/planner.ts';
import type { CaseEventType, CaseState } from '../workflow/case-state-machine.ts';
import { buildRetryContext, type RetryContext } from '../workflow/review/retry-context.ts';
import type { CaseRecord } from './cases.ts';
import { insertOutboxMessages } from './outbox.ts';
import { listApprovals, listGates } from './review-gates.ts';
import type { Sql, Tx } from './sql.ts';

export async function loadRetryContext(
  sql: Sql,
  record: Pick<CaseRecord, 'tenant' | 'id' | 'submissionKey' | 'decision'>,
): Promise<RetryContext> {
  // One after another: inside a transition `sql` is the transaction's single client, on which concurrent queries
  // only queue (and pg deprecates issuing them while one runs).
  const gates = await listGates(sql, record.tenant, record.id);
  const approvals = await listApprovals(sql, record.tenant, record.id);
  const events = await sql.query<{ event: string; actor: string; at: Date; data: Record<string, unknown> }>(
    `SELECT event, actor, at, data FROM case_events WHERE tenant_id = $1 AND case_id = $2
          AND (data ? 'review' OR data ->> 'reason' = 'REVIEW_EXPIRED') ORDER BY seq`,
    [record.tenant, record.id],
  );
  const exchanges = await sql.query<{
    channel: string;
    purpose: string;
    status: string;
    trace_number: string;
    created_at: Date;
  }>(
    `SELECT channel, purpose, status, trace_number, created_at FROM payer_submissions
        WHERE case_id = $1 AND tenant_id = $2 ORDER BY id`,
    [record.id, record.tenant],
  );
  return buildRetryContext({
    gates,
    approvals,
    events: events.rows,
    exchanges: exchanges.rows.map((r) => ({
      channel: r.channel,
      purpose: r.purpose,
      status: r.status,
      traceNumber: r.trace_number,
      createdAt: r.created_at,
    })),
    submissionKey: record.submissionKey,
    decision: record.decision,
  });
}

/**
 * Writes a transition's outbound events (status event, ClaimResponse …) with the case's retry context in them,
 * inside the transition's transaction and after it (and after any gate it opened), so the context includes them.
 */
export async function writeTransitionOutbound(
  tx: Tx,
  planner: CaseOutboundPlanner | undefined,
  input: {
    event: CaseEventType;
    after: CaseRecord;
    previousState: CaseState;
    at: Date;
    correlationId?: string;
  },
): Promise<void> {
  if (!planner) return;
  const retryContext = await loadRetryContext(tx, input.after);
  const messages = planner({
    event: input.event,
    after: { ...input.after, retryContext },
    previousState: input.previousState,
    at: input.at,
  });
  await insertOutboxMessages(
    tx,
    { tenant: input.after.tenant, caseId: input.after.id, correlationId: input.correlationId, at: input.at },
    messages,
  );
}
