/**
 * The case advancer's channel choice: run a payer call on the first of the payer's channels that can take the
 * case, skipping one that is not configured for the tenant or cannot take work now, and falling back after a
 * failure that leaves nothing at the payer (src/workflow/channel-choice.ts). Why a channel was passed over is
 * returned for the transition to record: event data (`fallbacks`) and `case.channel_fallback` audit rows.
 */
import type { Actor, AuditEntry } from '../audit/audit-log.ts';
import type { Clock } from '../clock.ts';
import { GatewayError, isGatewayError } from '../errors/index.ts';
import type { Logger } from '../log/logger.ts';
import type { CaseRecord } from '../store/index.ts';
import type { Routing, TransitionPlan } from '../workflow/case-workflow.ts';
import {
  type ChannelCandidate,
  chooseChannel,
  describeUnavailable,
  fallbackReason,
  isLasting,
  type Unavailable,
} from '../workflow/channel-choice.ts';
import type { PayerChannel, PayerConnector } from '../workflow/ports/payer-connector.ts';
import type { ChannelSelector } from './channel-selector.ts';

type Routed = Extract<Routing, { kind: 'routed' }>;

export interface ChannelRun<T> {
  readonly result: T;
  readonly candidate: ChannelCandidate;
  readonly fallbacks: readonly Unavailable[];
}

export interface ChannelStep {
  /**
   * Runs `call` on the first channel that can take the case. `pinned`: the channel that may already hold the
   * request — the only one asked, with no fallback.
   */
  onChannel<T>(
    record: CaseRecord,
    routing: Routed,
    pinned: PayerChannel | undefined,
    call: (candidate: ChannelCandidate, connector: PayerConnector) => Promise<T>,
  ): Promise<ChannelRun<T>>;
  /** The routing as seen from one candidate (its payer target and channel first). */
  viaCandidate(routing: Routed, candidate: ChannelCandidate): Routed;
  /** The candidate the case is on (its `channel` column), else the most preferred. */
  current(routing: Routed, record: CaseRecord): ChannelCandidate;
  /** The plan with the channel used and the fallbacks recorded; audit rows to append with it. */
  record(
    record: CaseRecord,
    plan: TransitionPlan,
    run: ChannelRun<unknown>,
    actor: Actor,
  ): { plan: TransitionPlan; audit: AuditEntry[] };
}

export function createChannelStep(deps: {
  clock: Clock;
  logger: Logger;
  selector?: ChannelSelector;
  connectorFor(channel: PayerChannel): PayerConnector;
}): ChannelStep {
  const { clock, logger } = deps;
  return {
    async onChannel(record, routing, pinned, call) {
      const ruledOut: Unavailable[] = [];
      for (;;) {
        const candidate = chooseChannel(routing.candidates, ruledOut, pinned);
        if (!candidate) {
          throw new GatewayError(
            'PAGW_CHANNEL_NONE_AVAILABLE',
            `No channel of payer ${routing.payer.id} can take the case now: ${describeUnavailable(ruledOut)}`,
            {
              retriable: !isLasting(ruledOut),
              problems: ruledOut.map((r) => ({
                location: `payer ${routing.payer.id}, channel ${r.channel}`,
                message: `${r.reason.replace(/_/g, ' ')}${r.detail ? `: ${r.detail}` : ''}`,
              })),
            },
          );
        }
        if (!pinned) {
          const unavailable = await deps.selector?.precheck(candidate, record.tenant);
          if (unavailable) {
            ruledOut.push(unavailable);
            continue;
          }
        }
        try {
          return {
            result: await call(candidate, deps.connectorFor(candidate.channel)),
            candidate,
            fallbacks: ruledOut,
          };
        } catch (error) {
          const reason =
            !pinned && isGatewayError(error)
              ? fallbackReason(error as GatewayError & { outcomeUnknown?: boolean })
              : undefined;
          // Never fall back once the channel may hold the request (a live submission appeared).
          if (!reason || (await deps.selector?.pinned(record.id)) === candidate.channel) throw error;
          ruledOut.push({ channel: candidate.channel, reason, detail: (error as GatewayError).code });
          logger.warn(
            { caseId: record.id, channel: candidate.channel, reason },
            'channel unavailable for the case; trying the next',
          );
        }
      }
    },

    viaCandidate(routing, candidate) {
      return {
        ...routing,
        payer: candidate.payer,
        channel: candidate.channel,
        checkEligibility: candidate.checkEligibility,
        ...(candidate.pendedCheckAfterMs !== undefined
          ? { pendedCheckAfterMs: candidate.pendedCheckAfterMs }
          : {}),
        ...(candidate.maxInquiries !== undefined ? { maxInquiries: candidate.maxInquiries } : {}),
      };
    },

    current(routing, record) {
      return routing.candidates.find((c) => c.channel === record.channel) ?? routing.candidates[0]!;
    },

    record(record, plan, run, actor) {
      const at = clock.now();
      const fallbacks = run.fallbacks.map((f) => ({
        channel: f.channel,
        reason: f.reason,
        ...(f.detail ? { detail: f.detail } : {}),
      }));
      return {
        plan: {
          ...plan,
          data: { ...plan.data, channel: run.candidate.channel, ...(fallbacks.length ? { fallbacks } : {}) },
          patch: { ...plan.patch, channel: run.candidate.channel },
        },
        audit: run.fallbacks.map((f) => ({
          tenant: record.tenant,
          actor,
          action: 'case.channel_fallback',
          caseId: record.id,
          details: {
            from: f.channel,
            to: run.candidate.channel,
            reason: f.reason,
            ...(f.detail ? { detail: f.detail } : {}),
          },
          at,
        })),
      };
    },
  };
}
