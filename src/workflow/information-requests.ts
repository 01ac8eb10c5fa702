/**
 * A later answer asking for documents (issue #14, more information needed). Pure. A pended case is asked about on the
 * payer's schedule (278 inquiry, PAS $inquire or notification, portal status page); the payer may pend it first
 * without asking for anything and ask for documents only on a later look. Such an answer is recorded as
 * `information_requested` (pended → pended) with the payer's new decision, so the same documents task opens as when
 * the first answer asks. Only what the case's decision did not ask for yet counts: the same request on the next look
 * is not a new one (no second event, no second task).
 */
import type { AuthorizationDecision } from '../canonical/index.ts';
import type { TransitionPlan } from './case-workflow.ts';

/** A request that names no document (a PAS CommunicationRequest without a code, a PWK without a report type). */
const unnamed = '*';

/**
 * What a decision asks for, one key per document (kind and the number to send it under); [`*`] when it asks for
 * documentation without naming any, [] when it asks for none.
 */
export function documentRequestKeys(decision: AuthorizationDecision | null | undefined): string[] {
  if (decision?.outcome !== 'pended' || decision.followUp !== 'send_documentation') return [];
  const requested = decision.documentsRequested ?? [];
  if (requested.length === 0) return [unnamed];
  return [
    ...new Set(
      requested.map((d) => [d.type.system ?? '', d.type.code, d.attachmentControlNumber ?? ''].join('|')),
    ),
  ];
}

/** The documents `after` asks for that `before` did not (empty: nothing new). */
export function newlyRequestedDocuments(
  before: AuthorizationDecision | null | undefined,
  after: AuthorizationDecision,
): string[] {
  const asked = documentRequestKeys(after);
  const had = documentRequestKeys(before);
  // An unnamed request is new only to a case asked for nothing; a named one is not news after any request.
  if (asked[0] === unnamed) return had.length === 0 ? [unnamed] : [];
  return asked.filter((key) => !had.includes(key));
}

/**
 * The plan for a pended case's later answer that stays pended (`stay`, from planAfterSubmission):
 * `information_requested` with the new decision when it asks for documents not asked for before, else undefined (the
 * case just keeps polling). The next inquiry carries on the count in the timer's payload (`inquiries`), so the
 * payer's inquiry limit still holds.
 */
export function planInformationRequest(
  before: AuthorizationDecision | null | undefined,
  stay: { readonly decision: AuthorizationDecision; readonly nextStepInMs: number },
  timerPayload: Readonly<Record<string, unknown>> | undefined,
  via: string,
): TransitionPlan | undefined {
  const after = stay.decision;
  const added = newlyRequestedDocuments(before, after);
  if (added.length === 0) return undefined;
  return {
    event: 'information_requested',
    data: {
      reason: 'DOCUMENTS_REQUESTED',
      via,
      reviewActionCode: after.reviewActionCode ?? 'A4',
      administrativeReference: after.administrativeReference ?? null,
      // Kinds and control numbers only: no clinical content.
      documentsRequested: (after.documentsRequested ?? []).map((d) => ({
        code: d.type.code,
        attachmentControlNumber: d.attachmentControlNumber ?? null,
      })),
      newlyRequested: added.length,
    },
    patch: { decision: after },
    nextStepInMs: stay.nextStepInMs,
    nextStepPayload: { inquiries: Number(timerPayload?.inquiries ?? 0) + 1 },
  };
}
