/**
 * What the simulated PAS payer does with what follows a request it holds: a Claim update (PAS "Updating Authorization
 * Requests") and documents by CDex `$submit-attachment` (PAS "Request for Additional Information"). Split from
 * server.ts; the server hands over its state (ctx).
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { behaviourOf, type PasBehaviour } from './behaviours.ts';
import { readSubmitAttachment } from './cdex.ts';
import { type Answer, operationOutcome, type ReadClaim, responseBundle } from './fhir.ts';
import type { PasReceived, Review } from './sim-state.ts';

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
 * CDex `$submit-attachment` (the way PAS 2.2.1 takes additional information), read strictly by the published
 * parameter names (./cdex.ts): anything else is 400 with an OperationOutcome naming each missing or unknown
 * parameter. Matched to the review by TrackingId (the attachment control number it asked under, or the Claim
 * identifier) for AttachTo `preauthorization` (this payer holds no claims); 404 when unknown. Taken at any path under
 * /fhir/ ending in `$submit-attachment`, recorded, so a test can tell which endpoint a client used.
 */
export async function submitAttachment(
  ctx: SimChanges,
  req: IncomingMessage,
  res: ServerResponse,
  path: string,
): Promise<void> {
  const read = readSubmitAttachment(JSON.parse(await ctx.readBody(req)));
  if (!read.ok) {
    ctx.record({
      kind: 'attachment',
      attachment: { path, trackingId: '', bytes: 0, lineItems: [] },
      accepted: false,
      disposition: `refused: ${read.issues.map((i) => i.text).join('; ')}`,
    });
    return ctx.send(res, 400, operationOutcome(read.issues));
  }
  const { trackingId, attachTo, final } = read.value;
  const first = read.value.attachments[0]!;
  const doc = first.content;
  const data: string = doc?.content?.[0]?.attachment?.data ?? '';
  const review =
    attachTo === 'preauthorization'
      ? [...ctx.reviews.values()].find(
          (r) => r.attachmentControlNumber === trackingId || r.claim.identifier.value === trackingId,
        )
      : undefined;
  const attachment = {
    path,
    trackingId,
    final,
    reportType: first.code?.coding?.[0]?.code,
    contentType: doc?.content?.[0]?.attachment?.contentType,
    bytes: Buffer.from(data, 'base64').length,
    lineItems: first.lineItems,
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
            ? 'Attachment.Content must be a DocumentReference with the data inline'
            : 'no prior authorization request with this TrackingId',
          expression: review
            ? "Parameters.parameter.where(name = 'Attachment').part.where(name = 'Content')"
            : "Parameters.parameter.where(name = 'TrackingId')",
        },
      ]),
    );
  }
  review.documentsReceived += read.value.attachments.length;
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
