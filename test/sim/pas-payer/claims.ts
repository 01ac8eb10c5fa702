/**
 * POST /fhir/Claim/$submit and /fhir/Claim/$inquire at the simulated PAS payer. $submit: the member's transport
 * behaviours (503, RATE, DROP, SLOW) and scripted refusals (422 OperationOutcome), a cancellation, a Claim update
 * (changes.ts), a repeat answered from the existing review (deduplicated by Claim identifier), else a new review
 * taken in (PENDNOTIFY decided by its timer). $inquire: the review's current answer, deciding a pended one when its
 * behaviour says so; 404 for an unknown identifier. Split from server.ts.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { behaviourOf } from './behaviours.ts';
import { type SimChanges, stateFor, update } from './changes.ts';
import { bundleOf, operationOutcome, readClaim, responseBundle } from './fhir.ts';
import { readBody, send } from './http.ts';
import { answerOf } from './review-answers.ts';
import type { PasSimState, Review } from './sim-state.ts';

/** `decide` is the subscriptions' (a decided PENDNOTIFY review notifies), `changes` the Claim update's state. */
export function createClaims(sim: PasSimState, decide: (review: Review) => void, changes: SimChanges) {
  const { slowMs, notifyAfterMs, reviews, rateLimited, dropped, timers, record } = sim;
  let certificates = 0;

  async function submit(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const bundle = bundleOf(JSON.parse(await readBody(req)));
    const claim = readClaim(bundle);
    const known = reviews.get(claim.key);
    const behaviour = known?.behaviour ?? behaviourOf(claim.memberId, claim.serviceCodes);
    const base = {
      kind: 'submit' as const,
      key: claim.key,
      memberId: claim.memberId,
      serviceCodes: claim.serviceCodes,
      resourceTypes: [
        ...new Set(
          ((bundle.entry ?? []) as { resource?: { resourceType?: string } }[]).map(
            (e) => e.resource?.resourceType ?? '',
          ),
        ),
      ],
    };
    if (behaviour === 'unavailable') {
      record({ ...base, accepted: false, disposition: 'http-503' });
      return send(res, 503, operationOutcome([{ code: 'transient', text: 'payer unavailable' }]));
    }
    if (behaviour === 'rate-limit' && !rateLimited.has(claim.key)) {
      rateLimited.add(claim.key);
      record({ ...base, accepted: false, disposition: 'http-429' });
      return send(res, 429, operationOutcome([{ code: 'throttled', text: 'too many requests' }]), {
        'retry-after': '1',
      });
    }
    if (behaviour === 'operation-outcome') {
      record({ ...base, accepted: false, disposition: 'operation-outcome' });
      return send(
        res,
        422,
        operationOutcome([
          {
            code: 'business-rule',
            text: 'The member is not known to this payer',
            expression: 'Coverage.subscriberId',
          },
          { severity: 'warning', code: 'informational', text: 'check the coverage' },
        ]),
      );
    }
    if (claim.cancels) {
      const original = reviews.get(claim.cancels);
      if (!original) {
        record({ ...base, accepted: false, disposition: 'cancel of an unknown request' });
        return send(
          res,
          404,
          operationOutcome([{ code: 'not-found', text: 'no request to cancel with this identifier' }]),
        );
      }
      original.state = 'cancelled';
      record({ ...base, accepted: false, disposition: 'cancelled' });
      return send(res, 200, responseBundle(claim, answerOf(original)));
    }
    if (claim.updates) return update(changes, res, claim, base);
    if (known) {
      record({ ...base, accepted: false, disposition: 'duplicate: answered from the existing review' });
      return send(res, 200, responseBundle(claim, answerOf(known)));
    }
    const review: Review = {
      claim,
      behaviour,
      certificationNumber: `SIMAUTH${String(++certificates).padStart(5, '0')}`,
      administrationReferenceNumber: `SIMPEND${String(certificates).padStart(5, '0')}`,
      state: stateFor(behaviour),
      inquiries: 0,
      attachmentControlNumber: `ACN${String(certificates).padStart(7, '0')}`,
      documentsReceived: 0,
      updates: 0,
    };
    reviews.set(claim.key, review);
    if (behaviour === 'pend-notify') {
      const timer = setTimeout(() => {
        timers.delete(timer);
        decide(review);
      }, notifyAfterMs);
      timers.add(timer);
    }
    if (behaviour === 'drop' && !dropped.has(claim.key)) {
      dropped.add(claim.key);
      record({ ...base, accepted: true, disposition: 'taken in, connection dropped' });
      req.socket.destroy();
      return;
    }
    record({
      ...base,
      accepted: true,
      disposition: behaviour === 'slow' ? `answered after ${slowMs} ms` : 'answered',
    });
    if (behaviour === 'slow') await new Promise((r) => setTimeout(r, slowMs));
    send(res, 200, responseBundle(claim, answerOf(review)));
  }

  async function inquire(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const claim = readClaim(bundleOf(JSON.parse(await readBody(req))));
    const review = reviews.get(claim.key);
    const base = { kind: 'inquire' as const, key: claim.key, memberId: claim.memberId, accepted: false };
    if (behaviourOf(claim.memberId, claim.serviceCodes) === 'unavailable') {
      record({ ...base, disposition: 'http-503' });
      return send(res, 503, operationOutcome([{ code: 'transient', text: 'payer unavailable' }]));
    }
    if (!review) {
      record({ ...base, disposition: 'not-found' });
      return send(
        res,
        404,
        operationOutcome([
          { code: 'not-found', text: 'no prior authorization request with this identifier' },
        ]),
      );
    }
    review.inquiries++;
    // Pended by inquire: decided when asked. Pended by notification: only the payer's own timer decides it.
    // Pended for documents: decided at the first inquiry after they arrived.
    if (review.behaviour === 'pend-inquire') decide(review);
    if (review.behaviour === 'pend-docs' && review.documentsReceived > 0) decide(review);
    record({ ...base, disposition: `answered (${review.state})` });
    send(res, 200, responseBundle(review.claim, answerOf(review), { inquiry: true }));
  }

  return { submit, inquire };
}
