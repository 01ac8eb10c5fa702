/**
 * Start-up check of the payer directory's `vault:` references. Secrets belong to tenants, the directory to the
 * whole gateway, so at start the question is whether ANY tenant holds each referenced secret. A reference no
 * tenant holds is logged as a warning naming payer, channel and reference — or, with
 * `vault.requireReferencedSecrets`, stops the start with PAGW_VAULT_SECRET_MISSING. Either way a case whose
 * tenant lacks a secret never calls the payer anonymously: the channel counts as not configured for it.
 */
import type { Logger } from '../log/logger.ts';
import { VaultError } from '../vault/errors.ts';
import type { Vault } from '../vault/vault.ts';
import { channelSecrets } from '../workflow/channel-secrets.ts';
import type { PayerChannel } from '../workflow/ports/payer-connector.ts';
import type { PayerDirectory } from '../workflow/rules/index.ts';

export interface MissingReference {
  readonly payerId: string;
  readonly channel: PayerChannel;
  readonly ref: string;
  readonly name: string;
}

export async function checkVaultReferences(deps: {
  payers: PayerDirectory;
  vault: Pick<Vault, 'holders'>;
  /** Channels the gateway has a connector for: only their references matter. */
  channels: readonly PayerChannel[];
  strict: boolean;
  logger?: Logger;
}): Promise<MissingReference[]> {
  const missing: MissingReference[] = [];
  const held = new Map<string, boolean>();
  for (const payer of deps.payers.payers) {
    for (const channel of payer.channels) {
      if (!deps.channels.includes(channel.type)) continue;
      for (const secret of channelSecrets(channel)) {
        if (!held.has(secret.name)) held.set(secret.name, (await deps.vault.holders(secret.name)).length > 0);
        if (!held.get(secret.name)) missing.push({ payerId: payer.id, channel: channel.type, ...secret });
      }
    }
  }
  const lines = missing.map(
    (m) => `payer ${m.payerId} (${m.channel}) refers to ${m.ref}: secret ${m.name} is stored for no tenant`,
  );
  if (missing.length > 0 && deps.strict) {
    throw new VaultError(
      'PAGW_VAULT_SECRET_MISSING',
      `Vault references without a secret (store them with pagw vault set --tenant T NAME):\n  - ${lines.join('\n  - ')}`,
      {
        problems: missing.map((m) => ({
          location: `payers/${m.payerId}.json (${m.channel})`,
          message: `${m.ref}: ${m.name} not stored`,
        })),
      },
    );
  }
  for (const m of missing) {
    deps.logger?.warn(
      { payerId: m.payerId, channel: m.channel, ref: m.ref, secret: m.name },
      'vault reference without a secret: cases of tenants lacking it cannot use this channel',
    );
  }
  return missing;
}
