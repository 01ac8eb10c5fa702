/**
 * What the PAS connector sends after the payer took a request: a claim update when the EHR changed the order
 * (update-bundle.ts, `Claim/$submit`, answered like a submission) and the documents the payer asked for on a pended
 * request (attachment.ts, the CDex `$submit-attachment` operation PAS 2.2.1 names for additional information).
 * Both use the connector's recorded exchanges (payer_submissions, purposes `update` and `attachment`), so every
 * attempt is committed before it is sent and audited like a submission.
 */
import type { Bundle } from '@medplum/fhirtypes';
import type { AuthorizationRequest } from '../../src/canonical/types.generated.ts';
import type { Clock } from '../../src/clock.ts';
import type {
  PayerAttachment,
  PayerCallContext,
  SubmissionOutcome,
} from '../../src/workflow/ports/payer-connector.ts';
import type { PasChannel } from '../../src/workflow/rules/types.generated.ts';
import type { SubmissionPurpose, SubmissionRecord, X12Store } from '../x12/store.ts';
import { buildPasAttachmentParameters, pasAttachmentUrl } from './attachment.ts';
import { PasError } from './errors.ts';
import type { PasBuildContext } from './request-bundle.ts';
import type { PasHttpResponse } from './transport.ts';
import { buildPasUpdateBundle } from './update-bundle.ts';

/** The connector's own exchange machinery, handed over so both paths record and retry the same way. */
export interface PasExchangeKit {
  readonly store: X12Store;
  readonly clock: Clock;
  channelOf(ctx: PayerCallContext): PasChannel;
  buildContext(ctx: PayerCallContext): PasBuildContext;
  withRetries<T>(channel: PasChannel, operation: () => Promise<T>): Promise<T>;
  exchange(
    purpose: SubmissionPurpose,
    ctx: PayerCallContext,
    channel: PasChannel,
    path: string,
    body: unknown,
  ): Promise<{ record: SubmissionRecord; response: PasHttpResponse }>;
  settle(
    record: SubmissionRecord,
    response: PasHttpResponse,
    ctx: PayerCallContext,
    channel: PasChannel,
  ): Promise<SubmissionOutcome>;
  afterAnswer(
    outcome: SubmissionOutcome,
    request: AuthorizationRequest,
    ctx: PayerCallContext,
    channel: PasChannel,
  ): Promise<SubmissionOutcome>;
}

const READER = 'connector:pas';

export function createPasChanges(kit: PasExchangeKit) {
  const { store, clock } = kit;

  /**
   * The version the payer holds: the Bundle of the last update it answered, else of the submit it answered. Read
   * through the audited PHI path (the request is sealed at rest), as the connector's own read.
   */
  async function priorVersion(
    ctx: PayerCallContext,
  ): Promise<{ bundle: Bundle; updatesSent: number } | undefined> {
    const records = (await store.forCase(ctx.caseId)).filter((r) => r.channel === 'pas');
    const answered = (purpose: SubmissionPurpose) =>
      records.filter((r) => r.purpose === purpose && r.status === 'answered').sort((a, b) => b.id - a.id)[0];
    const prior = answered('update') ?? answered('submit');
    if (!prior) return undefined;
    const payloads = await store.openPayloads(prior.id, { reader: READER, caseId: ctx.caseId });
    if (!payloads?.request) return undefined;
    // Each update the payer answered (or refused) took its number: a new update takes the next one, a resend the same.
    const updatesSent = records.filter(
      (r) => r.purpose === 'update' && (r.status === 'answered' || r.status === 'rejected'),
    ).length;
    return { bundle: JSON.parse(payloads.request) as Bundle, updatesSent };
  }

  async function update(request: AuthorizationRequest, ctx: PayerCallContext): Promise<SubmissionOutcome> {
    const channel = kit.channelOf(ctx);
    const prior = await priorVersion(ctx);
    if (!prior) {
      throw new PasError(
        'PAGW_PAS_NOTHING_TO_UPDATE',
        `Case ${ctx.caseId}: the payer answered no PAS request of this case, so there is no Claim to update`,
        { retriable: false },
      );
    }
    const bundle = buildPasUpdateBundle(request, kit.buildContext(ctx), {
      number: prior.updatesSent + 1,
      prior: prior.bundle,
    });
    const outcome = await kit.withRetries(channel, async () => {
      const { record, response } = await kit.exchange('update', ctx, channel, 'Claim/$submit', bundle);
      return kit.settle(record, response, ctx, channel);
    });
    // Keep the submit's stored answer current, so a later submit() or reconcile returns the latest word.
    const submitted = await store.latest(ctx.caseId, 'submit');
    if (submitted?.status === 'answered' && outcome.kind !== 'rejected')
      await store.complete(submitted, { status: 'answered', outcome, at: clock.now() });
    return kit.afterAnswer(outcome, request, ctx, channel);
  }

  async function sendAttachments(
    request: AuthorizationRequest,
    documents: readonly PayerAttachment[],
    ctx: PayerCallContext,
  ): Promise<{ sent: number }> {
    const channel = kit.channelOf(ctx);
    const lines = request.serviceLines.map((l) => l.sequence).sort((a, b) => a - b);
    const endpoint = pasAttachmentUrl(channel);
    let sent = 0;
    for (const [index, document] of documents.entries()) {
      const parameters = buildPasAttachmentParameters(request, kit.buildContext(ctx), document, {
        lines,
        // CDex `Final`: the payer may act once it has the last document, not before.
        final: index === documents.length - 1,
      });
      await kit.withRetries(channel, async () => {
        const { record, response } = await kit.exchange('attachment', ctx, channel, endpoint, parameters);
        if (response.status >= 400) {
          // CDex: a 4xx means resending the same attachment is pointless (unknown tracking id, refused content).
          await store.complete(record, {
            status: 'rejected',
            response: response.text,
            errorCode: 'PAGW_PAS_ATTACHMENT_REFUSED',
            at: clock.now(),
          });
          throw new PasError(
            'PAGW_PAS_ATTACHMENT_REFUSED',
            `The payer refused the attachment (HTTP ${response.status})`,
            { retriable: false },
          );
        }
        await store.complete(record, {
          status: 'answered',
          response: response.text,
          outcome: { attachment: document.documentId, trackingId: document.controlNumber ?? null },
          at: clock.now(),
        });
      });
      sent++;
    }
    return { sent };
  }

  return { update, sendAttachments };
}
