/**
 * 270/271 eligibility (005010X279A1): `checkEligibility` sends a 270 through the shared exchange (exchange.ts) and
 * reads the 271 into the port's EligibilityResult (`eligibilityOf`): active with whether the
 * requested service types need authorization, inactive with the 271's reasons, or rejected (AAA).
 */
import type { AuthorizationRequest, Reason } from '../../src/canonical/types.generated.ts';
import type { EligibilityResult, PayerCallContext } from '../../src/workflow/ports/payer-connector.ts';
import { PayerRulesError } from '../../src/workflow/rules/errors.ts';
import { build270 } from './005010X279A1/build-270.ts';
import type { EligibilityResponse } from './005010X279A1/read-271.ts';
import { reason } from './answer.ts';
import { benefitCodes, x12CodeSystem } from './code-lists.ts';
import { ClearinghouseError } from './errors.ts';
import type { X12Exchanges } from './exchange.ts';
import { PayloadType } from './transport/core-envelope.ts';

export function createEligibilityCheck(x12: X12Exchanges) {
  const { store, clock, channelOf, exchange, readAnswer, withRetries } = x12;

  async function checkEligibility(
    request: AuthorizationRequest,
    ctx: PayerCallContext,
  ): Promise<EligibilityResult> {
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
  }

  return { checkEligibility };
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
