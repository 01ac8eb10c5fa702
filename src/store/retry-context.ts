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

/** The facts of a retry context as one row of JSON arrays (retryContextColumnsSql). */
export interface RetryContextFacts {
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
}

/**
 * The select list that reads a case's retry-context facts ($1 tenant, $2 case id) as JSON arrays: one round trip
 * for all four tables (issue #17: a transition used to spend four), on its own or beside a transition's UPDATE.
 */
export const retryContextColumnsSql = `${caseGatesJsonSql} AS gates, ${caseApprovalsJsonSql} AS approvals,
       (SELECT coalesce(json_agg(e ORDER BY e.seq), '[]'::json)
          FROM (SELECT seq, event, actor, at, data FROM case_events WHERE tenant_id = $1 AND case_id = $2
                   AND (data ? 'review' OR data ->> 'reason' = 'REVIEW_EXPIRED')) e) AS events,
       (SELECT coalesce(json_agg(x ORDER BY x.id), '[]'::json)
          FROM (SELECT id, channel, purpose, status, trace_number, created_at FROM payer_submissions
                 WHERE tenant_id = $1 AND case_id = $2) x) AS exchanges`;

/** Whether a case event with this data is one the retry context reads (the events filter above, in code). */
export function isRetryContextEvent(data: Record<string, unknown> | undefined): boolean {
  return data !== undefined && ('review' in data || data.reason === 'REVIEW_EXPIRED');
}

export async function loadRetryContext(
  sql: Sql,
  record: Pick<CaseRecord, 'tenant' | 'id' | 'submissionKey' | 'decision'>,
): Promise<RetryContext> {
  const { rows } = await sql.query<RetryContextFacts>(`SELECT ${retryContextColumnsSql}`, [
    record.tenant,
    record.id,
  ]);
  return retryContextFrom(rows[0]!, record);
}

/** The retry context from its facts as read (the JSON's ISO timestamps turned back into dates). */
export function retryContextFrom(
  facts: RetryContextFacts,
  record: Pick<CaseRecord, 'submissionKey' | 'decision'>,
): RetryContext {
  return buildRetryContext({
    gates: gatesFromJson(facts.gates),
    approvals: approvalsFromJson(facts.approvals),
    events: facts.events.map((e) => ({ event: e.event, actor: e.actor, at: new Date(e.at), data: e.data })),
    exchanges: facts.exchanges.map((r) => ({
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
    /** The facts as read with the transition (transitionCase's alsoSelect), when nothing since could change them. */
    facts?: RetryContextFacts;
  },
): Promise<void> {
  if (!planner) return;
  const retryContext = input.facts
    ? retryContextFrom(input.facts, input.after)
    : await loadRetryContext(tx, input.after);
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
