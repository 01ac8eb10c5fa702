/**
 * Whether a payer's later answer changes a decided case (issue #14 item 4, `decision_updated`). Pure. What counts is
 * what the EHR and the people acting on the answer rely on: the outcome, the authorization number and period, and
 * per service line its outcome and authorized quantity. When the payer answered, its messages and raw reference are
 * not a change: asking again about an unchanged decision must not publish a new one.
 */
import type { AuthorizationDecision } from '../canonical/index.ts';

/** Fields, not objects: a decision read back from the database (jsonb) has its keys in another order. */
const period = (p: AuthorizationDecision['authorizedPeriod']) => [p?.start ?? null, p?.end ?? null];

function essence(decision: AuthorizationDecision): string {
  return JSON.stringify([
    decision.outcome,
    decision.certificationNumber ?? null,
    period(decision.authorizedPeriod),
    decision.lines.map((line) => [
      period(line.authorizedPeriod),
      line.sequence,
      line.outcome,
      line.authorizedQuantity?.value ?? null,
      line.authorizedQuantity?.unit ?? null,
    ]),
  ]);
}

export function decisionChanged(before: AuthorizationDecision, after: AuthorizationDecision): boolean {
  return essence(before) !== essence(after);
}
