/**
 * A 278 answered by the payer's review: an inquiry (005010X215) about a trace it holds (pended ones decided on a
 * later inquiry), an appeal (UM02 1/2), a revision (UM02 S), a cancellation (UM02 3), and a new request for review
 * taken in by trace number (a repeat answered from the existing review) — with the member's transport-level
 * behaviours (503, FLAKY, DROP, SLOW) and scripted refusals (999, TA1, AAA). Split from server.ts (core.ts hands it
 * the call).
 */
import { PayloadType } from '../../../connectors/x12/transport/core-envelope.ts';
import { type ReviewBehaviour, reviewBehaviour } from './behaviours.ts';
import { answerFor } from './review-answers.ts';
import type { ClearinghouseSim, CoreCall, Review } from './sim-state.ts';
import { requestedQuantities, reviewFacts, v, write278Response, write999Reject, writeTa1 } from './x12.ts';

/** Behaviours whose review starts pended (decided on a later inquiry, or never). */
const pendingBehaviours: ReadonlySet<ReviewBehaviour> = new Set([
  'pend',
  'pend2',
  'pend-deny',
  'pend-forever',
  'pend-docs',
  'pend-docs-later',
]);

const approvedPeriod = () => {
  const start = new Date();
  const end = new Date(start.getTime() + 90 * 86_400_000);
  const d = (x: Date) => x.toISOString().slice(0, 10).replace(/-/g, '');
  return { start: d(start), end: d(end) };
};

export async function answerReview(sim: ClearinghouseSim, call: CoreCall): Promise<void> {
  const { slowMs, received, reviews, flakyServed, droppedOnce, batches, counters, envelopeFor, reply } = sim;
  const { req, res, envelope, base, replyTo, request } = call;
  const facts = reviewFacts(request);
  const inquiry = request.version === '005010X215';
  const cancel = !inquiry && facts.certificationType === '3';
  const appealing = !inquiry && (facts.certificationType === '1' || facts.certificationType === '2');
  const revision = !inquiry && facts.certificationType === 'S';
  const kind = inquiry
    ? '278-inquiry'
    : cancel
      ? '278-cancel'
      : appealing
        ? '278-appeal'
        : revision
          ? '278-revision'
          : '278-request';
  const behaviour = reviewBehaviour(facts.memberId, facts.serviceCodes);
  const record = (accepted: boolean, disposition: string) =>
    received.push({
      ...base,
      kind,
      traceNumber: facts.traceNumber,
      memberId: facts.memberId,
      serviceCodes: facts.serviceCodes,
      ...(inquiry
        ? {}
        : { certificationType: facts.certificationType, quantities: requestedQuantities(request) }),
      interchangeControlNumber: request.interchangeControlNumber,
      accepted,
      disposition,
    });
  const respondWith = async (payload: string, payloadType: string) => {
    if (envelope.ProcessingMode === 'Batch' && !inquiry) {
      batches.set(envelope.PayloadID!, { payload, payloadType });
      await reply(res, 200, { ...replyTo, ProcessingMode: 'Batch', PayloadType: PayloadType.batchReceipt });
      return;
    }
    await reply(res, 200, { ...replyTo, PayloadType: payloadType, Payload: payload });
  };

  // Transport-level behaviours apply to every request for the member, inquiries included.
  if (behaviour === 'fail5xx' || (behaviour === 'flaky5xx' && !flakyServed.has(facts.memberId))) {
    flakyServed.add(facts.memberId);
    record(false, 'http-503');
    res.writeHead(503, { 'content-type': 'text/plain' });
    res.end('Service Unavailable');
    return;
  }

  if (inquiry) {
    const review = reviews.get(facts.traceNumber);
    if (!review) {
      record(true, 'not-found');
      await respondWith(
        write278Response(
          envelopeFor(request),
          request,
          { aaa: { code: 'AA', followUp: 'N', loop: '2000E' } },
          '005010X215',
        ),
        PayloadType.inquiryResponse278,
      );
      return;
    }
    review.inquiries++;
    if (review.appeal && !review.appeal.decided && review.appeal.letters > 0) {
      review.appeal.decided = true;
      review.state = 'decided';
    }
    const decideAfter =
      review.behaviour === 'pend2'
        ? 2
        : review.behaviour === 'pend-forever' ||
            ((review.behaviour === 'pend-docs' || review.behaviour === 'pend-docs-later') &&
              review.documentsReceived === 0)
          ? Number.POSITIVE_INFINITY
          : 1;
    if (review.state === 'pended' && review.inquiries >= decideAfter) review.state = 'decided';
    record(true, `inquiry ${review.state}`);
    await respondWith(
      write278Response(envelopeFor(request), review.request, answerFor(review), '005010X215'),
      PayloadType.inquiryResponse278,
    );
    return;
  }

  if (appealing) {
    // A request for reconsideration of a decided review: pended until its letter (a 275) is in.
    const review = reviews.get(facts.traceNumber);
    const pwk = request.segments.find((x) => x.tag === 'PWK' && v(x, 5) === 'AC');
    if (!review) {
      record(true, 'appeal-not-found');
      await respondWith(
        write278Response(envelopeFor(request), request, {
          aaa: { code: 'AA', followUp: 'N', loop: '2000E' },
        }),
        PayloadType.response278,
      );
      return;
    }
    review.appeal = { controlNumber: v(pwk, 6), letters: 0, decided: false };
    review.state = 'pended';
    record(true, 'appeal received');
    await respondWith(
      write278Response(envelopeFor(request), review.request, answerFor(review)),
      PayloadType.response278,
    );
    return;
  }

  if (revision) {
    // A revised request for a review this payer holds: the new request replaces the old and is reviewed afresh
    // (its behaviour read from it again); a revision of an unknown or cancelled review is refused (AAA).
    const review = reviews.get(facts.traceNumber);
    if (!review || review.state === 'cancelled') {
      record(true, 'revision-not-found');
      await respondWith(
        write278Response(envelopeFor(request), request, {
          aaa: { code: 'AA', followUp: 'N', loop: '2000E' },
        }),
        PayloadType.response278,
      );
      return;
    }
    review.request = request;
    review.behaviour = behaviour;
    review.inquiries = 0;
    review.state = pendingBehaviours.has(behaviour) ? 'pended' : 'decided';
    record(true, 'revised');
    await respondWith(
      write278Response(envelopeFor(request), review.request, answerFor(review)),
      PayloadType.response278,
    );
    return;
  }

  if (cancel) {
    const review = reviews.get(facts.traceNumber);
    if (!review) {
      record(true, 'cancel-not-found');
      await respondWith(
        write278Response(envelopeFor(request), request, {
          aaa: { code: 'AA', followUp: 'N', loop: '2000E' },
        }),
        PayloadType.response278,
      );
      return;
    }
    review.state = 'cancelled';
    record(true, 'cancelled');
    await respondWith(
      write278Response(envelopeFor(request), review.request, answerFor(review)),
      PayloadType.response278,
    );
    return;
  }

  if (behaviour === 'reject999') {
    record(false, 'rejected-999');
    const nm1 = request.segments.find((s) => s.tag === 'NM1' && v(s, 1) === 'IL')!;
    await respondWith(
      write999Reject(envelopeFor(request), request, request.groupControlNumber, {
        segment: nm1,
        loop: '2010C',
        element: 9,
        elementRef: '67',
      }),
      PayloadType.ack999,
    );
    return;
  }
  if (behaviour === 'reject-ta1') {
    record(false, 'rejected-ta1');
    await respondWith(
      writeTa1(envelopeFor(request), request.interchangeControlNumber, 'R', '006'),
      PayloadType.ackTa1,
    );
    return;
  }
  if (behaviour === 'aaa' || behaviour === 'aaa42') {
    record(false, behaviour);
    const aaa =
      behaviour === 'aaa'
        ? { code: '72', followUp: 'C', loop: '2010C' as const }
        : { code: '42', followUp: 'R', loop: '2000E' as const };
    await respondWith(write278Response(envelopeFor(request), request, { aaa }), PayloadType.response278);
    return;
  }

  // A review request the payer takes in. A repeat of a known trace is recorded (so tests see it) and answered
  // from the payer's existing review, the way a payer deduplicates.
  const existing = reviews.get(facts.traceNumber);
  const review: Review = existing ?? {
    traceNumber: facts.traceNumber,
    behaviour,
    request,
    certificationNumber: `SIMCERT${String(++counters.certificates).padStart(5, '0')}`,
    administrativeReference: `SIMREF${String(counters.certificates).padStart(5, '0')}`,
    period: approvedPeriod(),
    inquiries: 0,
    attachmentControlNumber: `ACN${String(counters.certificates).padStart(7, '0')}`,
    documentsReceived: 0,
    state: pendingBehaviours.has(behaviour) ? 'pended' : 'decided',
  };
  reviews.set(facts.traceNumber, review);

  if (behaviour === 'drop' && !droppedOnce.has(facts.traceNumber)) {
    droppedOnce.add(facts.traceNumber);
    record(true, existing ? 'duplicate dropped' : 'dropped');
    req.socket.destroy();
    return;
  }
  if (behaviour === 'slow') {
    record(true, existing ? 'duplicate delayed' : 'delayed');
    await new Promise((resolve) => setTimeout(resolve, slowMs));
    if (res.destroyed || req.socket.destroyed) return;
  } else {
    record(true, existing ? 'duplicate answered' : 'answered');
  }
  await respondWith(
    write278Response(envelopeFor(request), review.request, answerFor(review)),
    PayloadType.response278,
  );
}
