/**
 * Opens the vault for a gateway or a CLI command: the master key ring from config (or the data directory's key
 * file), checked against the keys the database holds, so a wrong master key stops the start instead of writing
 * data nobody can open later.
 */
import type { Clock } from '../clock.ts';
import type { GatewayConfig } from '../config/load-config.ts';
import type { Logger } from '../log/logger.ts';
import type { Database } from '../store/index.ts';
import { loadMasterKeyRing } from './master-key.ts';
import { createVault, type Vault } from './vault.ts';

export async function openVault(deps: {
  config: Readonly<GatewayConfig>;
  db: Database;
  clock: Clock;
  logger?: Logger;
}): Promise<Vault> {
  const { config } = deps;
  const keys = loadMasterKeyRing({
    ...(config.vault?.masterKey ? { masterKey: config.vault.masterKey } : {}),
    ...(config.vault?.previousMasterKeys ? { previousMasterKeys: config.vault.previousMasterKeys } : {}),
    ...(config.vault?.keyFile ? { keyFile: config.vault.keyFile } : {}),
    dataDir: config.dataDir,
  });
  if (keys.created) {
    deps.logger?.warn(
      { keyFile: keys.source, masterKeyId: keys.current.id },
      'vault: created a master key file (mode 0600); back it up, the vault cannot be opened without it',
    );
  }
  const vault = createVault({
    pool: deps.db.pool,
    keys,
    clock: deps.clock,
    ...(deps.logger ? { logger: deps.logger } : {}),
  });
  const { stale } = await vault.verify();
  if (stale > 0) {
    deps.logger?.warn(
      { stale, masterKeyId: keys.current.id },
      'vault: data keys wrapped under a previous master key; run `pagw vault rotate`',
    );
  }
  return vault;
}

/** The start-up line about the vault's master key. */
export function describeVault(vault: Vault): string {
  const created = vault.keys.created ? ' (created now: back it up)' : '';
  return `master key ${vault.keys.current.id} from ${vault.keys.source}${created}`;
}
