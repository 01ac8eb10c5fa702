/**
 * Asking the payer about our trace (278 inquiry, 005010X215, with the submission's TRN): `inquire` follows up a
 * pended review and keeps the submit's stored answer current; `reconcile` answers whether the payer holds a live
 * submission. `askAboutTrace` is also how submission.ts resolves an earlier submit whose fate is open.
 */
import type { AuthorizationDecision, AuthorizationRequest } from '../../src/canonical/types.generated.ts';
import type { PayerCallContext, SubmissionOutcome } from '../../src/workflow/ports/payer-connector.ts';
import type { X12Channel } from '../../src/workflow/rules/types.generated.ts';
import { buildInquiry } from './005010X215/build-inquiry.ts';
import { reason } from './answer.ts';
import { x12CodeSystem } from './code-lists.ts';
import { ClearinghouseError } from './errors.ts';
import type { X12Exchanges } from './exchange.ts';
import { PayloadType } from './transport/core-envelope.ts';

export function createInquiry(x12: X12Exchanges) {
  const { store, clock, channelOf, exchange, readAnswer, settle, withRetries } = x12;

  /** Asks the payer about our trace (278 inquiry, 005010X215); answers whether it holds a live submission. */
  async function askAboutTrace(
    request: AuthorizationRequest,
    ctx: PayerCallContext,
    channel: X12Channel,
    purpose: 'reconcile' | 'inquire',
    references: { certificationNumber?: string; administrativeReference?: string },
  ): Promise<{ live: boolean; outcome?: SubmissionOutcome }> {
    const { record, response } = await exchange(
      purpose,
      ctx,
      channel,
      (opts) =>
        buildInquiry(request, {
          ...opts,
          ...(references.certificationNumber ? { authorizationNumber: references.certificationNumber } : {}),
          ...(references.administrativeReference
            ? { administrativeReference: references.administrativeReference }
            : {}),
        }),
      PayloadType.inquiry278,
    );
    const parsed = await readAnswer(record, response);
    const review = parsed.review;
    // AAA AA (authorization not found) / T5 (certification information missing) on an inquiry: no such review.
    const notFound =
      review?.rejections.some((r) => r.reason === 'AA' || r.reason === 'T5') && !review.event?.review;
    if (notFound) {
      await store.complete(record, {
        status: 'answered',
        response: response.envelope.Payload ?? '',
        outcome: { live: false },
        at: clock.now(),
      });
      return { live: false };
    }
    const outcome = await settle(record, response, request, ctx, channel);
    if (outcome.kind === 'rejected') {
      // The payer could not say (e.g. AAA 42): whether it holds the submission stays unknown.
      throw new ClearinghouseError(
        'PAGW_X12_AAA_REJECTED',
        `The payer could not answer the inquiry: ${outcome.messages.join('; ')}`,
        {
          retriable: true,
        },
      );
    }
    return { live: true, outcome };
  }

  /** The decision stored with the case's latest submit, if any: its payer numbers (REF BB, REF NT) name the review. */
  async function lastAnsweredDecision(caseId: string): Promise<AuthorizationDecision | undefined> {
    const last = await store.latest(caseId, 'submit');
    const outcome = last?.outcome as SubmissionOutcome | null | undefined;
    return outcome && 'decision' in outcome ? outcome.decision : undefined;
  }

  async function inquire(request: AuthorizationRequest, ctx: PayerCallContext): Promise<SubmissionOutcome> {
    const channel = channelOf(ctx);
    const previous = await lastAnsweredDecision(ctx.caseId);
    const references = {
      ...(previous?.certificationNumber ? { certificationNumber: previous.certificationNumber } : {}),
      ...(previous?.administrativeReference
        ? { administrativeReference: previous.administrativeReference }
        : {}),
    };
    const answer = await withRetries(channel, () =>
      askAboutTrace(request, ctx, channel, 'inquire', references),
    );
    if (!answer.live || !answer.outcome) {
      return {
        kind: 'rejected',
        reasons: [reason(x12CodeSystem.rejectReason, 'AA', 'Authorization number not found')],
        resubmitAllowed: true,
        messages: ['The payer holds no review with this trace number'],
      };
    }
    // Keep the submit's stored answer current, so a later submit() call returns the latest word.
    const prior = await store.latest(ctx.caseId, 'submit');
    if (prior?.status === 'answered')
      await store.complete(prior, { status: 'answered', outcome: answer.outcome, at: clock.now() });
    return answer.outcome;
  }

  async function reconcile(
    request: AuthorizationRequest,
    ctx: PayerCallContext,
  ): Promise<{ live: boolean; outcome?: SubmissionOutcome }> {
    const channel = channelOf(ctx);
    const answer = await withRetries(channel, () => askAboutTrace(request, ctx, channel, 'reconcile', {}));
    return answer.live
      ? { live: true, ...(answer.outcome ? { outcome: answer.outcome } : {}) }
      : { live: false };
  }

  return { askAboutTrace, lastAnsweredDecision, inquire, reconcile };
}

/** The inquiry's functions, as submission.ts uses them. */
export type X12Inquiry = ReturnType<typeof createInquiry>;
