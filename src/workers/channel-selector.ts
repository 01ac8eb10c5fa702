/**
 * The connector registry and the I/O half of channel fallback: which channels have a connector, whether a channel
 * is configured for a case's tenant (its vault secrets are stored), whether its connector says it cannot take work
 * now (X12 circuit open, portal down, browser missing), and which channel may already hold a case's request (a live
 * submission in payer_submissions), which pins the case to it. The decisions are src/workflow/channel-choice.ts's.
 *
 * A channel plugs in by registering its connector, how it addresses a payer, and (optionally) `unavailable`:
 * connectors/pas joins the fallback the same way as x12 and portal.
 */
import type pg from 'pg';
import type { ChannelCandidate, Unavailable, UnavailableReason } from '../workflow/channel-choice.ts';
import type { PayerChannel, PayerConnector, PayerTarget } from '../workflow/ports/payer-connector.ts';
import type { PayerFile } from '../workflow/rules/index.ts';

export interface ChannelRegistration {
  readonly connector: PayerConnector;
  /** The call target for a payer on this channel (its channel settings from payers/). */
  target(payer: PayerFile): PayerTarget;
  /** Why the channel cannot take work for this payer now (and what is missing), or undefined. */
  unavailable?(payer: PayerTarget): { reason: UnavailableReason; detail?: string } | undefined;
}

export type ConnectorRegistry = Partial<Record<PayerChannel, ChannelRegistration>>;

export interface ChannelSelector {
  connector(channel: PayerChannel): PayerConnector | undefined;
  /** Why `candidate` cannot take this tenant's case before anything is tried, or undefined. */
  precheck(candidate: ChannelCandidate, tenant: string): Promise<Unavailable | undefined>;
  /** The channel that may hold the case's request (a live submission), if any. */
  pinned(caseId: string): Promise<PayerChannel | undefined>;
}

/** The channel that may hold case $1's request: that of its latest live submission (none: no row). */
export const pinnedChannelSql = `SELECT channel FROM payer_submissions
  WHERE case_id = $1 AND purpose = 'submit' AND status IN ('sending', 'unknown', 'answered')
  ORDER BY id DESC LIMIT 1`;

export function createChannelSelector(deps: {
  pool: Pick<pg.Pool, 'query'>;
  registry: ConnectorRegistry;
  /** Which of these secrets the tenant lacks. */
  missingSecrets(tenant: string, names: readonly string[]): Promise<string[]>;
}): ChannelSelector {
  return {
    connector: (channel) => deps.registry[channel]?.connector,

    async precheck(candidate, tenant) {
      const registration = deps.registry[candidate.channel];
      if (!registration)
        return { channel: candidate.channel, reason: 'not_configured', detail: 'no connector' };
      const missing = await deps.missingSecrets(
        tenant,
        candidate.secrets.map((s) => s.name),
      );
      if (missing.length > 0) {
        const refs = [
          ...new Set(candidate.secrets.filter((s) => missing.includes(s.name)).map((s) => s.ref)),
        ];
        return {
          channel: candidate.channel,
          reason: 'not_configured',
          detail: `payer ${candidate.payer.id} refers to ${refs.join(', ')}, not stored for tenant ${tenant}`,
        };
      }
      const unavailable = registration.unavailable?.(candidate.payer);
      return unavailable ? { channel: candidate.channel, ...unavailable } : undefined;
    },

    async pinned(caseId) {
      const { rows } = await deps.pool.query<{ channel: PayerChannel }>(pinnedChannelSql, [caseId]);
      return rows[0]?.channel;
    },
  };
}
