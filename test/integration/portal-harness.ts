/**
 * Test wiring for the portal robot: a fresh database and vault with the clinic's portal login and TOTP seed, the
 * simulated payer portal as its own process, real headless Chromium (Debian's), and the sim-health recipe.
 */
import { randomUUID } from 'node:crypto';
import { type BrowserPool, createBrowserPool } from '../../connectors/portal/browser.ts';
import {
  createPortalConnector,
  type PortalConnector,
  type PortalConnectorOptions,
} from '../../connectors/portal/connector.ts';
import { loadRecipes } from '../../connectors/portal/recipes.ts';
import { createX12Store, type X12Store } from '../../connectors/x12/store.ts';
import type { AuthorizationRequest } from '../../src/canonical/types.generated.ts';
import { type Clock, systemClock } from '../../src/clock.ts';
import type { Database } from '../../src/store/index.ts';
import type { Vault } from '../../src/vault/index.ts';
import type { PayerCallContext } from '../../src/workflow/ports/payer-connector.ts';
import type { PortalChannel } from '../../src/workflow/rules/types.generated.ts';
import { chromiumPath } from '../helpers/browser.ts';
import { openTestDatabase } from '../helpers/database.ts';
import { sampleRequest } from '../helpers/fixtures.ts';
import { testVault } from '../helpers/vault.ts';
import {
  type PortalSimProcess,
  type PortalSimProcessOptions,
  startPortalSim,
} from '../sim/payer-portal/process.ts';

export const portalLogin = { username: 'clinic-a-portal', password: 'Sim-Portal-Pass-7' };
export const portalSeed = 'KRUGS4ZANFZSAYJAORSXG5BAONSWKZBB';

export interface PortalHarness {
  readonly db: Database;
  readonly vault: Vault;
  readonly sim: PortalSimProcess;
  readonly store: X12Store;
  readonly browsers: BrowserPool;
  connector(options?: Partial<PortalConnectorOptions>): PortalConnector;
  channel(overrides?: Partial<PortalChannel>): PortalChannel;
  context(overrides?: Partial<PortalChannel>, tenant?: string): PayerCallContext;
  request(memberId: string): AuthorizationRequest;
  /** Requests the portal holds with this reference (the case's trace number). */
  liveSubmissions(traceNumber: string): Promise<number>;
  close(): Promise<void>;
}

export async function storePortalSecrets(
  vault: Vault,
  tenant: string,
  login = portalLogin,
  seed = portalSeed,
): Promise<void> {
  const actor = { id: 'system:test' };
  await vault.set({ tenant, name: 'portal/sim/username', value: login.username, actor });
  await vault.set({ tenant, name: 'portal/sim/password', value: login.password, actor });
  await vault.set({ tenant, name: 'portal/sim/totp', value: seed, kind: 'totp', actor });
}

export async function openPortalHarness(
  options: { sim?: Partial<PortalSimProcessOptions>; clock?: Clock } = {},
): Promise<PortalHarness> {
  const db = await openTestDatabase({ poolSize: 6 });
  const vault = testVault(db);
  await storePortalSecrets(vault, 'clinic-a');
  let sim: PortalSimProcess;
  try {
    sim = await startPortalSim({ ...portalLogin, totpSeed: portalSeed, ...options.sim });
  } catch (error) {
    await db.close();
    throw error;
  }
  const store = createX12Store(db.pool, { phi: vault.phi });
  const browsers = createBrowserPool({ executablePath: chromiumPath });
  const recipes = loadRecipes();
  const channel = (overrides: Partial<PortalChannel> = {}): PortalChannel => ({
    type: 'portal',
    url: sim.url,
    recipe: 'sim-health',
    credentialsRef: 'vault:portal/sim',
    totpRef: 'vault:portal/sim/totp',
    statusCheckMinutes: 1,
    ...overrides,
  });
  return {
    db,
    vault,
    sim,
    store,
    browsers,
    channel,
    connector(connectorOptions = {}) {
      return createPortalConnector({
        store,
        pool: db.pool,
        phi: vault.phi,
        secrets: vault,
        recipes,
        browsers,
        clock: options.clock ?? systemClock,
        ...connectorOptions,
      });
    },
    context(overrides = {}, tenant = 'clinic-a') {
      return {
        tenant,
        caseId: randomUUID(),
        traceNumber: `PAGW${randomUUID().replace(/-/g, '').slice(0, 16).toUpperCase()}`,
        payer: {
          id: 'sim-portal-payer',
          name: 'Simulated Health Plan',
          settings: channel(overrides) as never,
        },
        attempt: 1,
        at: new Date(),
      };
    },
    request(memberId) {
      const base = sampleRequest();
      return sampleRequest({ coverage: { ...base.coverage, memberId } });
    },
    async liveSubmissions(traceNumber) {
      return (await sim.submissions()).filter((s) => s.reference === traceNumber).length;
    },
    async close() {
      await browsers.close();
      await sim.stop();
      await db.close();
    },
  };
}
