/**
 * The portal connector's own runs and records, shared by its submission (submission.ts) and its follow-ups
 * (follow-ups.ts): the payer's channel and recipe, one browser session (login, then a flow; evidence kept with the
 * case; failures typed; a portal that is down remembered for channel choice), the search for the case's trace
 * number that reconciles an open submission, the latest portal record of a case, the decision read off a page and
 * the outcome a status word maps to. Split from connector.ts, which assembles the connector from them.
 */
import type {
  AuthorizationDecision,
  AuthorizationRequest,
  Outcome,
} from '../../src/canonical/types.generated.ts';
import { isGatewayError } from '../../src/errors/index.ts';
import { saveEvidence } from '../../src/store/portal-evidence.ts';
import { ownedError } from '../../src/vault/credentials.ts';
import { vaultRefName } from '../../src/vault/port.ts';
import type { PayerCallContext } from '../../src/workflow/ports/payer-connector.ts';
import { PayerRulesError } from '../../src/workflow/rules/errors.ts';
import type { PortalChannel } from '../../src/workflow/rules/types.generated.ts';
import type { SubmissionRecord } from '../x12/store.ts';
import { defaults, isPortalChannel, type PortalConnectorOptions } from './connector-options.ts';
import { type DecisionFacts, portalDecision } from './decision.ts';
import { type Extracted, type FlowName, runFlow, type Session, watchDocuments } from './engine.ts';
import { PortalError } from './errors.ts';
import { type Attachment, portalFields, requestAttachment } from './fields.ts';
import type { PortalRecipe } from './recipes.ts';

/** What the connector's operations share; satisfies follow-ups.ts's PortalRuns. */
export type PortalConnectorRuns = ReturnType<typeof createPortalRuns>;

/**
 * `downUntil` (payer id → when the portal counts as up again) is the connector's: its `unavailable` reads what a
 * failed session wrote here.
 */
export function createPortalRuns(options: PortalConnectorOptions, downUntil: Map<string, number>) {
  const { store, clock } = options;
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
  };
}
