/**
 * The Da Vinci PAS PayerConnector: `Claim/$submit`, `Claim/$inquire` follow-up and reconciliation, cancellation
 * and changed orders by a Claim update, documents the payer asked for by `$submit-attachment` (changes.ts), SMART
 * Backend Services auth, and subscriptions where the payer offers them.
 *
 * Safety rules, as in connectors/x12 (the same payer_submissions log, channel 'pas'):
 * 1. An earlier submit that was ANSWERED returns its stored outcome: nothing is sent again.
 * 2. An earlier submit whose fate is open (recorded and maybe sent, or sent and unanswered: timeout, dropped
 *    connection) is reconciled first with `$inquire` by the Claim identifier (the case trace). Found: its answer is
 *    returned. Not found (404): the attempt is marked not_received and a new one may go. Cannot ask: a retriable
 *    error, nothing sent.
 * 3. Every attempt is recorded (committed) before it is sent; the one-live-submission index refuses a second open
 *    submit for the case.
 * 4. Retries on retriable errors with backoff (429: the payer's Retry-After); an attempt that may have arrived is
 *    reconciled before the next one.
 */
import type { AuthorizationRequest } from '../../src/canonical/types.generated.ts';
import type { Clock } from '../../src/clock.ts';
import { isGatewayError } from '../../src/errors/index.ts';
import type { Logger } from '../../src/log/logger.ts';
import type { SecretReader } from '../../src/vault/port.ts';
import type {
  PayerCallContext,
  PayerConnector,
  PayerTarget,
  SubmissionOutcome,
} from '../../src/workflow/ports/payer-connector.ts';
import { PayerRulesError } from '../../src/workflow/rules/errors.ts';
import { type PayerDirectory, pasChannel } from '../../src/workflow/rules/payer-directory.ts';
import type { PasChannel, PayerFile } from '../../src/workflow/rules/types.generated.ts';
import { ClearinghouseError } from '../x12/errors.ts';
import type { SubmissionPurpose, SubmissionRecord, X12Store } from '../x12/store.ts';
import { createPasChanges } from './changes.ts';
import { PasError } from './errors.ts';
import { outcomeOfRefusal, outcomeOfResponse } from './read-response.ts';
import {
  buildPasCancelBundle,
  buildPasInquiryBundle,
  buildPasRequestBundle,
  type PasBuildContext,
} from './request-bundle.ts';
import { createSmartAuth, type SmartAuth, type SmartClient } from './smart-auth.ts';
import {
  newNotificationToken,
  type PayerSubscriptionStore,
  payerSubscriptionResource,
} from './subscriptions.ts';
import { createPasTransport, type PasHttpResponse, type PasTransport } from './transport.ts';

export interface PasConnectorOptions {
  /** The payer_submissions log (connectors/x12/store.ts: channel-agnostic). */
  readonly store: X12Store;
  readonly clock: Clock;
  readonly directory?: PayerDirectory;
  /** Reads `vault:` key references; `file:` references need none. */
  readonly secrets?: SecretReader;
  /** Subscriptions at payers; without it (or without notificationUrl) pended cases are only inquired on schedule. */
  readonly subscriptions?: PayerSubscriptionStore;
  /** The gateway's public URL for a payer's notifications (`<gateway>/pas/notifications/<payerId>`). */
  readonly notificationUrl?: (payerId: string) => string | undefined;
  readonly fetch?: typeof fetch;
  readonly auth?: SmartAuth;
  readonly transport?: PasTransport;
  readonly sleep?: (ms: number) => Promise<void>;
  readonly random?: () => number;
  readonly logger?: Logger;
}

const defaults = {
  timeoutMs: 30_000,
  maxAttempts: 3,
  initialBackoffMs: 500,
  maxBackoffMs: 10_000,
  inquiryIntervalMinutes: 240,
  maxRetryAfterMs: 60_000,
  scopes: 'system/Claim.c system/Claim.r system/ClaimResponse.r system/Subscription.c',
};

function isPasChannel(settings: unknown): settings is PasChannel {
  const s = settings as Partial<PasChannel> | undefined;
  return s?.type === 'pas' && typeof s.baseUrl === 'string';
}

/** The call target for a payer's PAS channel, as the workflow passes it in PayerCallContext.payer. */
export function pasPayerTarget(payer: PayerFile): PayerTarget {
  const channel = pasChannel(payer);
  if (!channel) throw new PayerRulesError('PAGW_PAYER_NO_CHANNEL', `Payer ${payer.id} has no pas channel`);
  return {
    id: payer.id,
    name: payer.name,
    settings: channel as unknown as Readonly<Record<string, unknown>>,
  };
}

export function createPasConnector(options: PasConnectorOptions): PayerConnector {
  const { store, clock } = options;
  const sleep = options.sleep ?? ((ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms)));
  const random = options.random ?? Math.random;
  const auth =
    options.auth ??
    createSmartAuth({
      clock,
      ...(options.secrets ? { secrets: options.secrets } : {}),
      ...(options.fetch ? { fetch: options.fetch } : {}),
    });
  const transport =
    options.transport ?? createPasTransport({ auth, ...(options.fetch ? { fetch: options.fetch } : {}) });

  function channelOf(ctx: PayerCallContext): PasChannel {
    if (isPasChannel(ctx.payer.settings)) return ctx.payer.settings;
    const fromDirectory = options.directory?.byId(ctx.payer.id);
    const channel = fromDirectory ? pasChannel(fromDirectory) : undefined;
    if (!channel)
      throw new PayerRulesError('PAGW_PAYER_NO_CHANNEL', `Payer ${ctx.payer.id} has no pas channel`);
    return channel;
  }

  function clientOf(ctx: PayerCallContext, channel: PasChannel): SmartClient {
    if (!channel.tokenUrl || !channel.clientId) {
      throw new PasError(
        'PAGW_PAS_AUTH_FAILED',
        `Payer ${ctx.payer.id}: the pas channel needs tokenUrl and clientId`,
      );
    }
    return {
      tokenUrl: channel.tokenUrl,
      clientId: channel.clientId,
      scopes: channel.scopes ?? defaults.scopes,
      keyRef: channel.privateKeyRef ?? channel.credentialsRef,
      algorithm: channel.signingAlgorithm ?? 'RS384',
      ...(channel.keyId ? { keyId: channel.keyId } : {}),
      tenant: ctx.tenant,
    };
  }

  const buildContext = (ctx: PayerCallContext): PasBuildContext => ({
    tenant: ctx.tenant,
    caseId: ctx.caseId,
    at: clock.now(),
    payer: {
      id: ctx.payer.id,
      ...(ctx.payer.name ? { name: ctx.payer.name } : {}),
      ...(ctx.payer.channelPayerId ? { channelPayerId: ctx.payer.channelPayerId } : {}),
    },
  });

  // A path is relative to the PAS base; a full URL (a payer's own $submit-attachment endpoint) is used as it is.
  const url = (channel: PasChannel, path: string) =>
    /^https?:\/\//i.test(path) ? path : `${channel.baseUrl.replace(/\/+$/, '')}/${path}`;
  const checkAfterMs = (channel: PasChannel) =>
    (channel.followUp?.inquiryIntervalMinutes ?? defaults.inquiryIntervalMinutes) * 60_000;

  function backoffMs(channel: PasChannel, attempt: number, error: PasError): number {
    if (error.retryAfterMs !== undefined) return Math.min(error.retryAfterMs, defaults.maxRetryAfterMs);
    const initial = channel.retry?.initialBackoffMs ?? defaults.initialBackoffMs;
    const max = channel.retry?.maxBackoffMs ?? defaults.maxBackoffMs;
    const base = Math.min(max, initial * 2 ** Math.max(0, attempt - 1));
    return Math.round(base * (0.5 + random() / 2));
  }

  async function withRetries<T>(
    channel: PasChannel,
    operation: () => Promise<T>,
    beforeRetry?: (error: PasError) => Promise<T | undefined>,
  ): Promise<T> {
    const maxAttempts = channel.retry?.maxAttempts ?? defaults.maxAttempts;
    for (let attempt = 1; ; attempt++) {
      try {
        return await operation();
      } catch (error) {
        if (!(error instanceof PasError) || !error.retriable || attempt >= maxAttempts) throw error;
        await sleep(backoffMs(channel, attempt, error));
        if (beforeRetry) {
          const settled = await beforeRetry(error);
          if (settled !== undefined) return settled;
        }
      }
    }
  }

  /** One recorded exchange: the attempt is committed before the request leaves; failures complete it. */
  async function exchange(
    purpose: SubmissionPurpose,
    ctx: PayerCallContext,
    channel: PasChannel,
    path: string,
    bundle: unknown,
  ): Promise<{ record: SubmissionRecord; response: PasHttpResponse }> {
    const client = clientOf(ctx, channel);
    let record: SubmissionRecord;
    try {
      record = await store.recordAttempt({
        tenant: ctx.tenant,
        caseId: ctx.caseId,
        payerId: ctx.payer.id,
        channel: 'pas',
        purpose,
        traceNumber: ctx.traceNumber,
        request: JSON.stringify(bundle),
        at: clock.now(),
      });
    } catch (error) {
      if (error instanceof ClearinghouseError && error.code === 'PAGW_X12_LIVE_SUBMISSION_EXISTS') {
        throw new PasError(
          'PAGW_PAS_UNREACHABLE',
          'Another submission of this case is in flight; reconcile first',
          {
            cause: error,
            outcomeUnknown: true,
          },
        );
      }
      throw error;
    }
    options.logger?.info(
      {
        caseId: ctx.caseId,
        payerId: ctx.payer.id,
        purpose,
        submissionId: record.id,
        attempt: record.attempt,
      },
      'pas exchange',
    );
    try {
      const response = await transport.post(
        client,
        url(channel, path),
        bundle,
        channel.timeoutMs ?? defaults.timeoutMs,
      );
      return { record, response };
    } catch (error) {
      const unknown = error instanceof PasError && error.outcomeUnknown;
      await store.complete(record, {
        status: unknown ? 'unknown' : 'failed',
        errorCode: isGatewayError(error) ? error.code : 'PAGW_INTERNAL',
        at: clock.now(),
      });
      throw error;
    }
  }

  /** The payer's answer as an outcome; the record is completed with it (or as unknown when unreadable). */
  async function settle(
    record: SubmissionRecord,
    response: PasHttpResponse,
    ctx: PayerCallContext,
    channel: PasChannel,
  ): Promise<SubmissionOutcome> {
    let outcome: SubmissionOutcome;
    try {
      outcome =
        response.status >= 400
          ? outcomeOfRefusal(response.body, response.status)
          : outcomeOfResponse(response.body, {
              ctx,
              claimIdentifier: ctx.traceNumber,
              decidedAt: clock.now().toISOString(),
              rawMessageRef: `payer_submissions:${record.id}`,
              checkAfterMs: checkAfterMs(channel),
            });
    } catch (error) {
      await store.complete(record, {
        status: 'unknown',
        response: response.text,
        errorCode: isGatewayError(error) ? error.code : 'PAGW_INTERNAL',
        at: clock.now(),
      });
      throw error;
    }
    // With the step's own transaction when the step holds writes (src/store/held-writes.ts).
    await store.complete(
      record,
      {
        status: outcome.kind === 'rejected' ? 'rejected' : 'answered',
        response: response.text,
        outcome,
        at: clock.now(),
      },
      { withStep: true },
    );
    return outcome;
  }

  /** `$inquire` by the case's Claim identifier: live with its outcome, or not known to the payer (404). */
  async function askPayer(
    request: AuthorizationRequest,
    ctx: PayerCallContext,
    channel: PasChannel,
    purpose: 'inquire' | 'reconcile',
  ): Promise<{ live: boolean; outcome?: SubmissionOutcome }> {
    const bundle = buildPasInquiryBundle(request, buildContext(ctx));
    const { record, response } = await exchange(purpose, ctx, channel, 'Claim/$inquire', bundle);
    if (response.status === 404) {
      await store.complete(record, {
        status: 'answered',
        response: response.text,
        outcome: { live: false },
        at: clock.now(),
      });
      return { live: false };
    }
    const outcome = await settle(record, response, ctx, channel);
    return { live: true, outcome };
  }

  async function resolveOpenAttempt(
    request: AuthorizationRequest,
    ctx: PayerCallContext,
    channel: PasChannel,
  ): Promise<SubmissionOutcome | undefined> {
    const prior = await store.latest(ctx.caseId, 'submit');
    if (!prior) return undefined;
    if (prior.status === 'answered' && prior.outcome) return prior.outcome as SubmissionOutcome;
    if (prior.status !== 'sending' && prior.status !== 'unknown') return undefined;
    const found = await withRetries(channel, () => askPayer(request, ctx, channel, 'reconcile'));
    if (found.live && found.outcome) {
      await store.complete(prior, { status: 'answered', outcome: found.outcome, at: clock.now() });
      return found.outcome;
    }
    await store.complete(prior, { status: 'not_received', at: clock.now() });
    return undefined;
  }

  /** After a pended answer: subscribe at the payer (once per tenant, payer, requesting organization). */
  async function ensureSubscription(
    request: AuthorizationRequest,
    ctx: PayerCallContext,
    channel: PasChannel,
  ) {
    const endpoint = options.notificationUrl?.(ctx.payer.id);
    const org = request.requestingProvider?.npi;
    if (!channel.subscriptions || !options.subscriptions || !endpoint || !org) return;
    try {
      if (await options.subscriptions.find(ctx.tenant, ctx.payer.id, org)) return;
      const token = newNotificationToken();
      const response = await transport.post(
        clientOf(ctx, channel),
        url(channel, 'Subscription'),
        payerSubscriptionResource(endpoint, token, org),
        channel.timeoutMs ?? defaults.timeoutMs,
      );
      const id = (response.body as { id?: string } | undefined)?.id;
      if (response.status >= 300 || !id) throw new Error(`HTTP ${response.status}`);
      await options.subscriptions.save({
        tenant: ctx.tenant,
        payerId: ctx.payer.id,
        orgIdentifier: org,
        subscriptionId: id,
        token,
        endpoint,
        at: clock.now(),
      });
    } catch (error) {
      // Best effort: without the subscription the case is still inquired on schedule.
      options.logger?.warn(
        { payerId: ctx.payer.id, code: isGatewayError(error) ? error.code : 'error' },
        'pas subscription failed',
      );
    }
  }

  async function afterAnswer(
    outcome: SubmissionOutcome,
    request: AuthorizationRequest,
    ctx: PayerCallContext,
    channel: PasChannel,
  ) {
    if (outcome.kind === 'pended') await ensureSubscription(request, ctx, channel);
    return outcome;
  }

  // Claim updates and additional information (changes.ts): the same recorded exchanges, retries and answers.
  const changes = createPasChanges({
    store,
    clock,
    channelOf,
    buildContext,
    withRetries: (channel, operation) => withRetries(channel, operation),
    exchange,
    settle,
    afterAnswer,
  });

  return {
    channel: 'pas',
    update: changes.update,
    sendAttachments: changes.sendAttachments,

    async checkEligibility(_request, _ctx) {
      // PAS has no eligibility inquiry: coverage is part of the request, and a payer refuses an unknown member.
      return {
        status: 'active',
        messages: ['eligibility not checked: Da Vinci PAS has no eligibility inquiry'],
      };
    },

    async submit(request, ctx) {
      const channel = channelOf(ctx);
      const known = await resolveOpenAttempt(request, ctx, channel);
      if (known) return known;
      const outcome = await withRetries(
        channel,
        async () => {
          const bundle = buildPasRequestBundle(request, buildContext(ctx));
          const { record, response } = await exchange('submit', ctx, channel, 'Claim/$submit', bundle);
          return settle(record, response, ctx, channel);
        },
        // The last attempt may have reached the payer: ask before sending another.
        async (error) => (error.outcomeUnknown ? resolveOpenAttempt(request, ctx, channel) : undefined),
      );
      return afterAnswer(outcome, request, ctx, channel);
    },

    async inquire(request, ctx) {
      const channel = channelOf(ctx);
      const answer = await withRetries(channel, () => askPayer(request, ctx, channel, 'inquire'));
      if (!answer.live || !answer.outcome) {
        return {
          kind: 'rejected',
          reasons: [
            { system: 'https://codesystem.x12.org/005010/901', code: 'AA', text: 'Authorization not found' },
          ],
          resubmitAllowed: true,
          messages: ['The payer holds no request with this Claim identifier'],
        };
      }
      // Keep the submit's stored answer current, so a later submit() returns the latest word.
      const prior = await store.latest(ctx.caseId, 'submit');
      if (prior?.status === 'answered' && answer.outcome.kind !== 'rejected') {
        await store.complete(prior, { status: 'answered', outcome: answer.outcome, at: clock.now() });
      }
      return afterAnswer(answer.outcome, request, ctx, channel);
    },

    async reconcile(request, ctx) {
      const channel = channelOf(ctx);
      const answer = await withRetries(channel, () => askPayer(request, ctx, channel, 'reconcile'));
      return answer.live
        ? { live: true, ...(answer.outcome ? { outcome: answer.outcome } : {}) }
        : { live: false };
    },

    async cancel(request, ctx) {
      const channel = channelOf(ctx);
      return withRetries(channel, async () => {
        const bundle = buildPasCancelBundle(request, buildContext(ctx));
        const { record, response } = await exchange('cancel', ctx, channel, 'Claim/$submit', bundle);
        return settle(record, response, ctx, channel);
      });
    },
  };
}
