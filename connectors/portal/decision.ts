/**
 * The canonical decision the portal robot reads off a portal's pages (pure): the outcome the recipe's statusMap gave,
 * the confirmation number as the payer's reference, its authorization number and reason, and — when the page names
 * documents the payer wants before it decides — `followUp: send_documentation` with `documentsRequested`.
 */
import type {
  AuthorizationDecision,
  AuthorizationRequest,
  Outcome,
  ReviewActionCode,
} from '../../src/canonical/types.generated.ts';
import type { PayerCallContext } from '../../src/workflow/ports/payer-connector.ts';
import { documentsAsked } from './fields.ts';

export interface DecisionFacts {
  readonly confirmation?: string;
  readonly authorization?: string;
  readonly reason?: string;
  readonly submissionId: number;
  /** The portal's words for the documents the payer asks for (an extract into documentsRequested). */
  readonly documentsRequested?: string;
}

function reviewCode(outcome: Outcome): ReviewActionCode | undefined {
  return ({ approved: 'A1', denied: 'A3', pended: 'A4', modified: 'A6', cancelled: 'C' } as const)[
    outcome as 'approved'
  ];
}

export function portalDecision(
  ctx: Pick<PayerCallContext, 'payer'>,
  request: AuthorizationRequest,
  outcome: Outcome,
  facts: DecisionFacts,
  recipe: { readonly documentTypes?: Readonly<Record<string, string>>; readonly at: Date },
): AuthorizationDecision {
  const code = reviewCode(outcome);
  const decided = outcome !== 'pended';
  const asked = decided ? [] : documentsAsked(facts.documentsRequested, recipe.documentTypes);
  return {
    outcome,
    ...(code ? { reviewActionCode: code } : {}),
    ...(facts.authorization ? { certificationNumber: facts.authorization } : {}),
    ...(facts.confirmation ? { administrativeReference: facts.confirmation } : {}),
    payer: { id: ctx.payer.id, ...(ctx.payer.name ? { name: ctx.payer.name } : {}) },
    channel: 'portal',
    lines: decided
      ? request.serviceLines.map((l) => ({
          sequence: l.sequence,
          outcome,
          ...(code ? { reviewActionCode: code } : {}),
          code: l.code,
          ...(facts.authorization ? { certificationNumber: facts.authorization } : {}),
        }))
      : [],
    reasons: facts.reason
      ? [{ system: 'urn:pagw:portal:reason', code: 'portal-reason', text: facts.reason }]
      : [],
    messages: decided
      ? [`Decided on the payer portal${facts.confirmation ? ` (confirmation ${facts.confirmation})` : ''}`]
      : [
          `Received by the payer portal: confirmation ${facts.confirmation ?? 'unknown'}; the review decision follows`,
        ],
    followUp: outcome === 'denied' ? 'contact_payer' : asked.length > 0 ? 'send_documentation' : 'none',
    ...(asked.length > 0 ? { documentsRequested: asked } : {}),
    decidedAt: recipe.at.toISOString(),
    rawMessageRef: `payer_submissions:${facts.submissionId}`,
  };
}
