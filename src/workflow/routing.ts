/**
 * Routing: which payer a request goes to, on which channel, under which PA rules. Pure: the payer directory
 * (payers/*.json, loaded by an adapter) and the channels that have a connector are passed in.
 */
import type { PayerChannel, PayerTarget } from '../../connectors/payer-connector.ts';
import type { AuthorizationRequest } from '../canonical/index.ts';
import { isGatewayError } from '../errors/index.ts';
import type { Routing } from './case-workflow.ts';
import { channelsFor, evaluatePaRules, type PayerDirectory, type PayerFile } from './rules/index.ts';

export interface RoutingInputs {
  readonly directory: PayerDirectory;
  /** Channels this gateway has a connector for, and how each one addresses a payer. */
  readonly targets: Partial<Record<PayerChannel, (payer: PayerFile) => PayerTarget>>;
}

const MINUTE = 60_000;

export function routeRequest(request: AuthorizationRequest, inputs: RoutingInputs, at: Date): Routing {
  const payer = inputs.directory.find(request.coverage);
  if (!payer) return { kind: 'unknown_payer', payerId: request.coverage.payerId };
  const channel = channelsFor(payer, 'submit').find((c) => inputs.targets[c.type] !== undefined);
  if (!channel) {
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
  const followUp = channel.type === 'x12' ? channel.followUp?.inquiryIntervalMinutes : undefined;
  return {
    kind: 'routed',
    payer: inputs.targets[channel.type]!(payer),
    channel: channel.type,
    checkEligibility: channel.type === 'x12' && channel.eligibility !== false,
    paRequired: rules.paRequired,
    ruleVersion: rules.ruleVersion,
    ruleId: rules.ruleIds.join(','),
    reviewRequired: rules.reviewPolicy === 'reviewer-approval',
    slaDueAt: new Date(rules.slaDueAt),
    ...(followUp ? { pendedCheckAfterMs: followUp * MINUTE } : {}),
  };
}
