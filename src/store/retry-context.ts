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
import { approvalsFromJson, caseApprovalsJsonSql, caseGatesJsonSql, gatesFromJson } from './review-gates.ts';
import type { Sql, Tx } from './sql.ts';

export async function loadRetryContext(
  sql: Sql,
  record: Pick<CaseRecord, 'tenant' | 'id' | 'submissionKey' | 'decision'>,
): Promise<RetryContext> {
  // One statement, one round trip (issue #17: a transition used to spend four here, one per table). Each part is a
  // JSON array; the JSON's ISO timestamps are turned back into dates.
  const { rows } = await sql.query<{
    gates: Record<string, unknown>[];
    approvals: Record<string, unknown>[];
    events: Array<{ event: string; actor: string; at: string; data: Record<string, unknown> }>;
    exchanges: Array<{
      channel: string;
      purpose: string;
      status: string;
      trace_number: string;
      created_at: string;
    }>;
  }>(
    `SELECT ${caseGatesJsonSql} AS gates, ${caseApprovalsJsonSql} AS approvals,
       (SELECT coalesce(json_agg(e ORDER BY e.seq), '[]'::json)
          FROM (SELECT seq, event, actor, at, data FROM case_events WHERE tenant_id = $1 AND case_id = $2
                   AND (data ? 'review' OR data ->> 'reason' = 'REVIEW_EXPIRED')) e) AS events,
       (SELECT coalesce(json_agg(x ORDER BY x.id), '[]'::json)
          FROM (SELECT id, channel, purpose, status, trace_number, created_at FROM payer_submissions
                 WHERE tenant_id = $1 AND case_id = $2) x) AS exchanges`,
    [record.tenant, record.id],
  );
  const row = rows[0]!;
  return buildRetryContext({
    gates: gatesFromJson(row.gates),
    approvals: approvalsFromJson(row.approvals),
    events: row.events.map((e) => ({ event: e.event, actor: e.actor, at: new Date(e.at), data: e.data })),
    exchanges: row.exchanges.map((r) => ({
      channel: r.channel,
      purpose: r.purpose,
      status: r.status,
      traceNumber: r.trace_number,
      createdAt: new Date(r.created_at),
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
