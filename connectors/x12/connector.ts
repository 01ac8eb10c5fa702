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
 *
 * This file assembles the connector; the parts live in their own modules: connector-options.ts (options and the
 * channel defaults), exchange.ts (one recorded exchange with the clearinghouse, retries, breaker, transport: rules 3
 * and 4), answer.ts (a clearinghouse answer read into an outcome), eligibility.ts (270/271), submission.ts (submit:
 * rules 1 and 2; update, cancel), inquiry.ts (278 inquiry: inquire, reconcile), attachments.ts (275) and appeal.ts.
 */
import type { PayerConnector, PayerTarget } from '../../src/workflow/ports/payer-connector.ts';
import { PayerRulesError } from '../../src/workflow/rules/errors.ts';
import { x12Channel as channelOfPayer } from '../../src/workflow/rules/payer-directory.ts';
import type { PayerFile } from '../../src/workflow/rules/types.generated.ts';
import { createAppeal } from './appeal.ts';
import { createAttachments } from './attachments.ts';
import type { X12ConnectorOptions } from './connector-options.ts';
import { createEligibilityCheck } from './eligibility.ts';
import { createX12Exchanges } from './exchange.ts';
import { createInquiry } from './inquiry.ts';
import { createSubmission } from './submission.ts';

export type { X12ConnectorOptions, X12Sender } from './connector-options.ts';
export { eligibilityOf } from './eligibility.ts';

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

export function createX12Connector(options: X12ConnectorOptions): X12Connector {
  const x12 = createX12Exchanges(options);
  const { checkEligibility } = createEligibilityCheck(x12);
  const inquiry = createInquiry(x12);
  const { submit, update, cancel } = createSubmission(x12, inquiry);
  const attachments = createAttachments(x12);
  const { appeal } = createAppeal(x12, attachments);
  const { sendAttachments } = attachments;
  const { inquire, reconcile } = inquiry;

  return {
    channel: 'x12',
    breakerState: x12.breakerState,
    checkEligibility,
    submit,
    inquire,
    reconcile,
    sendAttachments,
    appeal,
    update,
    cancel,
  };
}
