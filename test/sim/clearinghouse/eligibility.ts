/**
 * A 270 eligibility inquiry answered with a 271, by the member id's scripted behaviour (eligibilityBehaviour):
 * inactive, AAA 75, AAA 42, else active for the service types asked. Split from server.ts (core.ts hands it the call).
 */

import { PayloadType } from '../../../connectors/x12/transport/core-envelope.ts';
import { eligibilityBehaviour } from './behaviours.ts';
import type { ClearinghouseSim, CoreCall } from './sim-state.ts';
import { v, write271 } from './x12.ts';

export async function answerEligibility(sim: ClearinghouseSim, call: CoreCall): Promise<void> {
  const { received, envelopeFor, reply } = sim;
  const { res, base, replyTo, request } = call;
  const memberId = v(
    request.segments.find((s) => s.tag === 'NM1' && v(s, 1) === 'IL'),
    9,
  );
  const trace = v(
    request.segments.find((s) => s.tag === 'TRN'),
    2,
  );
  const asked = request.segments.filter((s) => s.tag === 'EQ').flatMap((s) => v(s, 1).split('^'));
  const behaviour = eligibilityBehaviour(memberId);
  received.push({
    ...base,
    kind: '270',
    traceNumber: trace,
    memberId,
    interchangeControlNumber: request.interchangeControlNumber,
    accepted: true,
    disposition: behaviour,
  });
  const answer =
    behaviour === 'inactive'
      ? ({ status: 'inactive' } as const)
      : behaviour === 'aaa'
        ? { aaa: { code: '75', followUp: 'C' } }
        : behaviour === 'aaa42'
          ? { aaa: { code: '42', followUp: 'R' } }
          : ({ status: 'active' } as const);
  await reply(res, 200, {
    ...replyTo,
    PayloadType: PayloadType.response271,
    Payload: write271(envelopeFor(request), request, answer, asked),
  });
}
