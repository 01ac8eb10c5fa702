/**
 * What the `submitted` step reads before it calls the payer, in one statement (issue #17: it was two round trips):
 * - `updateDue`: the case's request changed after the payer took it and the change has not reached the payer yet:
 *   its latest `resubmitted` (src/exceptions/order-changes.ts) for ORDER_CHANGED is not followed by a payer's
 *   answer. Read from the case's events, so a crash or a review in between does not lose it.
 * - `pinned`: the channel that may already hold the request (a live submission): the only one to ask.
 * - `approvers`: the people whose approval the submission rests on (the last approved gate's approvers), for the
 *   audit chain of the transition that records the payer's answer. The case is past its review, so they cannot
 *   change while the payer is asked.
 */

import type { DelegationLink } from '../audit/delegation.ts';
import {
  type ApprovalRecord,
  approvalsFromJson,
  caseApprovalsJsonSql,
  caseGatesJsonSql,
  type GateRecord,
  gatesFromJson,
} from '../store/review-gates.ts';
import type { Sql } from '../store/sql.ts';
import type { PayerChannel } from '../workflow/ports/payer-connector.ts';
import { pinnedChannelSql } from './channel-selector.ts';

export interface SubmitStepFacts {
  readonly updateDue: boolean;
  readonly pinned: PayerChannel | undefined;
  readonly approvers: DelegationLink[];
}

export async function readSubmitStepFacts(
  sql: Sql,
  tenant: string,
  caseId: string,
): Promise<SubmitStepFacts> {
  const { rows } = await sql.query<{
    update_due: boolean | null;
    pinned: PayerChannel | null;
    gates: Record<string, unknown>[];
    approvals: Record<string, unknown>[];
  }>(
    `SELECT (SELECT event = 'resubmitted' AND data ->> 'reason' = 'ORDER_CHANGED' FROM case_events
              WHERE case_id = $2 AND event IN ('resubmitted', 'pended', 'decided', 'rejected', 'failed')
              ORDER BY seq DESC LIMIT 1) AS update_due,
            (${pinnedChannelSql.replaceAll('$1', '$2')}) AS pinned,
            ${caseGatesJsonSql} AS gates, ${caseApprovalsJsonSql} AS approvals`,
    [tenant, caseId],
  );
  const row = rows[0]!;
  return {
    updateDue: row.update_due === true,
    pinned: row.pinned ?? undefined,
    approvers: approverLinks(gatesFromJson(row.gates), approvalsFromJson(row.approvals)),
  };
}

/** The people whose approval a submission rests on: the last approved gate's approvers. */
export function approverLinks(
  gates: readonly GateRecord[],
  approvals: readonly ApprovalRecord[],
): DelegationLink[] {
  const approved = gates.filter((g) => g.status === 'approved').at(-1);
  if (!approved) return [];
  return approvals
    .filter((a) => a.gateSeq === approved.seq)
    .map((a) => ({ as: 'reviewer', id: a.approver, role: a.role, ...(a.npi ? { npi: a.npi } : {}) }));
}
