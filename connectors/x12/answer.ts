/**
 * What a clearinghouse answer says: the CORE payload parsed by its type (278 response, 271, 999, TA1), 999/TA1
 * rejections turned into PayerRejectedError, and a 278 answer (or a bare receipt) turned into the port's
 * SubmissionOutcome. No I/O here: completing the submissions log from an answer is the exchange's part
 * (exchange.ts: readAnswer, settle).
 */
import type {
  AuthorizationDecision,
  AuthorizationRequest,
  Reason,
} from '../../src/canonical/types.generated.ts';
import type { Clock } from '../../src/clock.ts';
import type { PayerCallContext, SubmissionOutcome } from '../../src/workflow/ports/payer-connector.ts';
import type { X12Channel } from '../../src/workflow/rules/types.generated.ts';
import { type ServicesReview, toAuthorizationDecision } from './005010X217/read-278.ts';
import type { FunctionalAcknowledgment } from './005010X231A1/read-999.ts';
import type { EligibilityResponse } from './005010X279A1/read-271.ts';
import { x12CodeSystem } from './code-lists.ts';
import { defaults } from './connector-options.ts';
import { ClearinghouseError, PayerRejectedError, X12ParseError } from './errors.ts';
import { parseX12 } from './parse.ts';
import type { InterchangeAcknowledgments } from './read-ta1.ts';
import type { SubmissionRecord } from './store.ts';
import { PayloadType } from './transport/core-envelope.ts';
import type { ExchangeResponse } from './transport/core-http.ts';

/** A CORE answer's payload read by its type (parseAnswer); a batch receipt holds the envelope only. */
export interface Parsed {
  readonly envelope: ExchangeResponse['envelope'];
  readonly review?: ServicesReview;
  readonly eligibility?: EligibilityResponse;
  readonly ack999?: FunctionalAcknowledgment;
  readonly ta1?: InterchangeAcknowledgments;
}

/** A canonical Reason; the text only when there is one. */
export function reason(system: string, code: string, text?: string): Reason {
  return { system, code, ...(text ? { text } : {}) };
}

/** Parses a CORE answer's payload by its type. Unreadable payloads are errors of the clearinghouse. */
export function parseAnswer(response: ExchangeResponse): Parsed {
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

/** Throws for a 999 or TA1 rejection: our interchange was refused (our bug or bad data), never retriable. */
export function refuseRejectedAcks(parsed: Parsed): void {
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
                    s.errors.map((e) => `IK50x ${e.code} ${e.text ?? ''}`).join('; ') || `IK501 ${s.status}`,
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
  clock: Clock,
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
export function outcomeOf(
  parsed: Parsed,
  request: AuthorizationRequest,
  ctx: PayerCallContext,
  channel: X12Channel,
  record: SubmissionRecord,
  clock: Clock,
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
        clock,
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
