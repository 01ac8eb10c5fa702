/**
 * The portal connector's submit, inquire and reconcile (connector.ts's safety rules 1 to 3): an answered submission
 * returns its stored outcome; an open one is reconciled by searching the portal before anything is sent again; the
 * attempt is recorded just before the submitting click; the status page read on the payer's schedule. Split from
 * connector.ts; the runs it shares with the follow-ups are runs.ts's.
 */
import type { PayerConnector, SubmissionOutcome } from '../../src/workflow/ports/payer-connector.ts';
import type { SubmissionRecord } from '../x12/store.ts';
import { PortalSignError } from './engine.ts';
import { PortalError } from './errors.ts';
import { portalFields, requestAttachment } from './fields.ts';
import type { PortalConnectorRuns } from './runs.ts';

export function createPortalSubmission(
  runs: PortalConnectorRuns,
): Pick<PayerConnector, 'submit' | 'inquire' | 'reconcile'> {
  const {
    store,
    clock,
    channelOf,
    decision,
    checkAfterMs,
    session,
    search,
    codeOf,
    latestPortal,
    statusOutcome,
  } = runs;

  return {
    async submit(request, ctx) {
      const { channel } = channelOf(ctx);
      const prior = await latestPortal(ctx.caseId, 'submit');
      if (prior?.status === 'answered' && prior.outcome) return prior.outcome as SubmissionOutcome;
      if (prior && (prior.status === 'sending' || prior.status === 'unknown')) {
        // The last run may have reached the payer: look before sending anything again.
        const found = await search(request, ctx);
        if (found.confirmation) {
          const outcome: SubmissionOutcome = {
            kind: 'pended',
            decision: decision(ctx, request, 'pended', {
              confirmation: found.confirmation,
              submissionId: prior.id,
            }),
            checkAfterMs: checkAfterMs(channel),
          };
          await store.complete(prior.id, { status: 'answered', outcome, at: clock.now() });
          return outcome;
        }
        await store.complete(prior.id, { status: 'not_received', at: clock.now() });
      }
      let record: SubmissionRecord | undefined;
      const values = portalFields(request, ctx.traceNumber);
      const attachment = requestAttachment(request, ctx.traceNumber);
      let result: Awaited<ReturnType<typeof session>>;
      try {
        result = await session(ctx, request, 'submit', {
          beforeSubmit: async () => {
            record = await store.recordAttempt({
              tenant: ctx.tenant,
              caseId: ctx.caseId,
              payerId: ctx.payer.id,
              channel: 'portal',
              purpose: 'submit',
              traceNumber: ctx.traceNumber,
              // What was typed (sealed at rest): the evidence of what the payer was sent.
              request: JSON.stringify({
                form: values,
                attachment: { name: attachment.name, text: attachment.buffer.toString('utf8') },
              }),
              at: clock.now(),
            });
            return record.id;
          },
        });
      } catch (error) {
        if (!record) throw error; // nothing was sent
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
          if (error.kind !== 'rejected') throw error;
          return {
            kind: 'rejected',
            reasons: [
              {
                system: 'urn:pagw:portal:reason',
                code: 'portal-refused',
                text: 'The portal refused the request',
              },
            ],
            resubmitAllowed: false,
            messages: [
              `The portal refused the request (recipe step ${error.step?.step ?? '?'}); see the evidence screenshot`,
            ],
          };
        }
        await store.complete(record.id, { status: 'unknown', errorCode: codeOf(error), at: clock.now() });
        throw new PortalError(
          'PAGW_PORTAL_SUBMISSION_UNCONFIRMED',
          'The request was sent but no confirmation number was seen; the portal is searched before any resubmission',
          {
            cause: error,
            ...(error instanceof PortalError && error.step ? { step: error.step } : {}),
            ...(error instanceof PortalError && error.evidenceId !== undefined
              ? { evidenceId: error.evidenceId }
              : {}),
          },
        );
      }
      const confirmation = result.extracted.confirmationNumber!;
      const asked = result.extracted.documentsRequested;
      const outcome: SubmissionOutcome = {
        kind: 'pended',
        decision: decision(ctx, request, 'pended', {
          confirmation,
          submissionId: record!.id,
          ...(asked ? { documentsRequested: asked } : {}),
        }),
        checkAfterMs: checkAfterMs(channel),
      };
      await store.complete(record!.id, {
        status: 'answered',
        response: result.pageText,
        outcome,
        at: clock.now(),
      });
      return outcome;
    },

    async inquire(request, ctx) {
      const { channel, recipe } = channelOf(ctx);
      const prior = await latestPortal(ctx.caseId, 'submit');
      const known = prior?.outcome as SubmissionOutcome | undefined;
      const confirmation = known && 'decision' in known ? known.decision.administrativeReference : undefined;
      if (!prior || !confirmation) {
        return {
          kind: 'rejected',
          reasons: [
            {
              system: 'urn:pagw:portal:reason',
              code: 'not-found',
              text: 'No portal submission for this case',
            },
          ],
          resubmitAllowed: true,
          messages: ['The portal holds no submission with this case’s confirmation number'],
        };
      }
      const record = await store.recordAttempt({
        tenant: ctx.tenant,
        caseId: ctx.caseId,
        payerId: ctx.payer.id,
        channel: 'portal',
        purpose: 'inquire',
        traceNumber: ctx.traceNumber,
        request: JSON.stringify({ status: confirmation }),
        at: clock.now(),
      });
      let result: Awaited<ReturnType<typeof session>>;
      try {
        result = await session(ctx, request, 'status', {
          confirmationNumber: confirmation,
          submissionId: record.id,
        });
      } catch (error) {
        await store.complete(record.id, { status: 'failed', errorCode: codeOf(error), at: clock.now() });
        throw error;
      }
      const outcomeWord = statusOutcome(recipe, result.extracted);
      const facts = {
        confirmation,
        submissionId: record.id,
        ...(result.extracted.authorizationNumber
          ? { authorization: result.extracted.authorizationNumber }
          : {}),
        ...(result.extracted.reason ? { reason: result.extracted.reason } : {}),
        ...(result.extracted.documentsRequested
          ? { documentsRequested: result.extracted.documentsRequested }
          : {}),
      };
      const outcome: SubmissionOutcome =
        outcomeWord === 'pended'
          ? {
              kind: 'pended',
              decision: decision(ctx, request, 'pended', facts),
              checkAfterMs: checkAfterMs(channel),
            }
          : { kind: 'decided', decision: decision(ctx, request, outcomeWord, facts) };
      await store.complete(record.id, {
        status: 'answered',
        response: result.pageText,
        outcome,
        at: clock.now(),
      });
      // Keep the submission's stored answer current, so a later submit() returns the latest word.
      if (outcome.kind === 'decided')
        await store.complete(prior.id, { status: 'answered', outcome, at: clock.now() });
      return outcome;
    },

    async reconcile(request, ctx) {
      const { channel } = channelOf(ctx);
      const found = await search(request, ctx);
      if (!found.confirmation) return { live: false };
      return {
        live: true,
        outcome: {
          kind: 'pended',
          decision: decision(ctx, request, 'pended', {
            confirmation: found.confirmation,
            submissionId: found.record.id,
          }),
          checkAfterMs: checkAfterMs(channel),
        },
      };
    },
  };
}
