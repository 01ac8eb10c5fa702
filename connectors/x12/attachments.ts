/**
 * Documents the payer asked for (X12 275, 005010X210, under the PWK attachment control number the payer gave), one
 * recorded exchange per document; the payer's 999 is the only answer. appeal.ts sends an appeal's letter this way.
 */
import type { AuthorizationRequest } from '../../src/canonical/types.generated.ts';
import type { PayerAttachment, PayerCallContext } from '../../src/workflow/ports/payer-connector.ts';
import { build275 } from './005010X210/build-275.ts';
import { X12BuildError } from './errors.ts';
import type { X12Exchanges } from './exchange.ts';
import { PayloadType } from './transport/core-envelope.ts';

export function createAttachments(x12: X12Exchanges) {
  const { store, clock, channelOf, exchange, readAnswer, withRetries } = x12;

  async function sendAttachments(
    request: AuthorizationRequest,
    documents: readonly PayerAttachment[],
    ctx: PayerCallContext,
  ): Promise<{ sent: number }> {
    const channel = channelOf(ctx);
    let sent = 0;
    for (const doc of documents) {
      if (!doc.controlNumber) {
        throw new X12BuildError(
          'PAGW_X12_REQUEST_UNMAPPABLE',
          'A 275 answers a PWK attachment control number; the payer gave none for this document',
          { problems: [{ location: 'attachmentControlNumber', message: 'missing' }] },
        );
      }
      const attachment = {
        controlNumber: doc.controlNumber,
        reportType: doc.reportType,
        contentType: doc.contentType,
        content: doc.content,
      };
      await withRetries(channel, async () => {
        const { record, response } = await exchange(
          'attachment',
          ctx,
          channel,
          (opts) => build275(request, attachment, opts),
          PayloadType.request275,
        );
        // The 275 has no business answer: the payer's 999 accepts it (or rejects it: not retriable).
        await readAnswer(record, response);
        await store.complete(record, {
          status: 'answered',
          response: response.envelope.Payload ?? '',
          outcome: { attachment: doc.documentId, controlNumber: doc.controlNumber },
          at: clock.now(),
        });
      });
      sent++;
    }
    return { sent };
  }

  return { sendAttachments };
}

/** The attachment sender, as appeal.ts uses it. */
export type X12Attachments = ReturnType<typeof createAttachments>;
