/**
 * Runs a real gateway in-process (the same startGateway as `pagw start`) on this test run's database kind:
 * a fresh on-disk embedded PGlite, or a fresh schema on PostgreSQL when DATABASE_URL is set.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { type Clock, systemClock } from '../../src/clock.ts';
import { type GatewayConfig, loadConfig } from '../../src/config/load-config.ts';
import { type RunningGateway, startGateway } from '../../src/gateway.ts';
import { createLogger, type Logger } from '../../src/log/logger.ts';
import { createApiToken, openStore } from '../../src/store/index.ts';
import { openVault } from '../../src/vault/index.ts';
import { databaseUrlOf } from './cli.ts';
import { openTestDatabase } from './database.ts';

export interface TestGateway {
  gateway: RunningGateway;
  /** A token for tenant clinic-a with the ehr and reviewer roles. */
  token: string;
  get(path: string): Promise<Response>;
  postHl7(message: string): Promise<Response>;
  stop(): Promise<void>;
}

export interface SeedSecret {
  readonly tenant: string;
  readonly name: string;
  readonly value: string;
  readonly kind?: 'value' | 'totp';
}

/**
 * Stores secrets in the vault of the database `config` names, before a gateway starts there (secrets the gateway
 * reads at start, such as the SMTP login, must be in place first).
 */
export async function seedVault(
  config: Readonly<GatewayConfig>,
  secrets: readonly SeedSecret[],
): Promise<void> {
  const db = await openStore({ databaseUrl: config.databaseUrl, dataDir: config.dataDir });
  try {
    const vault = await openVault({ config, db, clock: systemClock });
    for (const secret of secrets) await vault.set({ ...secret, actor: { id: 'system:test-setup' } });
  } finally {
    await db.close();
  }
}

export async function startTestGateway(
  options: {
    env?: Record<string, string>;
    clock?: Clock;
    secrets?: readonly SeedSecret[];
    /** Where the gateway logs (a capture, for tests that grep logs); silent by default. */
    logger?: Logger;
  } = {},
): Promise<TestGateway> {
  const cleanups: Array<() => Promise<void> | void> = [];
  const env: Record<string, string> = {
    PORT: '0',
    LOG_LEVEL: process.env.TEST_LOG_LEVEL ?? 'silent',
    POLL_INTERVAL_MS: '50',
    ...options.env,
  };
  // A data directory of its own on both databases: the embedded database lives there, and on both the vault's
  // default master key file (vault.key).
  const dir = mkdtempSync(path.join(tmpdir(), 'pagw-gw-'));
  cleanups.push(() => rmSync(dir, { recursive: true, force: true }));
  env.DATA_DIR = options.env?.DATA_DIR ?? dir;
  if (process.env.DATABASE_URL) {
    const schemaDb = await openTestDatabase();
    cleanups.push(() => schemaDb.close());
    env.DATABASE_URL = databaseUrlOf(schemaDb);
  }
  const config = loadConfig({ env });
  if (options.secrets?.length) await seedVault(config, options.secrets);
  const gateway = await startGateway(
    config,
    options.logger ?? createLogger({ level: config.logLevel }),
    options.clock,
  );
  cleanups.push(() => gateway.stop());
  const { token } = await createApiToken(gateway.db.pool, {
    tenant: 'clinic-a',
    roles: ['ehr', 'reviewer'],
    label: 'test-ehr',
    at: new Date(),
  });
  const headers = { authorization: `Bearer ${token}` };
  return {
    gateway,
    token,
    get: (p) => fetch(`${gateway.url}${p}`, { headers }),
    postHl7: (message) =>
      fetch(`${gateway.url}/orders/hl7v2`, {
        method: 'POST',
        headers: { ...headers, 'content-type': 'x-application/hl7-v2+er7' },
        body: message,
      }),
    async stop() {
      for (const cleanup of cleanups.reverse()) await cleanup();
    },
  };
}
