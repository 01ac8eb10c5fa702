/**
 * What the `submitted` step reads before it calls the payer, in one statement (issue #17: it was two round trips):
 * - `updateDue`: the case's request changed after the payer took it and the change has not reached the payer yet:
 *   its latest `resubmitted` (src/exceptions/order-changes.ts) for ORDER_CHANGED is not followed by a payer's
 *   answer. Read from the case's events, so a crash or a review in between does not lose it.
 * - `pinned`: the channel that may already hold the request (a live submission): the only one to ask.
 */

import type { Sql } from '../store/sql.ts';
import type { PayerChannel } from '../workflow/ports/payer-connector.ts';
import { pinnedChannelSql } from './channel-selector.ts';

export interface SubmitStepFacts {
  readonly updateDue: boolean;
  readonly pinned: PayerChannel | undefined;
}

export async function readSubmitStepFacts(sql: Sql, caseId: string): Promise<SubmitStepFacts> {
  const { rows } = await sql.query<{ update_due: boolean | null; pinned: PayerChannel | null }>(
    `SELECT (SELECT event = 'resubmitted' AND data ->> 'reason' = 'ORDER_CHANGED' FROM case_events
              WHERE case_id = $1 AND event IN ('resubmitted', 'pended', 'decided', 'rejected', 'failed')
              ORDER BY seq DESC LIMIT 1) AS update_due,
            (${pinnedChannelSql}) AS pinned`,
    [caseId],
  );
  return { updateDue: rows[0]?.update_due === true, pinned: rows[0]?.pinned ?? undefined };
}
