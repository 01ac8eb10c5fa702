/**
 * What the simulated PAS payer answers about a review it holds, by its state and behaviour: rejected (outcome
 * error, 901 72), cancelled (C), pended (A4, asking for a progress report for pend-docs until one arrived), denied
 * (A3), partial (A6, quantity halved) or certified (A1). Pure: the handlers decide the state, this only reads it.
 */
import type { Answer } from './fhir.ts';
import type { Review } from './sim-state.ts';

export function answerOf(review: Review): Answer {
  const { claim, behaviour } = review;
  if (review.state === 'rejected') {
    return {
      outcome: 'error',
      items: [],
      errors: [{ code: '72', element: '2010C-NM109', path: 'Coverage.subscriberId', followUp: 'C' }],
    };
  }
  if (review.state === 'cancelled') {
    return { outcome: 'complete', items: claim.items.map(() => ({ action: 'C' as const })) };
  }
  if (review.state === 'pended') {
    return {
      outcome: 'complete',
      administrationReferenceNumber: review.administrationReferenceNumber,
      items: claim.items.map(() => ({ action: 'A4' as const })),
      ...(review.behaviour === 'pend-docs' && review.documentsReceived === 0
        ? {
            documents: {
              controlNumber: review.attachmentControlNumber,
              reportType: '09',
              text: 'SEND PROGRESS NOTES',
            },
          }
        : {}),
    };
  }
  switch (behaviour) {
    case 'deny':
      return {
        outcome: 'complete',
        reason: 'AO',
        items: claim.items.map(() => ({ action: 'A3' as const })),
      };
    case 'partial':
      return {
        outcome: 'complete',
        certificationNumber: review.certificationNumber,
        reason: '0U',
        items: claim.items.map((i) => ({
          action: 'A6' as const,
          quantity: Math.max(1, Math.floor((i.quantity ?? 2) / 2)),
        })),
      };
    default:
      return {
        outcome: 'complete',
        certificationNumber: review.certificationNumber,
        items: claim.items.map(() => ({ action: 'A1' as const })),
      };
  }
}
