/**
 * Runs a real gateway in-process (the same startGateway as `pagw start`) on this test run's database kind:
 * a fresh on-disk embedded PGlite, or a fresh schema on PostgreSQL when DATABASE_URL is set.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type { Clock } from '../../src/clock.ts';
import { loadConfig } from '../../src/config/load-config.ts';
import { type RunningGateway, startGateway } from '../../src/gateway.ts';
import { createLogger } from '../../src/log/logger.ts';
import { createApiToken } from '../../src/store/index.ts';
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

export async function startTestGateway(
  options: { env?: Record<string, string>; clock?: Clock } = {},
): Promise<TestGateway> {
  const cleanups: Array<() => Promise<void> | void> = [];
  const env: Record<string, string> = {
    PORT: '0',
    LOG_LEVEL: process.env.TEST_LOG_LEVEL ?? 'silent',
    POLL_INTERVAL_MS: '50',
    ...options.env,
  };
  if (process.env.DATABASE_URL) {
    const schemaDb = await openTestDatabase();
    cleanups.push(() => schemaDb.close());
    env.DATABASE_URL = databaseUrlOf(schemaDb);
  } else {
    const dir = mkdtempSync(path.join(tmpdir(), 'pagw-gw-'));
    cleanups.push(() => rmSync(dir, { recursive: true, force: true }));
    env.DATA_DIR = dir;
  }
  const config = loadConfig({ env });
  const gateway = await startGateway(config, createLogger({ level: config.logLevel }), options.clock);
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
