/**
 * The X12 connector's way to the clearinghouse, shared by all its operations (eligibility.ts, submission.ts,
 * inquiry.ts, attachments.ts, appeal.ts): the payer's channel, its per-payer circuit breaker and CORE transport
 * (with the tenant's clearinghouse login from the vault), fresh control numbers, one recorded exchange (recorded and
 * committed before it is sent, completed with what happened), the completion of that record from the answer, and
 * retries with backoff. The safety rules 3 and 4 of connector.ts live here (the reconciling between a submit's
 * attempts is submission.ts's, through withRetries' beforeRetry).
 */
import type { AuthorizationRequest } from '../../src/canonical/types.generated.ts';
import type { Clock } from '../../src/clock.ts';
import { isGatewayError } from '../../src/errors/index.ts';
import { readCredentials } from '../../src/vault/credentials.ts';
import { VaultError } from '../../src/vault/errors.ts';
import type { PayerCallContext, SubmissionOutcome } from '../../src/workflow/ports/payer-connector.ts';
import { PayerRulesError } from '../../src/workflow/rules/errors.ts';
import { x12Channel as channelOfPayer } from '../../src/workflow/rules/payer-directory.ts';
import type { X12Channel } from '../../src/workflow/rules/types.generated.ts';
import { outcomeOf, type Parsed, parseAnswer, refuseRejectedAcks } from './answer.ts';
import type { BuildOptions } from './build-parts.ts';
import { defaults, type X12ConnectorOptions } from './connector-options.ts';
import { ClearinghouseError, PayerRejectedError } from './errors.ts';
import type { SubmissionPurpose, SubmissionRecord, X12Store } from './store.ts';
import { CircuitBreaker } from './transport/circuit-breaker.ts';
import type { ProcessingMode } from './transport/core-envelope.ts';
import {
  type ClearinghouseTransport,
  createCoreHttpTransport,
  type ExchangeResponse,
} from './transport/core-http.ts';

/** What the connector's operations use of the clearinghouse: one instance per connector (its breakers, transports). */
export interface X12Exchanges {
  readonly store: X12Store;
  readonly clock: Clock;
  /** The payer's X12 channel: the call context's settings, else the directory's payer file. */
  channelOf(ctx: PayerCallContext): X12Channel;
  /** The circuit-breaker state for a payer (closed, open, half-open). */
  breakerState(payerId: string): 'closed' | 'open' | 'half-open';
  exchange(
    purpose: SubmissionPurpose,
    ctx: PayerCallContext,
    channel: X12Channel,
    build: (opts: BuildOptions) => string,
    payloadType: string,
    processingMode?: ProcessingMode,
  ): Promise<{ record: SubmissionRecord; response: ExchangeResponse }>;
  readAnswer(record: { id: number; tenant: string }, response: ExchangeResponse): Promise<Parsed>;
  settle(
    record: SubmissionRecord,
    response: ExchangeResponse,
    request: AuthorizationRequest,
    ctx: PayerCallContext,
    channel: X12Channel,
  ): Promise<SubmissionOutcome>;
  withRetries<T>(
    channel: X12Channel,
    operation: (attempt: number) => Promise<T>,
    beforeRetry?: (error: ClearinghouseError) => Promise<T | undefined>,
  ): Promise<T>;
}

function isX12Channel(settings: unknown): settings is X12Channel {
  const s = settings as Partial<X12Channel> | undefined;
  return (
    s?.type === 'x12' &&
    typeof s.clearinghouse?.endpoint === 'string' &&
    typeof s.interchange?.receiverId === 'string'
  );
}

export function createX12Exchanges(options: X12ConnectorOptions): X12Exchanges {
  const { store, clock } = options;
  const sleep = options.sleep ?? ((ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms)));
  const random = options.random ?? Math.random;
  const breakers = new Map<string, CircuitBreaker>();
  const transports = new Map<string, ClearinghouseTransport>();

  function channelOf(ctx: PayerCallContext): X12Channel {
    if (isX12Channel(ctx.payer.settings)) return ctx.payer.settings;
    const fromDirectory = options.directory?.byId(ctx.payer.id);
    const channel = fromDirectory ? channelOfPayer(fromDirectory) : undefined;
    if (!channel)
      throw new PayerRulesError('PAGW_PAYER_NO_CHANNEL', `Payer ${ctx.payer.id} has no x12 channel`);
    return channel;
  }

  function breakerFor(ctx: PayerCallContext, channel: X12Channel): CircuitBreaker {
    let breaker = breakers.get(ctx.payer.id);
    if (!breaker) {
      breaker = new CircuitBreaker({
        failureThreshold: channel.circuitBreaker?.failureThreshold ?? defaults.failureThreshold,
        cooldownMs: channel.circuitBreaker?.cooldownMs ?? defaults.cooldownMs,
        clock,
      });
      breakers.set(ctx.payer.id, breaker);
    }
    return breaker;
  }

  async function transportOf(ctx: PayerCallContext, channel: X12Channel): Promise<ClearinghouseTransport> {
    const ref = channel.clearinghouse.credentialsRef;
    const build = (credentials?: { username: string; password: string }) =>
      options.transportFor?.(channel, credentials) ??
      createCoreHttpTransport({
        endpoint: channel.clearinghouse.endpoint,
        senderId: options.sender.coreSenderId ?? options.sender.id,
        receiverId: channel.clearinghouse.receiverId ?? channel.interchange.receiverId,
        ...(credentials ? { credentials } : {}),
        clock,
      });
    if (!ref) {
      // No credentialsRef: a clearinghouse that takes unauthenticated calls (the simulated one), by configuration.
      const key = `${channel.clearinghouse.name}|${channel.clearinghouse.endpoint}`;
      const cached = transports.get(key) ?? build();
      transports.set(key, cached);
      return cached;
    }
    const owner = `payer ${ctx.payer.id} (x12 clearinghouse ${channel.clearinghouse.name})`;
    if (!options.secrets) {
      throw new VaultError(
        'PAGW_VAULT_SECRET_MISSING',
        `${owner} refers to ${ref}, but the connector has no vault`,
      );
    }
    // Read for each exchange, for its case (audited); the transport holding them lives for this call only.
    const credentials = await readCredentials(
      options.secrets,
      ref,
      { tenant: ctx.tenant, reader: 'connector:x12', caseId: ctx.caseId },
      owner,
    );
    return build(credentials);
  }

  function backoffMs(channel: X12Channel, attempt: number): number {
    const initial = channel.retry?.initialBackoffMs ?? defaults.initialBackoffMs;
    const max = channel.retry?.maxBackoffMs ?? defaults.maxBackoffMs;
    const base = Math.min(max, initial * 2 ** Math.max(0, attempt - 1));
    return Math.round(base * (0.5 + random() / 2));
  }

  async function buildOptions(
    ctx: PayerCallContext,
    channel: X12Channel,
  ): Promise<BuildOptions & { controls: { interchange: number; group: number; submissionId: number } }> {
    const at = clock.now();
    const receiverId = channel.interchange.receiverId;
    const controls = await store.allocateControlNumbers(options.sender.id, receiverId, at);
    return {
      controls,
      envelope: {
        sender: {
          qualifier: options.sender.qualifier,
          id: options.sender.id,
          ...(options.sender.applicationId ? { applicationId: options.sender.applicationId } : {}),
        },
        receiver: { qualifier: channel.interchange.receiverQualifier ?? 'ZZ', id: receiverId },
        usage: channel.interchange.usage ?? 'T',
        interchangeControlNumber: controls.interchange,
        groupControlNumber: controls.group,
        at,
      },
      payer: {
        name: ctx.payer.name ?? options.directory?.byId(ctx.payer.id)?.name ?? ctx.payer.id,
        id:
          ctx.payer.channelPayerId ??
          options.directory?.byId(ctx.payer.id)?.identifiers.x12PayerId ??
          ctx.payer.id,
      },
      traceNumber: ctx.traceNumber,
      traceOriginator: options.sender.traceOriginator,
      submitterReference: ctx.caseId.replace(/-/g, '').slice(0, 30),
    };
  }

  /**
   * The answer parsed and checked for 999/TA1 rejections; when it is unreadable or a rejection, the attempt is
   * closed in the submissions log (rejected, or unknown) before the error is thrown.
   */
  async function readAnswer(
    record: { id: number; tenant: string },
    response: ExchangeResponse,
  ): Promise<Parsed> {
    try {
      const parsed = parseAnswer(response);
      refuseRejectedAcks(parsed);
      return parsed;
    } catch (error) {
      await store.complete(record, {
        status: error instanceof PayerRejectedError ? 'rejected' : 'unknown',
        response: response.envelope.Payload ?? '',
        errorCode: isGatewayError(error) ? error.code : 'PAGW_INTERNAL',
        at: clock.now(),
      });
      throw error;
    }
  }

  /**
   * One recorded exchange: breaker check, attempt recorded (committed), sent, completed with what happened.
   * Transport failures complete the record as `unknown` (maybe received) or `failed` (never sent) and rethrow.
   */
  async function exchange(
    purpose: SubmissionPurpose,
    ctx: PayerCallContext,
    channel: X12Channel,
    build: (opts: BuildOptions) => string,
    payloadType: string,
    processingMode: ProcessingMode = 'RealTime',
  ): Promise<{ record: SubmissionRecord; response: ExchangeResponse }> {
    const breaker = breakerFor(ctx, channel);
    const permit = breaker.acquire();
    if (!permit.allowed) {
      throw new ClearinghouseError(
        'PAGW_X12_CIRCUIT_OPEN',
        `Calls to payer ${ctx.payer.id} are paused until ${permit.retryAt.toISOString()}`,
      );
    }
    let record: SubmissionRecord | undefined;
    try {
      // Credentials first: a missing secret fails before anything is recorded as sent.
      const transport = await transportOf(ctx, channel);
      const built = await buildOptions(ctx, channel);
      const text = build(built);
      record = await store.recordAttempt({
        tenant: ctx.tenant,
        caseId: ctx.caseId,
        payerId: ctx.payer.id,
        channel: 'x12',
        purpose,
        traceNumber: ctx.traceNumber,
        interchangeControlNumber: String(built.controls.interchange).padStart(9, '0'),
        groupControlNumber: String(built.controls.group),
        request: text,
        at: clock.now(),
        id: built.controls.submissionId,
      });
      options.logger?.info(
        {
          caseId: ctx.caseId,
          payerId: ctx.payer.id,
          purpose,
          submissionId: record.id,
          attempt: record.attempt,
        },
        'x12 exchange',
      );
      const response = await transport.exchange({
        payloadType,
        payload: text,
        processingMode,
        timeoutMs: channel.timeoutMs ?? defaults.timeoutMs,
      });
      breaker.success();
      return { record, response };
    } catch (error) {
      const transportFailure =
        error instanceof ClearinghouseError &&
        error.code !== 'PAGW_X12_LIVE_SUBMISSION_EXISTS' &&
        record !== undefined;
      if (!transportFailure) {
        breaker.release();
        if (record) {
          const code = isGatewayError(error) ? error.code : 'PAGW_INTERNAL';
          await store.complete(record, { status: 'failed', errorCode: code, at: clock.now() });
        }
      } else {
        // A retriable failure counts against the payer; a CORE envelope error means the clearinghouse is up.
        if (error.retriable) breaker.failure();
        else breaker.success();
        await store.complete(record!, {
          status: error.outcomeUnknown ? 'unknown' : 'failed',
          errorCode: error.code,
          at: clock.now(),
        });
      }
      throw error;
    }
  }

  /** Completes an exchange's record from its parsed answer and returns the outcome (or rethrows an ack rejection). */
  async function settle(
    record: SubmissionRecord,
    response: ExchangeResponse,
    request: AuthorizationRequest,
    ctx: PayerCallContext,
    channel: X12Channel,
  ): Promise<SubmissionOutcome> {
    let outcome: SubmissionOutcome;
    try {
      outcome = outcomeOf(parseAnswer(response), request, ctx, channel, record, clock);
    } catch (error) {
      const rejected = error instanceof PayerRejectedError;
      await store.complete(record, {
        status: rejected ? 'rejected' : 'unknown',
        response: response.envelope.Payload ?? '',
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
        response: response.envelope.Payload ?? '',
        outcome,
        at: clock.now(),
      },
      { withStep: true },
    );
    return outcome;
  }

  /** Retries an operation on retriable clearinghouse errors, with backoff, up to the payer's attempts. */
  async function withRetries<T>(
    channel: X12Channel,
    operation: (attempt: number) => Promise<T>,
    beforeRetry?: (error: ClearinghouseError) => Promise<T | undefined>,
  ): Promise<T> {
    const maxAttempts = channel.retry?.maxAttempts ?? defaults.maxAttempts;
    for (let attempt = 1; ; attempt++) {
      try {
        return await operation(attempt);
      } catch (error) {
        const retriable =
          error instanceof ClearinghouseError && error.retriable && error.code !== 'PAGW_X12_CIRCUIT_OPEN';
        if (!retriable || attempt >= maxAttempts) throw error;
        await sleep(backoffMs(channel, attempt));
        if (beforeRetry) {
          const settled = await beforeRetry(error);
          if (settled !== undefined) return settled;
        }
      }
    }
  }

  return {
    store,
    clock,
    channelOf,
    breakerState(payerId) {
      return breakers.get(payerId)?.state ?? 'closed';
    },
    exchange,
    readAnswer,
    settle,
    withRetries,
  };
}
