/**
 * What the simulated payer answers about a review it holds, by its state and behaviour: cancelled (HCR C), on appeal
 * (pended until the letter, then certified), pended (asking for documents where the behaviour says so), denied,
 * modified (units halved) or certified. Pure: the handlers (reviews.ts) decide the state, this only reads it.
 */
import type { Review } from './sim-state.ts';
import { type ReviewAnswer, requestedQuantities } from './x12.ts';

export function answerFor(review: Review): ReviewAnswer {
  const { behaviour } = review;
  if (review.state === 'cancelled') return { action: 'C', certificationNumber: review.certificationNumber };
  // An appeal this payer reverses once it has the letter: certified after appeal.
  if (review.appeal?.decided)
    return {
      action: 'A1',
      certificationNumber: review.certificationNumber,
      period: review.period,
      message: 'APPROVED ON APPEAL',
      lines: requestedQuantities(review.request).map(() => ({ action: 'A1' as const })),
    };
  if (review.appeal)
    return {
      action: 'A4',
      reason: '0U',
      administrativeReference: review.administrativeReference,
      message: 'RECONSIDERATION RECEIVED',
      lines: requestedQuantities(review.request).map(() => ({ action: 'A4' as const })),
    };
  const pendedAnswer: ReviewAnswer = {
    action: 'A4',
    reason: '0U',
    administrativeReference: review.administrativeReference,
    message: 'PENDED FOR CLINICAL REVIEW',
    lines: requestedQuantities(review.request).map(() => ({ action: 'A4' as const })),
  };
  // pend-docs-later: the 278's answer asks for nothing; from the first inquiry on, the documents as pend-docs.
  if (review.state === 'pended' && review.behaviour === 'pend-docs-later' && review.inquiries === 0)
    return { ...pendedAnswer, paperwork: null };
  if (
    review.state === 'pended' &&
    (review.behaviour === 'pend-docs' || review.behaviour === 'pend-docs-later')
  )
    return {
      ...pendedAnswer,
      message: 'SEND PROGRESS NOTES',
      paperwork: { reportType: '09', controlNumber: review.attachmentControlNumber },
    };
  if (review.state === 'pended') return pendedAnswer;
  switch (behaviour) {
    case 'deny':
    case 'pend-deny':
      return {
        action: 'A3',
        reason: 'AO',
        message: 'NOT MEDICALLY NECESSARY',
        lines: requestedQuantities(review.request).map(() => ({ action: 'A3' as const, reason: 'AO' })),
      };
    case 'modify':
      return {
        action: 'A6',
        certificationNumber: review.certificationNumber,
        period: review.period,
        message: 'UNITS REDUCED',
        lines: requestedQuantities(review.request).map((q) => ({
          action: 'A6' as const,
          quantity: Math.max(1, Math.floor(q / 2)),
        })),
      };
    default:
      return {
        action: 'A1',
        certificationNumber: review.certificationNumber,
        period: review.period,
        lines: requestedQuantities(review.request).map(() => ({ action: 'A1' as const })),
      };
  }
}
