/**
 * 278 requests for review (005010X217) that the payer answers like a submission: `submit` (safety rules 1 and 2 of
 * connector.ts: an answered submit is not sent again, an open one is reconciled first), and `update` / `cancel` —
 * a revision (UM02 S) or cancellation (UM02 3) of the review the payer holds. Recording, sending and retrying are
 * the shared exchange's (exchange.ts); asking the payer about the trace is inquiry.ts's.
 */
import type { AuthorizationRequest } from '../../src/canonical/types.generated.ts';
import type { PayerCallContext, SubmissionOutcome } from '../../src/workflow/ports/payer-connector.ts';
import type { X12Channel } from '../../src/workflow/rules/types.generated.ts';
import { build278 } from './005010X217/build-278.ts';
import { ClearinghouseError } from './errors.ts';
import type { X12Exchanges } from './exchange.ts';
import type { X12Inquiry } from './inquiry.ts';
import { PayloadType } from './transport/core-envelope.ts';

export function createSubmission(x12: X12Exchanges, inquiry: X12Inquiry) {
  const { store, clock, channelOf, exchange, settle, withRetries } = x12;
  const { askAboutTrace, lastAnsweredDecision } = inquiry;

  /** Sends a 278 that revises (`S`) or cancels (`3`) the review the payer holds for this case. */
  async function reviseHeldReview(
    purpose: 'update' | 'cancel',
    certificationType: 'S' | '3',
    request: AuthorizationRequest,
    ctx: PayerCallContext,
  ): Promise<SubmissionOutcome> {
    const channel = channelOf(ctx);
    const previous = await lastAnsweredDecision(ctx.caseId);
    return withRetries(channel, async () => {
      const { record, response } = await exchange(
        purpose,
        ctx,
        channel,
        (opts) =>
          build278(request, {
            ...opts,
            certificationType,
            ...(previous?.certificationNumber
              ? { previousAuthorizationNumber: previous.certificationNumber }
              : {}),
            ...(previous?.administrativeReference
              ? { administrativeReference: previous.administrativeReference }
              : {}),
          }),
        PayloadType.request278,
      );
      return settle(record, response, request, ctx, channel);
    });
  }

  /** Resolves an earlier submit whose fate is open; returns the payer's answer when it holds it. */
  async function resolveOpenAttempt(
    request: AuthorizationRequest,
    ctx: PayerCallContext,
    channel: X12Channel,
  ): Promise<SubmissionOutcome | undefined> {
    const prior = await store.latest(ctx.caseId, 'submit');
    if (!prior) return undefined;
    if (prior.status === 'answered' && prior.outcome) return prior.outcome as SubmissionOutcome;
    if (prior.status !== 'sending' && prior.status !== 'unknown' && prior.status !== 'answered')
      return undefined;
    const found = await withRetries(channel, () => askAboutTrace(request, ctx, channel, 'reconcile', {}));
    if (found.live && found.outcome) {
      await store.complete(prior, { status: 'answered', outcome: found.outcome, at: clock.now() });
      return found.outcome;
    }
    await store.complete(prior, { status: 'not_received', at: clock.now() });
    return undefined;
  }

  async function submit(request: AuthorizationRequest, ctx: PayerCallContext): Promise<SubmissionOutcome> {
    const channel = channelOf(ctx);
    const batch = channel.clearinghouse.processingMode === 'Batch';
    const send = () =>
      withRetries(
        channel,
        async () => {
          const { record, response } = await exchange(
            'submit',
            ctx,
            channel,
            (opts) => build278(request, opts),
            PayloadType.request278,
            batch ? 'Batch' : 'RealTime',
          );
          return settle(record, response, request, ctx, channel);
        },
        async (error) => {
          // The last attempt may have reached the payer: ask before sending another.
          if (!error.outcomeUnknown) return undefined;
          return resolveOpenAttempt(request, ctx, channel);
        },
      );
    try {
      // Usually the case has no earlier submit whose fate is open, so none is looked for first (a read per
      // submission, issue #17): the attempt's record, written before anything is sent, is refused while one is
      // live (the unique index payer_submissions_one_live), and only then is the earlier one resolved.
      return await send();
    } catch (error) {
      if (!(error instanceof ClearinghouseError && error.code === 'PAGW_X12_LIVE_SUBMISSION_EXISTS'))
        throw error;
      const known = await resolveOpenAttempt(request, ctx, channel);
      if (known) return known;
      return send();
    }
  }

  // A revision (UM02 S) or a cancellation (UM02 3) of the review the payer holds under this trace, naming it by
  // the payer's own numbers (REF BB certification, REF NT administrative reference) when it gave them. Every
  // attempt is recorded; a resend after a crash sends the same request again, which a payer takes as the same one.
  const update = (request: AuthorizationRequest, ctx: PayerCallContext): Promise<SubmissionOutcome> =>
    reviseHeldReview('update', 'S', request, ctx);
  const cancel = (request: AuthorizationRequest, ctx: PayerCallContext): Promise<SubmissionOutcome> =>
    reviseHeldReview('cancel', '3', request, ctx);

  return { submit, update, cancel };
}
