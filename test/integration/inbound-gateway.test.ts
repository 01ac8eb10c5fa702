/**
 * The composition root wires inbound orders: with config.mllp set, startGateway listens for MLLP, and its HTTP
 * API serves POST /orders/*; both land in the same database (PGlite in memory, or PostgreSQL with DATABASE_URL).
 */
import net from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config/load-config.ts';
import { type RunningGateway, startGateway } from '../../src/gateway.ts';
import { frame, MllpDecoder } from '../../src/inbound/index.ts';
import { createLogger } from '../../src/log/logger.ts';
import { createApiToken, type Database } from '../../src/store/index.ts';
import { readFixture } from '../conformance/mapping-cases.ts';
import { databaseUrlOf } from '../helpers/cli.ts';
import { openTestDatabase, testDatabaseKind } from '../helpers/database.ts';
import { countRows } from '../helpers/store.ts';

let schemaDb: Database | undefined;
let gateway: RunningGateway;

beforeAll(async () => {
  const env: Record<string, string> = {
    PORT: '0',
    MLLP_PORT: '0',
    MLLP_TENANT: 'wired-clinic',
    LOG_LEVEL: 'silent',
  };
  if (testDatabaseKind() === 'postgres') {
    schemaDb = await openTestDatabase();
    env.DATABASE_URL = databaseUrlOf(schemaDb);
  } else {
    env.DATA_DIR = 'memory://';
  }
  gateway = await startGateway(loadConfig({ env }), createLogger({ level: 'silent' }));
});
afterAll(async () => {
  await gateway?.stop();
  await schemaDb?.close();
});

function sendMllp(port: number, message: Buffer): Promise<string> {
  return new Promise((resolve, reject) => {
    const decoder = new MllpDecoder(1 << 20);
    const socket = net.connect(port, '127.0.0.1', () => socket.write(frame(message)));
    socket.on('data', (chunk: Buffer) => {
      const ack = decoder.push(chunk).find((e) => e.kind === 'message');
      if (ack && ack.kind === 'message') {
        socket.end();
        resolve(ack.payload.toString('utf8'));
      }
    });
    socket.on('error', reject);
  });
}

describe(`gateway inbound wiring (${testDatabaseKind()})`, () => {
  it('accepts an order over MLLP for config.mllp.tenant', async () => {
    expect(gateway.mllp?.port).toBeGreaterThan(0);
    const ack = await sendMllp(gateway.mllp!.port, readFixture('hl7v2/synthetic_ORM-O01_rxo-ndc.hl7'));
    expect(ack.split('\r')[1]).toMatch(/^MSA\|AA\|RX-1\|/);
    expect(await countRows(gateway.db.pool, 'cases', `tenant_id = 'wired-clinic'`)).toBe(1);
  });

  it('serves POST /orders/fhir on its HTTP API', async () => {
    const { token } = await createApiToken(gateway.db.pool, {
      tenant: 'wired-clinic',
      roles: ['ehr'],
      at: new Date(),
    });
    const res = await fetch(`${gateway.url}/orders/fhir`, {
      method: 'POST',
      headers: { authorization: `Bearer ${token}`, 'content-type': 'application/fhir+json' },
      body: new Uint8Array(readFixture('fhir/synthetic_medicationrequest-contained.json')),
    });
    expect(res.status).toBe(201);
    expect(await countRows(gateway.db.pool, 'cases', `tenant_id = 'wired-clinic'`)).toBe(2);
  });
});
