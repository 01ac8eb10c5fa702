/**
 * The portal robot as a PayerConnector: it signs in to the payer's web portal with the tenant's vault secrets and a
 * TOTP code generated inside the vault, fills the PA form from the canonical request (with an attachment), reads
 * the confirmation number, and later reads the status page on the payer's schedule until the payer decides. For a
 * request the portal holds, ./follow-ups.ts uploads the documents the payer asked for, changes the request after
 * the EHR changed the order and withdraws it after the EHR cancelled it (the recipe's upload, update and cancel flows).
 *
 * Safety rules, as in the X12 connector:
 * 1. An answered submission returns its stored outcome: nothing is sent again.
 * 2. A submission whose fate is open (recorded, then the run broke off — a crash, a kill, a lost page) is
 *    reconciled by SEARCHING the portal for the case's trace number (typed as "your reference") before anything
 *    is sent again: found, its confirmation is taken; not found, a new submission may go.
 * 3. The attempt is recorded (committed) in payer_submissions just before the submitting click, never earlier (a
 *    run that fails before it sent nothing) and never later.
 * Failures are typed (login refused, 2FA refused, session expired, page changed with the step and a screenshot,
 * portal down) and never retried silently here: the workflow decides (retriable ones back off; others make the
 * case an exception a person sees and retries).
 */
import type pg from 'pg';
import type {
  AuthorizationDecision,
  AuthorizationRequest,
  Outcome,
} from '../../src/canonical/types.generated.ts';
import type { Clock } from '../../src/clock.ts';
import { isGatewayError } from '../../src/errors/index.ts';
import type { Logger } from '../../src/log/logger.ts';
import { saveEvidence } from '../../src/store/portal-evidence.ts';
import { ownedError } from '../../src/vault/credentials.ts';
import type { PhiCipher } from '../../src/vault/phi.ts';
import { type SecretReader, vaultRefName } from '../../src/vault/port.ts';
import type {
  PayerCallContext,
  PayerConnector,
  PayerTarget,
  SubmissionOutcome,
} from '../../src/workflow/ports/payer-connector.ts';
import { PayerRulesError } from '../../src/workflow/rules/errors.ts';
import type { PayerFile, PortalChannel } from '../../src/workflow/rules/types.generated.ts';
import type { SubmissionRecord, X12Store } from '../x12/store.ts';
import type { BrowserPool } from './browser.ts';
import { type DecisionFacts, portalDecision } from './decision.ts';
import {
  type Extracted,
  type FlowName,
  PortalSignError,
  runFlow,
  type Session,
  watchDocuments,
} from './engine.ts';
import { PortalError } from './errors.ts';
import { type Attachment, portalFields, requestAttachment } from './fields.ts';
import { createFollowUps } from './follow-ups.ts';
import type { PortalRecipe, RecipeBook } from './recipes.ts';

export interface PortalConnectorOptions {
  /** The submissions log (payer_submissions, channel `portal`): the same store the X12 connector records in. */
  readonly store: X12Store;
  /** For evidence screenshots (portal_evidence). */
  readonly pool: pg.Pool;
  readonly phi: Pick<PhiCipher, 'seal'>;
  readonly secrets: SecretReader;
  readonly recipes: RecipeBook;
  readonly browsers: BrowserPool;
  readonly clock: Clock;
  readonly logger?: Logger;
  /** How long a portal that was down counts as unavailable for channel choice (default 60 s). */
  readonly downCooldownMs?: number;
}

export interface PortalConnector extends PayerConnector {
  /** Why the portal channel cannot take a case for this payer now (no recipe, browser missing, portal down). */
  unavailable(
    payer: PayerTarget,
  ): { reason: 'not_configured' | 'browser_missing' | 'portal_down'; detail?: string } | undefined;
}

const defaults = { statusCheckMinutes: 60, maxSessions: 2 };

export function isPortalChannel(settings: unknown): settings is PortalChannel {
  const s = settings as Partial<PortalChannel> | undefined;
  return s?.type === 'portal' && typeof s.url === 'string' && typeof s.credentialsRef === 'string';
}

/** The call target for a payer's portal channel. */
export function portalPayerTarget(payer: PayerFile): PayerTarget {
  const channel = payer.channels.find((c) => c.type === 'portal');
  if (!channel) throw new PayerRulesError('PAGW_PAYER_NO_CHANNEL', `Payer ${payer.id} has no portal channel`);
  return {
    id: payer.id,
    name: payer.name,
    settings: channel as unknown as Readonly<Record<string, unknown>>,
  };
}

export function createPortalConnector(options: PortalConnectorOptions): PortalConnector {
  const { store, clock } = options;
  const downUntil = new Map<string, number>();
  const cooldown = options.downCooldownMs ?? 60_000;

  function channelOf(ctx: PayerCallContext): { channel: PortalChannel; recipe: PortalRecipe } {
    if (!isPortalChannel(ctx.payer.settings))
      throw new PayerRulesError('PAGW_PAYER_NO_CHANNEL', `Payer ${ctx.payer.id} has no portal channel`);
    const channel = ctx.payer.settings;
    const id = channel.recipe ?? ctx.payer.id;
    const recipe = options.recipes.get(id);
    if (!recipe)
      throw new PortalError(
        'PAGW_PORTAL_RECIPE_INVALID',
        `Payer ${ctx.payer.id} names portal recipe ${id}, which does not exist`,
      );
    return { channel, recipe };
  }

  function decision(
    ctx: PayerCallContext,
    request: AuthorizationRequest,
    outcome: Outcome,
    facts: DecisionFacts,
  ): AuthorizationDecision {
    return portalDecision(ctx, request, outcome, facts, {
      documentTypes: channelOf(ctx).recipe.documentTypes,
      at: clock.now(),
    });
  }

  function checkAfterMs(channel: PortalChannel): number {
    return (channel.statusCheckMinutes ?? defaults.statusCheckMinutes) * 60_000;
  }

  /** One browser session: login, then `flow`; evidence kept with the case; failures typed. */
  async function session(
    ctx: PayerCallContext,
    request: AuthorizationRequest,
    flow: Exclude<FlowName, 'login'>,
    extra: {
      confirmationNumber?: string;
      beforeSubmit?: () => Promise<number>;
      submissionId?: number;
      documents?: readonly Attachment[];
    } = {},
  ): Promise<{ extracted: Extracted; submitted: boolean; pageText: string; alreadyHeld: boolean }> {
    const { channel, recipe } = channelOf(ctx);
    const owner = `payer ${ctx.payer.id} (portal)`;
    const credentials = vaultRefName(channel.credentialsRef);
    const totp = vaultRefName(channel.totpRef);
    const use = { tenant: ctx.tenant, reader: 'connector:portal', caseId: ctx.caseId };
    const state: Session = { extracted: {}, masks: [], submitted: false };
    let submissionId = extra.submissionId;
    let pageText = '';
    const log = { caseId: ctx.caseId, payerId: ctx.payer.id, recipe: recipe.id };
    try {
      await options.browsers.withPage(
        `${ctx.payer.id}|${channel.url}`,
        channel.maxSessions ?? defaults.maxSessions,
        async (page) => {
          watchDocuments(page, state);
          const run = {
            recipe,
            baseUrl: channel.url,
            values: {
              ...portalFields(request, ctx.traceNumber),
              ...(extra.confirmationNumber ? { confirmationNumber: extra.confirmationNumber } : {}),
            },
            attachment: requestAttachment(request, ctx.traceNumber),
            ...(extra.documents ? { documents: extra.documents } : {}),
            secret: (name: 'username' | 'password') =>
              options.secrets.read(`${credentials}/${name}`, use).catch((error) => {
                throw ownedError(error, owner, channel.credentialsRef);
              }),
            totp: () => {
              if (!totp || !channel.totpRef)
                throw new PortalError(
                  'PAGW_PORTAL_RECIPE_INVALID',
                  `${owner}: the recipe types a TOTP code but the channel has no totpRef`,
                );
              return options.secrets.totp(totp, use).catch((error) => {
                throw ownedError(error, owner, channel.totpRef!);
              });
            },
            ...(extra.beforeSubmit
              ? {
                  beforeSubmit: async () => {
                    submissionId = await extra.beforeSubmit!();
                  },
                }
              : {}),
            keep: (shot: { flow: FlowName; step?: number; name: string; masked: string[]; image: Buffer }) =>
              saveEvidence(options.pool, options.phi, {
                tenant: ctx.tenant,
                caseId: ctx.caseId,
                payerId: ctx.payer.id,
                ...(submissionId !== undefined ? { submissionId } : {}),
                recipe: recipe.id,
                flow: shot.flow,
                ...(shot.step !== undefined ? { step: shot.step } : {}),
                name: shot.name,
                contentType: 'image/png',
                masked: shot.masked,
                image: shot.image,
                at: clock.now(),
              }),
            ...(options.logger ? { logger: options.logger } : {}),
            log,
          };
          await runFlow(page, 'login', run, state);
          await runFlow(page, flow, run, state);
          pageText = (
            await page
              .locator('main')
              .innerText({ timeout: 2000 })
              .catch(() => '')
          ).slice(0, 20_000);
        },
      );
    } catch (error) {
      if (isGatewayError(error) && error.code === 'PAGW_PORTAL_DOWN')
        downUntil.set(ctx.payer.id, clock.now().getTime() + cooldown);
      options.logger?.warn(
        {
          ...log,
          flow,
          errorCode: isGatewayError(error) ? error.code : 'PAGW_INTERNAL',
          submitted: state.submitted,
        },
        'portal run failed',
      );
      throw error;
    }
    downUntil.delete(ctx.payer.id);
    return {
      extracted: state.extracted,
      submitted: state.submitted,
      pageText,
      alreadyHeld: state.alreadyHeld === true,
    };
  }

  /** Searches the portal for the case's trace number; the confirmation number when the payer holds it. */
  async function search(
    request: AuthorizationRequest,
    ctx: PayerCallContext,
  ): Promise<{ confirmation?: string; record: SubmissionRecord }> {
    const record = await store.recordAttempt({
      tenant: ctx.tenant,
      caseId: ctx.caseId,
      payerId: ctx.payer.id,
      channel: 'portal',
      purpose: 'reconcile',
      traceNumber: ctx.traceNumber,
      request: JSON.stringify({ search: ctx.traceNumber }),
      at: clock.now(),
    });
    try {
      const { extracted, pageText } = await session(ctx, request, 'search', { submissionId: record.id });
      const confirmation = extracted.confirmationNumber;
      await store.complete(record.id, {
        status: 'answered',
        response: pageText,
        outcome: {
          live: Boolean(confirmation),
          ...(confirmation ? { confirmationNumber: confirmation } : {}),
        },
        at: clock.now(),
      });
      return { ...(confirmation ? { confirmation } : {}), record };
    } catch (error) {
      await store.complete(record.id, { status: 'failed', errorCode: codeOf(error), at: clock.now() });
      throw error;
    }
  }

  function codeOf(error: unknown): string {
    return isGatewayError(error) ? error.code : 'PAGW_INTERNAL';
  }

  async function latestPortal(
    caseId: string,
    purpose: 'submit' | 'cancel',
  ): Promise<SubmissionRecord | undefined> {
    const all = await store.forCase(caseId);
    return all.filter((r) => r.channel === 'portal' && r.purpose === purpose).at(-1);
  }

  function statusOutcome(recipe: PortalRecipe, extracted: Extracted): Outcome {
    const word = extracted.status ?? '';
    const mapped = recipe.statusMap[word];
    if (!mapped)
      throw new PortalError(
        'PAGW_PORTAL_PAGE_CHANGED',
        `The status page shows a status the recipe does not know ("${word.slice(0, 40)}")`,
        {
          step: { recipe: recipe.id, flow: 'status', step: 0, description: 'statusMap' },
        },
      );
    return mapped;
  }

  return {
    channel: 'portal',

    unavailable(payer) {
      if (isPortalChannel(payer.settings)) {
        const id = payer.settings.recipe ?? payer.id;
        if (!options.recipes.get(id))
          return {
            reason: 'not_configured',
            detail: `payer ${payer.id} names portal recipe ${id}, which does not exist`,
          };
      }
      if (!options.browsers.installed()) return { reason: 'browser_missing' };
      const until = downUntil.get(payer.id);
      return until !== undefined && until > clock.now().getTime() ? { reason: 'portal_down' } : undefined;
    },

    canSendAttachments(payer) {
      if (!isPortalChannel(payer.settings)) return false;
      return Boolean(options.recipes.get(payer.settings.recipe ?? payer.id)?.flows.upload);
    },

    async checkEligibility() {
      throw new PortalError('PAGW_PORTAL_UNSUPPORTED', 'The portal channel answers no eligibility inquiries');
    },

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

    // A changed order, the documents a pended request waits for and a cancelled order, by the recipe's update, upload
    // and cancel flows (a recipe without the flow: PAGW_PORTAL_UNSUPPORTED, a person does it).
    ...createFollowUps({
      store,
      clock,
      channelOf,
      session,
      decision,
      checkAfterMs,
      latestPortal,
      search,
      codeOf,
    }),
  };
}
