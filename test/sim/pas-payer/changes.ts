/**
 * What the simulated PAS payer does with what follows a request it holds: a Claim update (PAS "Updating Authorization
 * Requests") and documents by CDex `$submit-attachment` (PAS "Request for Additional Information"). Split from
 * server.ts; the server hands over its state (ctx).
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { behaviourOf, type PasBehaviour } from './behaviours.ts';
import { type Answer, operationOutcome, type ReadClaim, responseBundle } from './fhir.ts';
import type { PasReceived, Review } from './server.ts';

/** The server's state and helpers the handlers use. */
export interface SimChanges {
  readonly reviews: Map<string, Review>;
  /** A Claim update's identifier → the review it changed (a later update may relate to it). */
  readonly updated: Map<string, Review>;
  record(entry: Omit<PasReceived, 'seq' | 'at'>): void;
  answerOf(review: Review): Answer;
  send(res: ServerResponse, status: number, body: unknown): void;
  readBody(req: IncomingMessage): Promise<string>;
}

// biome-ignore lint/suspicious/noExplicitAny: loose FHIR JSON in a simulator that reads what clients send
type Json = Record<string, any>;

/** Where a review starts for a behaviour. */
export function stateFor(behaviour: PasBehaviour): Review['state'] {
  if (behaviour === 'pend-inquire' || behaviour === 'pend-notify' || behaviour === 'pend-docs')
    return 'pended';
  return behaviour === 'reject' ? 'rejected' : 'decided';
}

/** Whether the member id alone scripts the behaviour (then a changed request keeps it). */
function byMemberPrefixOnly(memberId: string): boolean {
  return behaviourOf(memberId, []) !== 'approve';
}

/**
 * A Claim update (PAS "Updating Authorization Requests"): for a request the payer holds (by the related Claim's
 * identifier, or an earlier update's) and has not cancelled, the changed request replaces the reviewed one and is
 * reviewed afresh, its behaviour read from the new request; a repeat of the same update is answered from the review.
 * For an unknown or cancelled request: 404, not-found.
 */
export function update(
  ctx: SimChanges,
  res: ServerResponse,
  claim: ReadClaim,
  base: Omit<PasReceived, 'seq' | 'at' | 'accepted' | 'disposition'>,
): void {
  const entry = { ...base, kind: 'update' as const, updates: claim.updates, changes: claim.changes ?? [] };
  const repeat = ctx.updated.get(claim.key);
  if (repeat) {
    ctx.record({ ...entry, accepted: false, disposition: 'duplicate update: answered from the review' });
    ctx.send(res, 200, responseBundle(claim, ctx.answerOf(repeat)));
    return;
  }
  const review = ctx.reviews.get(claim.updates!) ?? ctx.updated.get(claim.updates!);
  if (!review || review.state === 'cancelled' || review.state === 'rejected') {
    ctx.record({ ...entry, accepted: false, disposition: 'update of an unknown request' });
    ctx.send(
      res,
      404,
      operationOutcome([
        {
          code: 'not-found',
          text: 'no open prior authorization request with the related Claim identifier',
          expression: 'Claim.related.claim',
        },
      ]),
    );
    return;
  }
  review.claim = claim;
  review.updates++;
  if (!byMemberPrefixOnly(claim.memberId)) review.behaviour = behaviourOf(claim.memberId, claim.serviceCodes);
  review.state = stateFor(review.behaviour);
  ctx.updated.set(claim.key, review);
  ctx.record({ ...entry, accepted: true, disposition: 'revised' });
  ctx.send(res, 200, responseBundle(claim, ctx.answerOf(review)));
}

/**
 * CDex `$submit-attachment` (the way PAS 2.2.1 takes additional information): matched to the review by its
 * tracking id (the attachment control number it asked under, or the Claim identifier); 404 when unknown.
 */
export async function submitAttachment(
  ctx: SimChanges,
  req: IncomingMessage,
  res: ServerResponse,
): Promise<void> {
  const body = JSON.parse(await ctx.readBody(req));
  const params: Json[] = body?.resourceType === 'Parameters' ? (body.parameter ?? []) : [];
  const named = (list: Json[], name: string) =>
    list.filter((p) => String(p.name).toLowerCase() === name.toLowerCase());
  const trackingId: string = named(params, 'trackingId')[0]?.valueIdentifier?.value ?? '';
  const parts: Json[] = named(params, 'attachment')[0]?.part ?? [];
  const doc = named(parts, 'content')[0]?.resource;
  const data: string = doc?.content?.[0]?.attachment?.data ?? '';
  const review = [...ctx.reviews.values()].find(
    (r) => r.attachmentControlNumber === trackingId || r.claim.identifier.value === trackingId,
  );
  const attachment = {
    trackingId,
    reportType: named(parts, 'code')[0]?.valueCodeableConcept?.coding?.[0]?.code,
    contentType: doc?.content?.[0]?.attachment?.contentType,
    bytes: Buffer.from(data, 'base64').length,
    lineItems: named(parts, 'lineItem').map((p) => String(p.valueString)),
  };
  if (!review || !data || doc?.resourceType !== 'DocumentReference') {
    ctx.record({
      kind: 'attachment',
      attachment,
      accepted: false,
      disposition: review ? 'no DocumentReference with inline data' : 'unknown tracking id',
    });
    return ctx.send(
      res,
      review ? 400 : 404,
      operationOutcome([
        {
          code: review ? 'invalid' : 'not-found',
          text: review
            ? 'attachment.content must be a DocumentReference with the data inline'
            : 'no prior authorization request with this tracking id',
        },
      ]),
    );
  }
  review.documentsReceived++;
  ctx.record({
    kind: 'attachment',
    key: review.claim.key,
    memberId: review.claim.memberId,
    attachment,
    accepted: true,
    disposition: 'attachment received',
  });
  ctx.send(
    res,
    200,
    operationOutcome([{ severity: 'information', code: 'informational', text: 'received' }]),
  );
}
