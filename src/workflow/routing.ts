/**
 * Routing: which payer a request goes to, on which channels (in the payer's order of preference, those with a
 * connector here), under which PA rules. Pure: the payer directory (payers/*.json, loaded by an adapter) and the
 * channels that have a connector are passed in. Which candidate takes the case is channel-choice.ts's question.
 */

import type { AuthorizationRequest } from '../canonical/index.ts';
import { isGatewayError } from '../errors/index.ts';
import type { Routing } from './case-workflow.ts';
import type { ChannelCandidate } from './channel-choice.ts';
import { channelSecrets } from './channel-secrets.ts';
import type { PayerChannel, PayerTarget } from './ports/payer-connector.ts';
import { channelsFor, evaluatePaRules, type PayerDirectory, type PayerFile } from './rules/index.ts';
import type { Channel } from './rules/types.generated.ts';

export interface RoutingInputs {
  readonly directory: PayerDirectory;
  /** Channels this gateway has a connector for, and how each one addresses a payer. */
  readonly targets: Partial<Record<PayerChannel, (payer: PayerFile) => PayerTarget>>;
}

const MINUTE = 60_000;

export function routeRequest(request: AuthorizationRequest, inputs: RoutingInputs, at: Date): Routing {
  const payer = inputs.directory.find(request.coverage);
  if (!payer) return { kind: 'unknown_payer', payerId: request.coverage.payerId };
  const candidates = channelsFor(payer, 'submit')
    .filter((c) => inputs.targets[c.type] !== undefined)
    .map((c) => candidateOf(c, payer, inputs));
  const first = candidates[0];
  if (!first) {
    return {
      kind: 'unroutable',
      payerId: payer.id,
      reason: 'PAYER_NO_CHANNEL',
      errorCode: 'PAGW_PAYER_NO_CHANNEL',
    };
  }
  let rules: ReturnType<typeof evaluatePaRules>;
  try {
    rules = evaluatePaRules(request, payer, at);
  } catch (error) {
    if (!isGatewayError(error)) throw error;
    return {
      kind: 'unroutable',
      payerId: payer.id,
      reason: 'PAYER_RULES_UNAVAILABLE',
      errorCode: error.code,
    };
  }
  // Expected cost under the fee schedule: a line's total (per-unit fee × units), else its per-unit fee.
  const priced = rules.lines.filter((l) => l.expectedReimbursement);
  const estimatedCost = priced.length
    ? {
        amount:
          Math.round(
            priced.reduce(
              (sum, l) => sum + (l.expectedReimbursement!.total ?? l.expectedReimbursement!.amount),
              0,
            ) * 100,
          ) / 100,
        currency: priced[0]!.expectedReimbursement!.currency,
      }
    : undefined;
  return {
    kind: 'routed',
    payer: first.payer,
    channel: first.channel,
    checkEligibility: first.checkEligibility,
    candidates,
    paRequired: rules.paRequired,
    ruleVersion: rules.ruleVersion,
    ruleId: rules.ruleIds.join(','),
    reviewRequired: rules.reviewPolicy === 'reviewer-approval',
    slaDueAt: new Date(rules.slaDueAt),
    slaHours: rules.slaHours,
    ...(estimatedCost ? { estimatedCost } : {}),
    ...(first.pendedCheckAfterMs ? { pendedCheckAfterMs: first.pendedCheckAfterMs } : {}),
    ...(first.maxInquiries ? { maxInquiries: first.maxInquiries } : {}),
    ...(payer.appeals ? { appealEmail: payer.appeals.email } : {}),
  };
}

/** A channel of the payer as the workflow may use it: target, eligibility, follow-up interval, needed secrets. */
function candidateOf(channel: Channel, payer: PayerFile, inputs: RoutingInputs): ChannelCandidate {
  const followUpMinutes =
    channel.type === 'x12'
      ? channel.followUp?.inquiryIntervalMinutes
      : channel.type === 'portal'
        ? channel.statusCheckMinutes
        : undefined;
  return {
    channel: channel.type,
    payer: inputs.targets[channel.type]!(payer),
    checkEligibility: channel.type === 'x12' && channel.eligibility !== false,
    ...(followUpMinutes ? { pendedCheckAfterMs: followUpMinutes * MINUTE } : {}),
    ...(channel.type === 'x12' ? { maxInquiries: channel.followUp?.maxInquiries ?? 30 } : {}),
    ...((channel.type === 'x12' || channel.type === 'pas') && channel.followUp?.recheckAfterDecisionHours
      ? { recheckAfterDecisionMs: channel.followUp.recheckAfterDecisionHours * 60 * MINUTE }
      : {}),
    secrets: channelSecrets(channel),
  };
}
