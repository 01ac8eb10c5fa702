/**
 * The portal connector's options (connectors/portal/connector.ts), the defaults for the channel settings a payer
 * file leaves out (status check interval, sessions per portal) and whether a payer's channel settings are a portal
 * channel. Their own module because the entry point and the connector's runs (runs.ts) both use them, and neither
 * should import the other for them.
 */
import type pg from 'pg';
import type { Clock } from '../../src/clock.ts';
import type { Logger } from '../../src/log/logger.ts';
import type { PhiCipher } from '../../src/vault/phi.ts';
import type { SecretReader } from '../../src/vault/port.ts';
import type { PortalChannel } from '../../src/workflow/rules/types.generated.ts';
import type { X12Store } from '../x12/store.ts';
import type { BrowserPool } from './browser.ts';
import type { RecipeBook } from './recipes.ts';

export interface PortalConnectorOptions {
  /** The submissions log (payer_submissions, channel `portal`): the same store the X12 connector records in. */
  readonly store: X12Store;
  /** For evidence screenshots (portal_evidence). */
  readonly pool: pg.Pool;
  readonly phi: Pick<PhiCipher, 'seal'>;
  readonly secrets: SecretReader;
  readonly recipes: RecipeBook;
  readonly browsers: BrowserPool;
  readonly clock: Clock;
  readonly logger?: Logger;
  /** How long a portal that was down counts as unavailable for channel choice (default 60 s). */
  readonly downCooldownMs?: number;
}

export const defaults = { statusCheckMinutes: 60, maxSessions: 2 };

export function isPortalChannel(settings: unknown): settings is PortalChannel {
  const s = settings as Partial<PortalChannel> | undefined;
  return s?.type === 'portal' && typeof s.url === 'string' && typeof s.credentialsRef === 'string';
}
