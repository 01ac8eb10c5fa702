/**
 * The X12 PayerConnector: 270/271 eligibility, 278 submission, 278 inquiry (005010X215) follow-up and
 * reconciliation, 278 revision (an order changed after submission: UM02 S) and 278 cancellation, through a
 * clearinghouse speaking CAQH CORE HTTP MIME.
 *
 * Safety rules, in the order they apply on submit():
 * 1. An earlier submit that was ANSWERED returns its stored outcome: nothing is sent again.
 * 2. An earlier submit whose fate is open (recorded but maybe sent, or sent and unanswered) is reconciled
 *    first — a 278 inquiry with the same TRN trace: "do you already have trace X?". Found: its answer is
 *    returned. Not found: the attempt is marked not_received and a new one may go. Cannot ask: a retriable
 *    error is thrown and nothing is sent.
 * 3. Every attempt is recorded (committed) in payer_submissions before it is sent, with fresh, persisted
 *    control numbers; the one-live-submission index refuses a second open attempt for the case.
 * 4. Retries follow the payer's policy (attempts, exponential backoff with jitter) behind a per-payer circuit
 *    breaker; an attempt that may have reached the clearinghouse is reconciled before the next one.
 */
import type {
  AuthorizationDecision,
  AuthorizationRequest,
  Reason,
} from '../../src/canonical/types.generated.ts';
import type { Clock } from '../../src/clock.ts';
import { isGatewayError } from '../../src/errors/index.ts';
import type { Logger } from '../../src/log/logger.ts';
import { readCredentials } from '../../src/vault/credentials.ts';
import { VaultError } from '../../src/vault/errors.ts';
import type { SecretReader } from '../../src/vault/port.ts';
import type {
  EligibilityResult,
  PayerAttachment,
  PayerCallContext,
  PayerConnector,
  PayerTarget,
  SubmissionOutcome,
} from '../../src/workflow/ports/payer-connector.ts';
import { PayerRulesError } from '../../src/workflow/rules/errors.ts';
import type { PayerDirectory } from '../../src/workflow/rules/payer-directory.ts';
import { x12Channel as channelOfPayer } from '../../src/workflow/rules/payer-directory.ts';
import type { PayerFile, X12Channel } from '../../src/workflow/rules/types.generated.ts';
import { build275 } from './005010X210/build-275.ts';
import { buildInquiry } from './005010X215/build-inquiry.ts';
import { build278 } from './005010X217/build-278.ts';
import { type ServicesReview, toAuthorizationDecision } from './005010X217/read-278.ts';
import type { FunctionalAcknowledgment } from './005010X231A1/read-999.ts';
import { build270 } from './005010X279A1/build-270.ts';
import type { EligibilityResponse } from './005010X279A1/read-271.ts';
import type { BuildOptions } from './build-parts.ts';
import { benefitCodes, x12CodeSystem } from './code-lists.ts';
import { ClearinghouseError, PayerRejectedError, X12BuildError, X12ParseError } from './errors.ts';
import { parseX12 } from './parse.ts';
import type { InterchangeAcknowledgments } from './read-ta1.ts';
import type { SubmissionPurpose, SubmissionRecord, X12Store } from './store.ts';
import { CircuitBreaker } from './transport/circuit-breaker.ts';
import { PayloadType, type ProcessingMode } from './transport/core-envelope.ts';
import {
  type ClearinghouseTransport,
  createCoreHttpTransport,
  type ExchangeResponse,
} from './transport/core-http.ts';

export interface X12Sender {
  /** ISA05/ISA06. */
  readonly qualifier: string;
  readonly id: string;
  /** GS02; defaults to the ISA id. */
  readonly applicationId?: string;
  /** CORE SenderID; defaults to the ISA id. */
  readonly coreSenderId?: string;
  /** TRN03, exactly 10 characters (1 + EIN, or 9 + an id). */
  readonly traceOriginator: string;
}

export interface X12ConnectorOptions {
  readonly store: X12Store;
  readonly clock: Clock;
  readonly sender: X12Sender;
  /** Finds the payer's X12 channel when the call context's settings are not one. */
  readonly directory?: PayerDirectory;
  /**
   * The vault: a channel whose clearinghouse has a `credentialsRef` logs in with `<ref>/username` and
   * `<ref>/password` of the case's tenant, read (audited) for each exchange and never logged. A reference that
   * cannot be resolved fails the call (PAGW_VAULT_SECRET_MISSING naming payer and reference): never anonymous.
   */
  readonly secrets?: SecretReader;
  /** Replaces the CORE HTTP transport (another clearinghouse protocol). */
  readonly transportFor?: (
    channel: X12Channel,
    credentials?: { username: string; password: string },
  ) => ClearinghouseTransport;
  readonly sleep?: (ms: number) => Promise<void>;
  readonly random?: () => number;
  readonly logger?: Logger;
}

export interface X12Connector extends PayerConnector {
  /** The circuit-breaker state for a payer (closed, open, half-open), for /metrics and tests. */
  breakerState(payerId: string): 'closed' | 'open' | 'half-open';
}

/** The call target for a payer's X12 channel, as the workflow passes it in PayerCallContext.payer. */
export function x12PayerTarget(payer: PayerFile): PayerTarget {
  const channel = channelOfPayer(payer);
  if (!channel) {
    throw new PayerRulesError('PAGW_PAYER_NO_CHANNEL', `Payer ${payer.id} has no x12 channel`);
  }
  return {
    id: payer.id,
    name: payer.name,
    ...(payer.identifiers.x12PayerId ? { channelPayerId: payer.identifiers.x12PayerId } : {}),
    settings: channel as unknown as Readonly<Record<string, unknown>>,
  };
}

interface Parsed {
  readonly envelope: ExchangeResponse['envelope'];
  readonly review?: ServicesReview;
  readonly eligibility?: EligibilityResponse;
  readonly ack999?: FunctionalAcknowledgment;
  readonly ta1?: InterchangeAcknowledgments;
}

const defaults = {
  timeoutMs: 30_000,
  maxAttempts: 3,
  initialBackoffMs: 500,
  maxBackoffMs: 10_000,
  failureThreshold: 5,
  cooldownMs: 30_000,
  inquiryIntervalMinutes: 240,
};

function isX12Channel(settings: unknown): settings is X12Channel {
  const s = settings as Partial<X12Channel> | undefined;
  return (
    s?.type === 'x12' &&
    typeof s.clearinghouse?.endpoint === 'string' &&
    typeof s.interchange?.receiverId === 'string'
  );
}

function reason(system: string, code: string, text?: string): Reason {
  return { system, code, ...(text ? { text } : {}) };
}

export function createX12Connector(options: X12ConnectorOptions): X12Connector {
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

  /** Parses a CORE answer's payload by its type. Unreadable payloads are errors of the clearinghouse. */
  function parseAnswer(response: ExchangeResponse): Parsed {
    const { envelope } = response;
    if (envelope.PayloadType === PayloadType.batchReceipt) return { envelope };
    if (!envelope.Payload) {
      throw new ClearinghouseError(
        'PAGW_X12_CORE_MALFORMED',
        `The CORE answer (${envelope.PayloadType}) has no Payload`,
      );
    }
    let parsed: ReturnType<typeof parseX12>;
    try {
      parsed = parseX12(envelope.Payload);
    } catch (error) {
      if (error instanceof X12ParseError) {
        throw new ClearinghouseError(
          'PAGW_X12_CORE_MALFORMED',
          `The clearinghouse payload is unreadable X12: ${error.message}`,
          {
            cause: error,
            problems: [...error.problems],
          },
        );
      }
      throw error;
    }
    const result: {
      envelope: Parsed['envelope'];
      review?: ServicesReview;
      eligibility?: EligibilityResponse;
      ack999?: FunctionalAcknowledgment;
      ta1?: InterchangeAcknowledgments;
    } = { envelope };
    for (const r of parsed.results) {
      if (r.kind === '278-response') result.review = r;
      else if (r.kind === '271') result.eligibility = r;
      else if (r.kind === '999') result.ack999 = r;
      else if (r.kind === 'TA1') result.ta1 = r;
    }
    return result;
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

  /** Throws for a 999 or TA1 rejection: our interchange was refused (our bug or bad data), never retriable. */
  function refuseRejectedAcks(parsed: Parsed): void {
    if (parsed.ta1 && !parsed.ta1.accepted) {
      const ack = parsed.ta1.acknowledgments.find((a) => !a.accepted)!;
      throw new PayerRejectedError(
        'PAGW_X12_REJECTED_TA1',
        `The receiver rejected interchange ${ack.controlNumber} (TA1 ${ack.status}, note ${ack.note}${ack.noteText ? `: ${ack.noteText}` : ''})`,
        {
          problems: [
            {
              location: `TA1 ${ack.controlNumber}`,
              message: `TA105 ${ack.note} ${ack.noteText ?? ''}`.trim(),
            },
          ],
        },
      );
    }
    if (parsed.ack999 && !parsed.ack999.accepted) {
      const problems = parsed.ack999.groups.flatMap((g) =>
        g.sets
          .filter((s) => !s.accepted)
          .flatMap((s) =>
            s.segmentErrors.length === 0
              ? [
                  {
                    location: `transaction set ${s.controlNumber}`,
                    message:
                      s.errors.map((e) => `IK50x ${e.code} ${e.text ?? ''}`).join('; ') ||
                      `IK501 ${s.status}`,
                  },
                ]
              : s.segmentErrors.flatMap((se) => {
                  const where = `${se.segment} at position ${se.position ?? '?'}${se.loop ? ` in loop ${se.loop}` : ''}`;
                  const segmentProblem = {
                    location: where,
                    message: `IK304 ${se.code} ${se.text ?? ''}`.trim(),
                  };
                  return [
                    segmentProblem,
                    ...se.elements.map((e) => ({
                      location: `${se.segment}${String(e.position).padStart(2, '0')}${e.component ? `-${e.component}` : ''} (${where})`,
                      message:
                        `IK403 ${e.code} ${e.text ?? ''}${e.reference ? ` (element ${e.reference})` : ''}`.trim(),
                    })),
                  ];
                }),
          ),
      );
      const first = problems.find((p) => p.location.includes('(')) ?? problems[0];
      throw new PayerRejectedError(
        'PAGW_X12_REJECTED_999',
        `The receiver rejected the transaction set (999)${first ? `: ${first.location}: ${first.message}` : ''}`,
        { problems },
      );
    }
  }

  function checkTrace(review: ServicesReview, ctx: PayerCallContext): void {
    if (review.traceNumbers.length > 0 && !review.traceNumbers.includes(ctx.traceNumber)) {
      throw new ClearinghouseError(
        'PAGW_X12_CORE_MALFORMED',
        'The 278 answer is about another trace number (TRN02)',
      );
    }
  }

  function pendedDecision(
    ctx: PayerCallContext,
    message: string,
    rawMessageRef: string,
  ): AuthorizationDecision {
    return {
      outcome: 'pended',
      payer: { id: ctx.payer.id, ...(ctx.payer.name ? { name: ctx.payer.name } : {}) },
      channel: 'x12',
      lines: [],
      reasons: [],
      messages: [message],
      followUp: 'none',
      decidedAt: clock.now().toISOString(),
      rawMessageRef,
    };
  }

  function checkAfterMs(channel: X12Channel): number {
    return (channel.followUp?.inquiryIntervalMinutes ?? defaults.inquiryIntervalMinutes) * 60_000;
  }

  /** A 278 answer (or ack) as the port's SubmissionOutcome; undefined when it holds neither decision nor AAA. */
  function outcomeOf(
    parsed: Parsed,
    request: AuthorizationRequest,
    ctx: PayerCallContext,
    channel: X12Channel,
    record: SubmissionRecord,
  ): SubmissionOutcome {
    refuseRejectedAcks(parsed);
    const rawMessageRef = `payer_submissions:${record.id}`;
    const review = parsed.review;
    if (!review) {
      // A receipt without the review: batch confirmation, or an accepted 999/TA1. The decision follows.
      return {
        kind: 'pended',
        decision: pendedDecision(
          ctx,
          `Received by the clearinghouse (${parsed.envelope.PayloadType}); the review decision follows`,
          rawMessageRef,
        ),
        checkAfterMs: checkAfterMs(channel),
      };
    }
    checkTrace(review, ctx);
    const decision = toAuthorizationDecision(review, {
      requestLines: request.serviceLines,
      decidedAt: clock.now().toISOString(),
      rawMessageRef,
      payerId: ctx.payer.id,
    });
    if (!decision) {
      const reasons = review.rejections.flatMap((r) => [
        reason(x12CodeSystem.rejectReason, r.reason || 'unknown', r.reasonText),
        ...(r.followUp ? [reason(x12CodeSystem.followUpAction, r.followUp, r.followUpText)] : []),
      ]);
      return {
        kind: 'rejected',
        reasons,
        resubmitAllowed: review.rejections.every((r) => ['R', 'P', 'C', 'W', 'X'].includes(r.followUp)),
        messages: review.rejections.map(
          (r) =>
            `${r.loop} AAA ${r.reason}${r.reasonText ? ` (${r.reasonText})` : ''}: ${r.followUpText ?? r.followUp}`,
        ),
      };
    }
    // Report the payer as the directory knows it; the UMO id from 2010A stays in the stored response.
    const withPayer: AuthorizationDecision = {
      ...decision,
      payer: { id: ctx.payer.id, ...(ctx.payer.name ? { name: ctx.payer.name } : {}) },
    };
    if (withPayer.outcome === 'pended')
      return { kind: 'pended', decision: withPayer, checkAfterMs: checkAfterMs(channel) };
    return { kind: 'decided', decision: withPayer };
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
      outcome = outcomeOf(parseAnswer(response), request, ctx, channel, record);
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

  /** Asks the payer about our trace (278 inquiry, 005010X215); answers whether it holds a live submission. */
  async function askAboutTrace(
    request: AuthorizationRequest,
    ctx: PayerCallContext,
    channel: X12Channel,
    purpose: 'reconcile' | 'inquire',
    references: { certificationNumber?: string; administrativeReference?: string },
  ): Promise<{ live: boolean; outcome?: SubmissionOutcome }> {
    const { record, response } = await exchange(
      purpose,
      ctx,
      channel,
      (opts) =>
        buildInquiry(request, {
          ...opts,
          ...(references.certificationNumber ? { authorizationNumber: references.certificationNumber } : {}),
          ...(references.administrativeReference
            ? { administrativeReference: references.administrativeReference }
            : {}),
        }),
      PayloadType.inquiry278,
    );
    const parsed = await readAnswer(record, response);
    const review = parsed.review;
    // AAA AA (authorization not found) / T5 (certification information missing) on an inquiry: no such review.
    const notFound =
      review?.rejections.some((r) => r.reason === 'AA' || r.reason === 'T5') && !review.event?.review;
    if (notFound) {
      await store.complete(record, {
        status: 'answered',
        response: response.envelope.Payload ?? '',
        outcome: { live: false },
        at: clock.now(),
      });
      return { live: false };
    }
    const outcome = await settle(record, response, request, ctx, channel);
    if (outcome.kind === 'rejected') {
      // The payer could not say (e.g. AAA 42): whether it holds the submission stays unknown.
      throw new ClearinghouseError(
        'PAGW_X12_AAA_REJECTED',
        `The payer could not answer the inquiry: ${outcome.messages.join('; ')}`,
        {
          retriable: true,
        },
      );
    }
    return { live: true, outcome };
  }

  async function lastAnsweredDecision(caseId: string): Promise<AuthorizationDecision | undefined> {
    const last = await store.latest(caseId, 'submit');
    const outcome = last?.outcome as SubmissionOutcome | null | undefined;
    return outcome && 'decision' in outcome ? outcome.decision : undefined;
  }

  /** Sends a 278 that revises (`S`) or cancels (`3`) the review the payer holds for this case. */
  async function reviseHeldReview(
    purpose: 'update' | 'cancel',
    certificationType: 'S' | '3',
    request: AuthorizationRequest,
    ctx: PayerCallContext,
  ): Promise<SubmissionOutcome> {
    const channel = channelOf(ctx);
    const previous = await lastAnsweredDecision(ctx.caseId);
    return withRetries(channel, async () => {
      const { record, response } = await exchange(
        purpose,
        ctx,
        channel,
        (opts) =>
          build278(request, {
            ...opts,
            certificationType,
            ...(previous?.certificationNumber
              ? { previousAuthorizationNumber: previous.certificationNumber }
              : {}),
            ...(previous?.administrativeReference
              ? { administrativeReference: previous.administrativeReference }
              : {}),
          }),
        PayloadType.request278,
      );
      return settle(record, response, request, ctx, channel);
    });
  }

  /** Resolves an earlier submit whose fate is open; returns the payer's answer when it holds it. */
  async function resolveOpenAttempt(
    request: AuthorizationRequest,
    ctx: PayerCallContext,
    channel: X12Channel,
  ): Promise<SubmissionOutcome | undefined> {
    const prior = await store.latest(ctx.caseId, 'submit');
    if (!prior) return undefined;
    if (prior.status === 'answered' && prior.outcome) return prior.outcome as SubmissionOutcome;
    if (prior.status !== 'sending' && prior.status !== 'unknown' && prior.status !== 'answered')
      return undefined;
    const found = await withRetries(channel, () => askAboutTrace(request, ctx, channel, 'reconcile', {}));
    if (found.live && found.outcome) {
      await store.complete(prior, { status: 'answered', outcome: found.outcome, at: clock.now() });
      return found.outcome;
    }
    await store.complete(prior, { status: 'not_received', at: clock.now() });
    return undefined;
  }

  async function sendAttachments(
    request: AuthorizationRequest,
    documents: readonly PayerAttachment[],
    ctx: PayerCallContext,
  ): Promise<{ sent: number }> {
    const channel = channelOf(ctx);
    let sent = 0;
    for (const doc of documents) {
      if (!doc.controlNumber) {
        throw new X12BuildError(
          'PAGW_X12_REQUEST_UNMAPPABLE',
          'A 275 answers a PWK attachment control number; the payer gave none for this document',
          { problems: [{ location: 'attachmentControlNumber', message: 'missing' }] },
        );
      }
      const attachment = {
        controlNumber: doc.controlNumber,
        reportType: doc.reportType,
        contentType: doc.contentType,
        content: doc.content,
      };
      await withRetries(channel, async () => {
        const { record, response } = await exchange(
          'attachment',
          ctx,
          channel,
          (opts) => build275(request, attachment, opts),
          PayloadType.request275,
        );
        // The 275 has no business answer: the payer's 999 accepts it (or rejects it: not retriable).
        await readAnswer(record, response);
        await store.complete(record, {
          status: 'answered',
          response: response.envelope.Payload ?? '',
          outcome: { attachment: doc.documentId, controlNumber: doc.controlNumber },
          at: clock.now(),
        });
      });
      sent++;
    }
    return { sent };
  }

  return {
    channel: 'x12',

    breakerState(payerId) {
      return breakers.get(payerId)?.state ?? 'closed';
    },

    async checkEligibility(request, ctx) {
      const channel = channelOf(ctx);
      if (channel.eligibility === false) {
        throw new PayerRulesError(
          'PAGW_PAYER_NO_CHANNEL',
          `Payer ${ctx.payer.id} answers no 270 eligibility inquiries`,
        );
      }
      return withRetries(channel, async () => {
        const { record, response } = await exchange(
          'eligibility',
          ctx,
          channel,
          (opts) => build270(request, opts),
          PayloadType.request270,
        );
        const parsed = await readAnswer(record, response);
        const answer = parsed.eligibility;
        if (!answer) {
          await store.complete(record, {
            status: 'unknown',
            response: response.envelope.Payload ?? '',
            errorCode: 'PAGW_X12_CORE_MALFORMED',
            at: clock.now(),
          });
          throw new ClearinghouseError('PAGW_X12_CORE_MALFORMED', 'The answer to a 270 holds no 271');
        }
        const result = eligibilityOf(answer, request);
        await store.complete(
          record,
          { status: 'answered', response: response.envelope.Payload ?? '', outcome: result, at: clock.now() },
          { withStep: true },
        );
        return result;
      });
    },

    async submit(request, ctx) {
      const channel = channelOf(ctx);
      const batch = channel.clearinghouse.processingMode === 'Batch';
      const send = () =>
        withRetries(
          channel,
          async () => {
            const { record, response } = await exchange(
              'submit',
              ctx,
              channel,
              (opts) => build278(request, opts),
              PayloadType.request278,
              batch ? 'Batch' : 'RealTime',
            );
            return settle(record, response, request, ctx, channel);
          },
          async (error) => {
            // The last attempt may have reached the payer: ask before sending another.
            if (!error.outcomeUnknown) return undefined;
            return resolveOpenAttempt(request, ctx, channel);
          },
        );
      try {
        // Usually the case has no earlier submit whose fate is open, so none is looked for first (a read per
        // submission, issue #17): the attempt's record, written before anything is sent, is refused while one is
        // live (the unique index payer_submissions_one_live), and only then is the earlier one resolved.
        return await send();
      } catch (error) {
        if (!(error instanceof ClearinghouseError && error.code === 'PAGW_X12_LIVE_SUBMISSION_EXISTS'))
          throw error;
        const known = await resolveOpenAttempt(request, ctx, channel);
        if (known) return known;
        return send();
      }
    },

    async inquire(request, ctx) {
      const channel = channelOf(ctx);
      const previous = await lastAnsweredDecision(ctx.caseId);
      const references = {
        ...(previous?.certificationNumber ? { certificationNumber: previous.certificationNumber } : {}),
        ...(previous?.administrativeReference
          ? { administrativeReference: previous.administrativeReference }
          : {}),
      };
      const answer = await withRetries(channel, () =>
        askAboutTrace(request, ctx, channel, 'inquire', references),
      );
      if (!answer.live || !answer.outcome) {
        return {
          kind: 'rejected',
          reasons: [reason(x12CodeSystem.rejectReason, 'AA', 'Authorization number not found')],
          resubmitAllowed: true,
          messages: ['The payer holds no review with this trace number'],
        };
      }
      // Keep the submit's stored answer current, so a later submit() call returns the latest word.
      const prior = await store.latest(ctx.caseId, 'submit');
      if (prior?.status === 'answered')
        await store.complete(prior, { status: 'answered', outcome: answer.outcome, at: clock.now() });
      return answer.outcome;
    },

    async reconcile(request, ctx) {
      const channel = channelOf(ctx);
      const answer = await withRetries(channel, () => askAboutTrace(request, ctx, channel, 'reconcile', {}));
      return answer.live
        ? { live: true, ...(answer.outcome ? { outcome: answer.outcome } : {}) }
        : { live: false };
    },

    sendAttachments,

    async appeal(request, appeal, ctx) {
      const channel = channelOf(ctx);
      const controlNumber =
        appeal.letter.controlNumber ?? `APL${appeal.appealId.replace(/-/g, '').slice(0, 12).toUpperCase()}`;
      // The request for reconsideration: the same trace, UM02 1 (expedited) or 2 (standard), the decision appealed
      // (REF BB / NT), and PWK announcing the letter, which follows in a 275 under the same control number.
      const outcome = await withRetries(channel, async () => {
        const { record, response } = await exchange(
          'appeal',
          ctx,
          channel,
          (opts) =>
            build278(request, {
              ...opts,
              certificationType: appeal.expedited ? '1' : '2',
              ...(appeal.previousAuthorizationNumber
                ? { previousAuthorizationNumber: appeal.previousAuthorizationNumber }
                : {}),
              ...(appeal.administrativeReference
                ? { administrativeReference: appeal.administrativeReference }
                : {}),
              paperwork: { reportType: appeal.letter.reportType, controlNumber },
            }),
          PayloadType.request278,
        );
        return settle(record, response, request, ctx, channel);
      });
      if (outcome.kind !== 'rejected') {
        await sendAttachments(request, [{ ...appeal.letter, controlNumber }], ctx);
      }
      return outcome;
    },

    // A revision (UM02 S) or a cancellation (UM02 3) of the review the payer holds under this trace, naming it by
    // the payer's own numbers (REF BB certification, REF NT administrative reference) when it gave them. Every
    // attempt is recorded; a resend after a crash sends the same request again, which a payer takes as the same one.
    update: (request, ctx) => reviseHeldReview('update', 'S', request, ctx),
    cancel: (request, ctx) => reviseHeldReview('cancel', '3', request, ctx),
  };
}

/** Service types the request is about: each line's category, else 30 (health benefit plan coverage). */
function requestedServiceTypes(request: AuthorizationRequest): string[] {
  const types = request.serviceLines
    .map((l) =>
      l.category?.system === 'https://codesystem.x12.org/005010/1365' ? l.category.code : undefined,
    )
    .filter((t): t is string => Boolean(t));
  return types.length ? [...new Set(types)] : ['30'];
}

export function eligibilityOf(answer: EligibilityResponse, request: AuthorizationRequest): EligibilityResult {
  const messages = answer.benefits.flatMap((b) => b.messages);
  if (answer.status === 'active') {
    const asked = requestedServiceTypes(request);
    const flags = answer.authorizationRequired.filter(
      (a) => asked.includes(a.serviceType) || a.serviceType === '30',
    );
    const authorizationRequired = flags.some((f) => f.required) ? true : flags.length > 0 ? false : undefined;
    return {
      status: 'active',
      ...(answer.planName ? { planName: answer.planName } : {}),
      ...(answer.planPeriod ? { planPeriod: answer.planPeriod } : {}),
      ...(authorizationRequired !== undefined ? { authorizationRequired } : {}),
      messages,
    };
  }
  if (answer.status === 'inactive') {
    const codes = [
      ...new Set(answer.benefits.filter((b) => ['6', '7', '8'].includes(b.code)).map((b) => b.code)),
    ];
    return {
      status: 'inactive',
      reasons: codes.map((c) => reason('https://codesystem.x12.org/005010/1390', c, benefitCodes[c])),
      messages,
    };
  }
  const reasons: Reason[] = answer.rejections.flatMap((r) => [
    reason(x12CodeSystem.rejectReason, r.reason || 'unknown', r.reasonText),
    ...(r.followUp ? [reason(x12CodeSystem.followUpAction, r.followUp, r.followUpText)] : []),
  ]);
  if (answer.rejections.length === 0) {
    reasons.push(
      reason('urn:pagw:reason', 'coverage-unknown', 'The 271 states neither active nor inactive coverage'),
    );
  }
  return {
    status: 'rejected',
    reasons,
    resubmitAllowed:
      answer.rejections.length === 0 ||
      answer.rejections.every((r) => ['R', 'P', 'C', 'W', 'X', 'Y'].includes(r.followUp)),
    messages: [
      ...answer.rejections.map((r) => `${r.loop} AAA ${r.reason}${r.reasonText ? ` (${r.reasonText})` : ''}`),
      ...messages,
    ],
  };
}
