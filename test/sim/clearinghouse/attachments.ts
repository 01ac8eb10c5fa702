/**
 * A 275 (005010X210) bringing documents: matched to the review that asked for them by the attachment control number
 * in TRN02 (or to an appeal's letter), recorded with the document's kind, size and content type, and answered with
 * a 999 accepting the set. Split from server.ts (core.ts hands it the call).
 */
import { PayloadType } from '../../../connectors/x12/transport/core-envelope.ts';
import type { ClearinghouseSim, CoreCall } from './sim-state.ts';
import { reviewFacts, v, write999Accept } from './x12.ts';

export async function answerAttachment(sim: ClearinghouseSim, call: CoreCall): Promise<void> {
  const { received, reviews, envelopeFor, reply } = sim;
  const { res, base, replyTo, request } = call;
  // review that asked for it; the document is a base64 MIME body in BIN02.
  const controlNumber = v(
    request.segments.find((x) => x.tag === 'TRN'),
    2,
  );
  const bin = request.segments.find((x) => x.tag === 'BIN');
  const cat = request.segments.find((x) => x.tag === 'CAT');
  const pwk = request.segments.find((x) => x.tag === 'PWK');
  const review = [...reviews.values()].find(
    (r) => r.attachmentControlNumber === controlNumber || r.appeal?.controlNumber === controlNumber,
  );
  if (review?.appeal?.controlNumber === controlNumber) review.appeal.letters++;
  else if (review) review.documentsReceived++;
  const body = Buffer.from(v(bin, 2), 'base64').toString('latin1');
  received.push({
    ...base,
    kind: '275',
    ...(review
      ? {
          traceNumber: review.traceNumber,
          memberId: review.request ? reviewFacts(review.request).memberId : undefined,
        }
      : {}),
    interchangeControlNumber: request.interchangeControlNumber,
    accepted: Boolean(review),
    disposition: review ? 'attachment received' : 'unknown attachment control number',
    attachment: {
      controlNumber,
      reportType: v(pwk, 1) || (/Content-Description: X12 755 report type (\w+)/.exec(body)?.[1] ?? ''),
      bytes: Number(v(bin, 1)),
      contentType: /content-type:\s*([^\r\n;]+)/i.exec(body)?.[1]?.trim() ?? v(cat, 2),
    },
  });
  await reply(res, 200, {
    ...replyTo,
    PayloadType: PayloadType.ack999,
    Payload: write999Accept(envelopeFor(request), request, 'PI'),
  });
}
