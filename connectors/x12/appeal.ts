/**
 * An appeal (a request for reconsideration of a denial or partial approval): a 278 (005010X217) with the same trace,
 * UM02 1 or 2, naming the decision appealed, whose PWK announces the letter; the letter follows in a 275
 * (attachments.ts) unless the 278 was rejected.
 */
import type { AuthorizationRequest } from '../../src/canonical/types.generated.ts';
import type {
  PayerAppeal,
  PayerCallContext,
  SubmissionOutcome,
} from '../../src/workflow/ports/payer-connector.ts';
import { build278 } from './005010X217/build-278.ts';
import type { X12Attachments } from './attachments.ts';
import type { X12Exchanges } from './exchange.ts';
import { PayloadType } from './transport/core-envelope.ts';

export function createAppeal(x12: X12Exchanges, { sendAttachments }: X12Attachments) {
  const { channelOf, exchange, settle, withRetries } = x12;

  // Not named `appeal`: its parameter (the port's PayerAppeal) is.
  async function requestReconsideration(
    request: AuthorizationRequest,
    appeal: PayerAppeal,
    ctx: PayerCallContext,
  ): Promise<SubmissionOutcome> {
    const channel = channelOf(ctx);
    const controlNumber =
      appeal.letter.controlNumber ?? `APL${appeal.appealId.replace(/-/g, '').slice(0, 12).toUpperCase()}`;
    // The request for reconsideration: the same trace, UM02 1 (expedited) or 2 (standard), the decision appealed
    // (REF BB / NT), and PWK announcing the letter, which follows in a 275 under the same control number.
    const outcome = await withRetries(channel, async () => {
      const { record, response } = await exchange(
        'appeal',
        ctx,
        channel,
        (opts) =>
          build278(request, {
            ...opts,
            certificationType: appeal.expedited ? '1' : '2',
            ...(appeal.previousAuthorizationNumber
              ? { previousAuthorizationNumber: appeal.previousAuthorizationNumber }
              : {}),
            ...(appeal.administrativeReference
              ? { administrativeReference: appeal.administrativeReference }
              : {}),
            paperwork: { reportType: appeal.letter.reportType, controlNumber },
          }),
        PayloadType.request278,
      );
      return settle(record, response, request, ctx, channel);
    });
    if (outcome.kind !== 'rejected') {
      await sendAttachments(request, [{ ...appeal.letter, controlNumber }], ctx);
    }
    return outcome;
  }

  return { appeal: requestReconsideration };
}
