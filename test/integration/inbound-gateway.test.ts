/**
 * The composition root wires inbound orders: with config.mllp set, startGateway listens for MLLP, and its HTTP
 * API serves POST /orders/*; both land in the same database (PGlite in memory, or PostgreSQL with DATABASE_URL).
 * The listener's counters are on GET /metrics; a frame over mllp.maxMessageBytes is refused AE
 * PAGW_INBOUND_TOO_LARGE and its first bytes are recorded and dead-lettered.
 */
import net from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config/load-config.ts';
import { type RunningGateway, startGateway } from '../../src/gateway.ts';
import { readInboundRaw } from '../../src/inbound/accept.ts';
import { frame, MllpDecoder } from '../../src/inbound/index.ts';
import { createLogger } from '../../src/log/logger.ts';
import { createApiToken, type Database, withTransaction } from '../../src/store/index.ts';
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
    MLLP_MAX_MESSAGE_BYTES: '8192',
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

  it('dead-letters the first bytes of an MLLP frame over the limit, refuses it AE PAGW_INBOUND_TOO_LARGE, and counts it on /metrics', async () => {
    const huge = Buffer.concat([
      Buffer.from('MSH|^~\\&|BIG|FAC|PAGW|PAGW|20260101000000||ORM^O01|WIRED-HUGE-1|P|2.5.1\rNTE|1||'),
      Buffer.alloc(20_000, 'A'),
    ]);
    for (let attempt = 1; attempt <= 2; attempt++) {
      const ack = await sendMllp(gateway.mllp!.port, huge);
      expect(ack.split('\r')[1]).toMatch(/^MSA\|AE\|WIRED-HUGE-1\|/);
      expect(ack).toContain('PAGW_INBOUND_TOO_LARGE');
    }
    // Sent twice, recorded and dead-lettered once (the second is a duplicate of the first's bytes).
    const { rows: letters } = await gateway.db.pool.query<{ value: Buffer; headers: Record<string, string> }>(
      `SELECT value, headers FROM outbox WHERE tenant_id = 'wired-clinic' AND topic = 'pa.deadletter.v1'
          AND headers->>'pagw-dlq-error-code' = 'PAGW_INBOUND_TOO_LARGE'`,
    );
    expect(letters).toHaveLength(1);
    expect(letters[0]!.value.length).toBe(4096);
    expect(letters[0]!.value.toString('latin1')).toMatch(/^MSH\|\^~\\&\|BIG\|FAC\|.*WIRED-HUGE-1/);
    expect(letters[0]!.headers).toMatchObject({
      'pagw-source-transport': 'mllp',
      'pagw-dlq-truncated': expect.stringMatching(/^first 4096 of at least \d+ bytes$/),
    });
    const { rows: recorded } = await gateway.db.pool.query<{ message_key: string; outcome: string }>(
      `SELECT message_key, outcome FROM inbound_messages WHERE tenant_id = 'wired-clinic' AND message_key LIKE 'hl7v2:too-large:%'`,
    );
    expect(recorded.map((r) => r.outcome)).toEqual(['rejected']);
    // The kept bytes are sealed at rest like every inbound message's: opened through the audited path.
    const kept = await withTransaction(gateway.db.pool, (tx) =>
      readInboundRaw(
        tx,
        gateway.vault.phi,
        { tenant: 'wired-clinic', reader: 'system:test' },
        recorded[0]!.message_key,
      ),
    );
    expect(kept?.length).toBe(4096);
    expect(kept?.toString('latin1')).toMatch(/^MSH\|\^~\\&\|BIG\|/);

    const { token } = await createApiToken(gateway.db.pool, {
      tenant: 'ops',
      roles: ['admin'],
      at: new Date(),
    });
    const metrics = await (
      await fetch(`${gateway.url}/metrics`, { headers: { authorization: `Bearer ${token}` } })
    ).text();
    expect(metrics).toMatch(/^pagw_mllp_frames_too_large_total 2$/m);
    expect(metrics).toMatch(/^pagw_mllp_messages_total\{ack="AE"\} 2$/m);
    expect(metrics).toMatch(/^pagw_mllp_messages_total\{ack="AA"\} 1$/m);
    for (const name of [
      'pagw_mllp_connections',
      'pagw_mllp_connections_refused_total',
      'pagw_mllp_connections_evicted_total',
      'pagw_mllp_deadlines_total',
      'pagw_payer_calls_in_flight',
      'pagw_payer_calls_waiting',
    ]) {
      expect(metrics).toContain(`# TYPE ${name} `);
    }
    // The pipeline's in-flight steps and its queue depth per lane (read from the timers table: a number, not NaN).
    for (const lane of ['payer', 'local']) {
      expect(metrics).toMatch(new RegExp(`^pagw_steps_in_flight\\{lane="${lane}"\\} \\d+$`, 'm'));
      expect(metrics).toMatch(new RegExp(`^pagw_steps_due\\{lane="${lane}"\\} \\d+$`, 'm'));
    }
  });
});
