/**
 * Channel fallback per payer. Pure: which of the payer's channels (in its order of preference) takes a case, given
 * why some cannot, and which failures make it safe to try the next one.
 *
 * A channel is unavailable for a case when it is not configured for the case's tenant (its `vault:` secrets are
 * not stored), its circuit is open, its portal is down (or the browser is missing), or the payer answered "use
 * another channel". Falling back is allowed ONLY when the failed channel cannot hold the request: it refused
 * before anything was sent, or answered that it did not take it. A channel that MAY have accepted the request (a
 * live submission in the submissions log: sent, unknown, answered) pins the case: it is reconciled there, never
 * submitted elsewhere — the X12 reconcile-before-resend rule, across channels.
 */
import type { ChannelSecret } from './channel-secrets.ts';
import type { PayerChannel, PayerTarget } from './ports/payer-connector.ts';

export interface ChannelCandidate {
  readonly channel: PayerChannel;
  readonly payer: PayerTarget;
  /** Whether the channel can check eligibility (270/271) before submitting. */
  readonly checkEligibility: boolean;
  /** How long to wait before asking about a pended case again on this channel. */
  readonly pendedCheckAfterMs?: number;
  /** Follow-up inquiries before the case is handed to a person (x12). */
  readonly maxInquiries?: number;
  /** Ask about a delivered decision once more after this long (payer followUp.recheckAfterDecisionHours). */
  readonly recheckAfterDecisionMs?: number;
  /** The vault secrets the channel needs for the case's tenant. */
  readonly secrets: readonly ChannelSecret[];
}

export type UnavailableReason =
  | 'not_configured'
  | 'circuit_open'
  | 'unreachable'
  | 'portal_down'
  | 'browser_missing'
  | 'browser_unavailable'
  | 'use_another_channel';

export interface Unavailable {
  readonly channel: PayerChannel;
  readonly reason: UnavailableReason;
  /** The error code or the missing reference, for the person reading the case. Never PHI. */
  readonly detail?: string;
}

/** Reasons that will not go away by waiting: a case with only these cannot be submitted until someone acts. */
const lasting: ReadonlySet<UnavailableReason> = new Set([
  'not_configured',
  'browser_missing',
  'use_another_channel',
]);

export function isLasting(reasons: readonly Unavailable[]): boolean {
  return reasons.length > 0 && reasons.every((r) => lasting.has(r.reason));
}

/** The first candidate not ruled out; `pinned` (a channel that may hold the request) wins whatever else holds. */
export function chooseChannel(
  candidates: readonly ChannelCandidate[],
  ruledOut: readonly Unavailable[],
  pinned?: PayerChannel,
): ChannelCandidate | undefined {
  if (pinned) return candidates.find((c) => c.channel === pinned);
  const out = new Set(ruledOut.map((r) => r.channel));
  return candidates.find((c) => !out.has(c.channel));
}

/**
 * Whether a failed call makes the channel unavailable for this case, and why — only for failures after which the
 * payer cannot hold the request (refused before sending, or said so). Anything else (a timeout, a 5xx, an
 * unconfirmed portal submission) keeps the case on the channel: retry, reconcile there.
 */
export function fallbackReason(error: {
  readonly code?: string;
  readonly outcomeUnknown?: boolean;
}): UnavailableReason | undefined {
  switch (error.code) {
    case 'PAGW_VAULT_SECRET_MISSING':
      return 'not_configured';
    case 'PAGW_X12_CIRCUIT_OPEN':
      return 'circuit_open';
    case 'PAGW_X12_TRANSPORT_UNAVAILABLE':
      // Connection refused, host unknown: never sent. A dropped connection may have delivered it.
      return error.outcomeUnknown ? undefined : 'unreachable';
    case 'PAGW_PORTAL_DOWN':
      return 'portal_down';
    case 'PAGW_PORTAL_BROWSER_UNAVAILABLE':
      return 'browser_unavailable';
    case 'PAGW_PAYER_USE_ANOTHER_CHANNEL':
      return 'use_another_channel';
    default:
      return undefined;
  }
}

/** One line per ruled-out channel, for messages and problems. */
export function describeUnavailable(reasons: readonly Unavailable[]): string {
  return reasons
    .map((r) => `${r.channel}: ${r.reason.replace(/_/g, ' ')}${r.detail ? ` (${r.detail})` : ''}`)
    .join('; ');
}
