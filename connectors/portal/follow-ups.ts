/**
 * What the portal robot does for a request the payer already holds (issue #14): `update` — the EHR changed the order
 * (service codes, units, dates): the recipe's update flow opens the request and types the changed fields, and the
 * payer's answer is read like a submission's —, `sendAttachments` — documents the payer asked for: the recipe's
 * upload flow opens the request and sets them on its file input from memory (never written to disk) — and `cancel`
 * — the EHR cancelled the order: the recipe's cancel flow opens the request, clicks its withdraw control, confirms,
 * and reads the status the page then shows (a decided `cancelled` outcome, review action C, like a 278 cancel).
 *
 * A recipe without the flow cannot do it: PAGW_PORTAL_UNSUPPORTED, not retried, so the step fails to a person (a
 * channel_failure task), as for a channel without the method. The same safety rules as a submission: the attempt is
 * recorded (committed) just before the submitting click; an answer never seen after it is
 * PAGW_PORTAL_SUBMISSION_UNCONFIRMED (retried). Retrying an update types the same values again (harmless); retrying an
 * upload first reads the documents the request already holds (the recipe's extract into documentsReceived, by file
 * name) and sends only the others — none left, the flow ends before the upload and nothing is sent again. Retrying a
 * withdrawal first reads the request's status: already cancelled, the flow ends before the withdraw click (never
 * twice), and the attempt whose answer was not seen is completed with the cancelled outcome. An answered withdrawal
 * returns its stored outcome without opening the browser.
 */
import type { AuthorizationDecision, AuthorizationRequest } from '../../src/canonical/types.generated.ts';
import type { Clock } from '../../src/clock.ts';
import type {
  PayerAttachment,
  PayerCallContext,
  PayerConnector,
  SubmissionOutcome,
} from '../../src/workflow/ports/payer-connector.ts';
import type { PortalChannel } from '../../src/workflow/rules/types.generated.ts';
import type { SubmissionRecord, X12Store } from '../x12/store.ts';
import { type Extracted, type FlowName, PortalSignError } from './engine.ts';
import { PortalError } from './errors.ts';
import { type Attachment, documentFile, portalFields } from './fields.ts';
import type { PortalRecipe } from './recipes.ts';

/** The connector's own runs and records, which these flows share (connectors/portal/runs.ts, for connector.ts). */
export interface PortalRuns {
  readonly store: X12Store;
  readonly clock: Clock;
  channelOf(ctx: PayerCallContext): { channel: PortalChannel; recipe: PortalRecipe };
  session(
    ctx: PayerCallContext,
    request: AuthorizationRequest,
    flow: Exclude<FlowName, 'login'>,
    extra: {
      confirmationNumber?: string;
      beforeSubmit?: () => Promise<number>;
      documents?: readonly Attachment[];
    },
  ): Promise<{ extracted: Extracted; submitted: boolean; pageText: string; alreadyHeld: boolean }>;
  decision(
    ctx: PayerCallContext,
    request: AuthorizationRequest,
    outcome: 'pended' | 'cancelled',
    facts: { confirmation?: string; submissionId: number; documentsRequested?: string },
  ): AuthorizationDecision;
  checkAfterMs(channel: PortalChannel): number;
  latestPortal(caseId: string, purpose: 'submit' | 'cancel'): Promise<SubmissionRecord | undefined>;
  search(request: AuthorizationRequest, ctx: PayerCallContext): Promise<{ confirmation?: string }>;
  codeOf(error: unknown): string;
}

export function createFollowUps(
  runs: PortalRuns,
): Required<Pick<PayerConnector, 'update' | 'sendAttachments' | 'cancel'>> {
  const { store, clock } = runs;

  function flowOf(ctx: PayerCallContext, flow: 'update' | 'upload' | 'cancel', what: string): PortalChannel {
    const { channel, recipe } = runs.channelOf(ctx);
    if (!recipe.flows[flow])
      throw new PortalError(
        'PAGW_PORTAL_UNSUPPORTED',
        `The portal recipe ${recipe.id} has no ${flow} flow: a person ${what} on the payer's portal`,
      );
    return channel;
  }

  /** The confirmation number of the request the payer holds for this case (searched for when it was never seen). */
  async function held(
    request: AuthorizationRequest,
    ctx: PayerCallContext,
  ): Promise<{ confirmation: string; submit: SubmissionRecord }> {
    const submit = await runs.latestPortal(ctx.caseId, 'submit');
    const known = submit?.outcome as SubmissionOutcome | null | undefined;
    const confirmation = known && 'decision' in known ? known.decision.administrativeReference : undefined;
    if (submit && confirmation) return { confirmation, submit };
    if (submit && (submit.status === 'sending' || submit.status === 'unknown')) {
      const found = await runs.search(request, ctx);
      if (found.confirmation) return { confirmation: found.confirmation, submit };
    }
    throw new PortalError(
      'PAGW_PORTAL_REQUEST_NOT_FOUND',
      'The portal holds no request of this case to change, to attach documents to or to withdraw',
    );
  }

  /** A failure after the submitting click: recorded, and typed so that the workflow retries or stops. */
  async function afterClick(record: SubmissionRecord, error: unknown, what: string): Promise<never> {
    if (
      error instanceof PortalSignError &&
      ['rejected', 'form_refused', 'use_another_channel'].includes(error.kind)
    ) {
      await store.complete(record.id, {
        status: 'rejected',
        errorCode: error.code,
        response: error.pageText,
        at: clock.now(),
      });
      throw error;
    }
    await store.complete(record.id, { status: 'unknown', errorCode: runs.codeOf(error), at: clock.now() });
    throw new PortalError(
      'PAGW_PORTAL_SUBMISSION_UNCONFIRMED',
      `The ${what} was sent but the portal's answer was not seen; the next attempt sends it again`,
      {
        cause: error,
        ...(error instanceof PortalError && error.step ? { step: error.step } : {}),
        ...(error instanceof PortalError && error.evidenceId !== undefined
          ? { evidenceId: error.evidenceId }
          : {}),
      },
    );
  }

  return {
    async update(request, ctx) {
      const channel = flowOf(ctx, 'update', 'changes the request');
      const { confirmation, submit } = await held(request, ctx);
      const values = portalFields(request, ctx.traceNumber);
      let record: SubmissionRecord | undefined;
      let result: Awaited<ReturnType<PortalRuns['session']>>;
      try {
        result = await runs.session(ctx, request, 'update', {
          confirmationNumber: confirmation,
          beforeSubmit: async () => {
            record = await store.recordAttempt({
              tenant: ctx.tenant,
              caseId: ctx.caseId,
              payerId: ctx.payer.id,
              channel: 'portal',
              purpose: 'update',
              traceNumber: ctx.traceNumber,
              // What was typed (sealed at rest): the evidence of the change the payer was sent.
              request: JSON.stringify({
                confirmation,
                form: {
                  serviceCodes: values.serviceCodes,
                  units: values.units,
                  serviceStart: values.serviceStart,
                  serviceEnd: values.serviceEnd,
                },
              }),
              at: clock.now(),
            });
            return record.id;
          },
        });
      } catch (error) {
        if (!record) throw error; // nothing was sent
        return afterClick(record, error, 'change');
      }
      const now = result.extracted.confirmationNumber ?? confirmation;
      const asked = result.extracted.documentsRequested;
      const outcome: SubmissionOutcome = {
        kind: 'pended',
        decision: runs.decision(ctx, request, 'pended', {
          confirmation: now,
          submissionId: record!.id,
          ...(asked ? { documentsRequested: asked } : {}),
        }),
        checkAfterMs: runs.checkAfterMs(channel),
      };
      await store.complete(record!.id, {
        status: 'answered',
        response: result.pageText,
        outcome,
        at: clock.now(),
      });
      // A portal that numbers the changed request anew: status checks follow the new number.
      if (now !== confirmation)
        await store.complete(submit.id, { status: 'answered', outcome, at: clock.now() });
      return outcome;
    },

    async sendAttachments(request, documents: readonly PayerAttachment[], ctx) {
      flowOf(ctx, 'upload', 'uploads the documents');
      if (documents.length === 0) return { sent: 0 };
      const { confirmation } = await held(request, ctx);
      const files = documents.map(documentFile);
      let record: SubmissionRecord | undefined;
      let result: Awaited<ReturnType<PortalRuns['session']>>;
      try {
        result = await runs.session(ctx, request, 'upload', {
          confirmationNumber: confirmation,
          documents: files,
          beforeSubmit: async () => {
            record = await store.recordAttempt({
              tenant: ctx.tenant,
              caseId: ctx.caseId,
              payerId: ctx.payer.id,
              channel: 'portal',
              purpose: 'attachment',
              traceNumber: ctx.traceNumber,
              // Which documents went, not their bytes (those stay sealed with the case).
              request: JSON.stringify({
                confirmation,
                documents: documents.map((d, i) => ({
                  documentId: d.documentId,
                  reportType: d.reportType,
                  contentType: d.contentType,
                  bytes: d.content.length,
                  file: files[i]!.name,
                })),
              }),
              at: clock.now(),
            });
            return record.id;
          },
        });
      } catch (error) {
        if (!record) throw error;
        return afterClick(record, error, 'upload');
      }
      if (record)
        await store.complete(record.id, {
          status: 'answered',
          response: result.pageText,
          outcome: { receipt: result.extracted.receipt, documents: documents.map((d) => d.documentId) },
          at: clock.now(),
        });
      // Earlier uploads whose receipt was never seen: the request now holds their documents (found there, or sent now).
      for (const open of (await store.forCase(ctx.caseId)).filter(
        (r) => r.channel === 'portal' && r.purpose === 'attachment' && r.status === 'unknown',
      ))
        await store.complete(open.id, {
          status: 'answered',
          outcome: { reconciled: true, alreadyHeld: result.alreadyHeld },
          at: clock.now(),
        });
      return { sent: documents.length };
    },

    async cancel(request, ctx) {
      flowOf(ctx, 'cancel', 'withdraws the request');
      const done = await runs.latestPortal(ctx.caseId, 'cancel');
      if (done?.status === 'answered' && done.outcome) return done.outcome as SubmissionOutcome;
      const { confirmation } = await held(request, ctx);
      let record: SubmissionRecord | undefined;
      let result: Awaited<ReturnType<PortalRuns['session']>>;
      try {
        result = await runs.session(ctx, request, 'cancel', {
          confirmationNumber: confirmation,
          beforeSubmit: async () => {
            record = await store.recordAttempt({
              tenant: ctx.tenant,
              caseId: ctx.caseId,
              payerId: ctx.payer.id,
              channel: 'portal',
              purpose: 'cancel',
              traceNumber: ctx.traceNumber,
              request: JSON.stringify({ withdraw: confirmation }),
              at: clock.now(),
            });
            return record.id;
          },
        });
      } catch (error) {
        if (!record) throw error;
        return afterClick(record, error, 'withdrawal');
      }
      const { recipe } = runs.channelOf(ctx);
      const shown = result.extracted.status ?? '';
      if (recipe.statusMap[shown] !== 'cancelled') {
        const error = new PortalError(
          'PAGW_PORTAL_PAGE_CHANGED',
          `After the withdrawal the portal shows "${shown.slice(0, 40)}", which the recipe does not map to cancelled`,
        );
        if (!record) throw error;
        return afterClick(record, error, 'withdrawal');
      }
      // Found already cancelled (an earlier withdrawal whose answer was never seen): that attempt is the evidence.
      const open = (await store.forCase(ctx.caseId)).filter(
        (r) => r.channel === 'portal' && r.purpose === 'cancel' && r.status === 'unknown',
      );
      const evidence =
        record ??
        open.at(-1) ??
        (await store.recordAttempt({
          tenant: ctx.tenant,
          caseId: ctx.caseId,
          payerId: ctx.payer.id,
          channel: 'portal',
          purpose: 'cancel',
          traceNumber: ctx.traceNumber,
          // Nothing was sent: the request already showed cancelled (withdrawn on the portal by a person).
          request: JSON.stringify({ withdraw: confirmation, alreadyCancelled: true }),
          at: clock.now(),
        }));
      const outcome: SubmissionOutcome = {
        kind: 'decided',
        decision: runs.decision(ctx, request, 'cancelled', { confirmation, submissionId: evidence.id }),
      };
      for (const r of new Set([evidence, ...open]))
        await store.complete(r.id, {
          status: 'answered',
          ...(r === evidence ? { response: result.pageText } : {}),
          outcome: r === evidence ? outcome : { reconciled: true, alreadyCancelled: result.alreadyHeld },
          at: clock.now(),
        });
      return outcome;
    },
  };
}
