/**
 * The MLLP listener under attack and its connection policy, over real TCP with a real database (issue #10
 * item 5): hundreds of connections trickling one byte at a time from many addresses no longer lock out a
 * legitimate sender, who still gets its ACK AA and its case; a frame must arrive whole within its deadline;
 * trickled bytes do not extend the idle timeout; per-peer and global limits evict the stalest connection,
 * never one whose ACK is owed; an allow-list names each peer's tenant; TLS.
 *
 * Deadlines run on a manual clock that the test moves, then asks the listener to check them
 * (`checkDeadlines`, what its sweep does every second): nothing here depends on how fast the machine is.
 * Peers are told apart by their local address (127.0.0.x: all of 127/8 is loopback on Linux).
 */

import { readFileSync } from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import tls from 'node:tls';
import { HL7Message } from 'hl7v2';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { ManualClock } from '../../src/clock.ts';
import { loadConfig } from '../../src/config/load-config.ts';
import {
  acceptInboundMessage,
  frame,
  type InboundDeps,
  type InboundMessage,
  type InboundResult,
  MllpDecoder,
  type MllpServer,
  type MllpServerOptions,
  mllpOptionsFromConfig,
  startMllpServer,
} from '../../src/inbound/index.ts';
import { createLogger } from '../../src/log/logger.ts';
import { createMetrics, type GatewayMetrics } from '../../src/metrics/index.ts';
import type { Database } from '../../src/store/index.ts';
import { openTestDatabase, testDatabaseKind } from '../helpers/database.ts';
import { buildOrmOrder } from '../helpers/hl7-orders.ts';
import { countRows, waitFor } from '../helpers/store.ts';
import { testVault } from '../helpers/vault.ts';

const tenant = 'mllp-guard';
const logger = createLogger({ level: 'silent' });
const tlsDir = path.join(import.meta.dirname, '..', 'fixtures', 'tls');
let db: Database;
let deps: InboundDeps;
const servers: MllpServer[] = [];
const sockets: net.Socket[] = [];

beforeAll(async () => {
  db = await openTestDatabase({ poolSize: 6 });
});
afterEach(async () => {
  for (const socket of sockets.splice(0)) socket.destroy();
  await Promise.all(servers.splice(0).map((s) => s.stop()));
});
afterAll(async () => {
  await db?.close();
});

async function listen(
  clock: ManualClock,
  options: Partial<MllpServerOptions> = {},
  accept?: (message: InboundMessage) => Promise<InboundResult>,
): Promise<MllpServer> {
  deps = { db, clock, logger, deadLetterTopic: 'pa.deadletter.v1', phi: testVault(db).phi };
  const metrics = createMetrics({ processMetrics: false });
  const server = await startMllpServer({
    host: '127.0.0.1',
    port: 0,
    tenant,
    accept: accept ?? ((message) => acceptInboundMessage(deps, message)),
    logger,
    clock,
    sweepIntervalMs: 60_000, // the test runs the checks itself, after moving the clock
    metrics: metrics.mllp,
    ...options,
  });
  servers.push(server);
  metricsOf.set(server, metrics);
  return server;
}

const metricsOf = new WeakMap<MllpServer, GatewayMetrics>();

/** The value of an MLLP counter on the listener's /metrics registry (0 when never counted). */
async function counted(
  server: MllpServer,
  name: string,
  labels: Record<string, string> = {},
): Promise<number> {
  const metric = await metricsOf.get(server)!.registry.getSingleMetric(name)!.get();
  const match = metric.values.find((v) => Object.entries(labels).every(([k, l]) => v.labels[k] === l));
  return match?.value ?? 0;
}

/** A client socket from a given loopback address; resolves once connected (or closed: refused/evicted). */
function open(server: MllpServer, from = '127.0.0.1'): Promise<net.Socket> {
  return new Promise((resolve) => {
    const socket = net.connect({ port: server.port, host: '127.0.0.1', localAddress: from });
    sockets.push(socket);
    socket.on('error', () => {}); // evicted or refused connections are reset: expected here
    socket.once('connect', () => resolve(socket));
    socket.once('close', () => resolve(socket));
  });
}

const closed = (socket: net.Socket) => socket.destroyed || socket.readyState === 'closed';

/** Sends one order and resolves with its ACK's MSA-1. */
function sendOrder(socket: net.Socket, messageId: string): Promise<string> {
  const decoder = new MllpDecoder(1024 * 1024);
  return new Promise((resolve, reject) => {
    const onData = (chunk: Buffer) => {
      for (const event of decoder.push(chunk)) {
        if (event.kind !== 'message') continue;
        socket.off('data', onData);
        resolve(
          String(HL7Message.parse(event.payload.toString('utf8')).getSegment('MSA')!.field(1).getValue()),
        );
      }
    };
    socket.on('data', onData);
    socket.once('close', () => reject(new Error(`connection closed before the ACK of ${messageId}`)));
    socket.write(frame(buildOrmOrder({ messageId, memberId: 'GUARD-MEMBER', cpt: '70553' })));
  });
}

/** Bytes on the wire of sendOrder's frame: the listener has it whole once it has read this many. */
const orderFrameBytes = (messageId: string) =>
  frame(buildOrmOrder({ messageId, memberId: 'GUARD-MEMBER', cpt: '70553' })).length;

const casesFor = (messageId: string, forTenant = tenant) =>
  countRows(db.pool, 'inbound_messages', `tenant_id = $1 AND message_key LIKE $2 AND outcome = 'accepted'`, [
    forTenant,
    `%:${messageId}`,
  ]);

describe(`MLLP connection guard (${testDatabaseKind()})`, () => {
  it('300 trickling connections from 60 addresses do not lock out a sender: it gets AA and its case', async () => {
    const clock = new ManualClock('2026-03-05T10:00:00Z');
    const server = await listen(clock); // the default limits: 256 connections, 16 per peer
    const tricklers: net.Socket[] = [];
    for (let i = 0; i < 300; i++) {
      const socket = await open(server, `127.0.0.${2 + (i % 60)}`);
      if (!closed(socket)) socket.write(Buffer.from([0x0b, 0x4d])); // VT, 'M': a frame begun, never ended
      tricklers.push(socket);
    }
    // Keep trickling a byte per connection while the sender works.
    const trickle = setInterval(() => {
      for (const socket of tricklers) if (!closed(socket)) socket.write('S');
    }, 100);
    try {
      await waitFor(() => server.stats().connections <= 256, { what: 'the cap to hold' });
      const sender = await open(server, '127.0.0.1');
      expect(closed(sender)).toBe(false);
      expect(await sendOrder(sender, 'GUARD-LEGIT-1')).toBe('AA');
      expect(await casesFor('GUARD-LEGIT-1')).toBe(1);
      // Its connection stays usable.
      expect(await sendOrder(sender, 'GUARD-LEGIT-2')).toBe('AA');
      const stats = server.stats();
      expect(stats.connections).toBeLessThanOrEqual(256);
      expect(Math.max(...Object.values(stats.byPeer))).toBeLessThanOrEqual(16);
      await waitFor(() => tricklers.filter(closed).length >= 300 - 255, {
        what: 'the evicted tricklers closed',
      });
      expect(server.stats().closed.evicted).toBeGreaterThanOrEqual(300 - 255);
    } finally {
      clearInterval(trickle);
    }
  });

  it('closes a frame that is not whole within frameTimeoutMs, however it trickles; idle counts from the last whole frame', async () => {
    const clock = new ManualClock('2026-03-05T10:00:00Z');
    const server = await listen(clock, { frameTimeoutMs: 5_000, idleTimeoutMs: 30_000 });
    const trickler = await open(server, '127.0.0.2');
    const junk = await open(server, '127.0.0.3');
    const silent = await open(server, '127.0.0.4');
    const sender = await open(server, '127.0.0.5');
    // The frame starts (VT) at clock time 0: the listener must have read it before the clock moves.
    const before = server.stats().bytesReceived;
    trickler.write(Buffer.from([0x0b, 0x4d]));
    await waitFor(() => server.stats().bytesReceived >= before + 2, { what: 'the frame start' });
    expect(await sendOrder(sender, 'GUARD-DEADLINE-1')).toBe('AA');
    let bytes = server.stats().bytesReceived;
    for (let second = 1; second <= 5; second++) {
      clock.advance(1_000);
      trickler.write('S');
      junk.write('x');
      bytes += 2;
      const expected = bytes;
      await waitFor(() => server.stats().bytesReceived >= expected, { what: 'the trickled bytes' });
      server.checkDeadlines();
    }
    expect(server.stats().connections).toBe(4); // 5 s: the frame deadline is not passed yet
    clock.advance(1_000);
    server.checkDeadlines();
    await waitFor(() => closed(trickler), { what: 'the trickler closed at its frame deadline' });
    expect(server.stats().closed).toMatchObject({ 'frame-deadline': 1, idle: 0 });
    expect(await counted(server, 'pagw_mllp_deadlines_total', { deadline: 'frame' })).toBe(1);
    expect([junk, silent, sender].map(closed)).toEqual([false, false, false]);

    // At 20 s the sender delivers another frame: its idle time starts again; junk bytes do not do that.
    clock.advance(14_000);
    expect(await sendOrder(sender, 'GUARD-DEADLINE-2')).toBe('AA');
    clock.advance(11_000); // 31 s after the start, 11 s after the sender's last ACK
    junk.write('x');
    bytes += 1;
    const expected = bytes;
    await waitFor(() => server.stats().bytesReceived >= expected, { what: 'the junk byte' });
    server.checkDeadlines();
    await waitFor(() => closed(junk) && closed(silent), { what: 'idle connections closed' });
    expect(closed(sender)).toBe(false);
    clock.advance(20_000);
    server.checkDeadlines();
    await waitFor(() => closed(sender), { what: 'the sender closed once idle for 30 s' });
    expect(await counted(server, 'pagw_mllp_deadlines_total', { deadline: 'idle' })).toBe(3);
    expect(await counted(server, 'pagw_mllp_messages_total', { ack: 'AA' })).toBe(2);
  });

  it('at the global cap a newcomer evicts the stalest idle connection, never one whose ACK is owed; all busy: refused', async () => {
    const clock = new ManualClock('2026-03-05T10:00:00Z');
    let release!: () => void;
    const gate = new Promise<void>((resolve) => {
      release = resolve;
    });
    const server = await listen(clock, { maxConnections: 3, maxConnectionsPerPeer: 10 }, async (message) => {
      if (message.raw.includes('GUARD-GATED')) await gate;
      return acceptInboundMessage(deps, message);
    });
    const busy = await open(server, '127.0.0.2');
    const gated = sendOrder(busy, 'GUARD-GATED-1');
    try {
      await waitFor(() => server.stats().bytesReceived >= orderFrameBytes('GUARD-GATED-1'), {
        what: 'the gated message, whole',
      });
      clock.advance(1_000);
      const idleOld = await open(server, '127.0.0.3');
      clock.advance(1_000);
      const idleNew = await open(server, '127.0.0.4');
      clock.advance(1_000);
      const newcomer = await open(server, '127.0.0.5');
      await waitFor(() => closed(idleOld), { what: 'the stalest idle connection evicted' });
      expect([busy, idleNew, newcomer].map(closed)).toEqual([false, false, false]);
      expect(await counted(server, 'pagw_mllp_connections_evicted_total')).toBe(1);
      expect(await counted(server, 'pagw_mllp_connections')).toBe(3);
      expect(await sendOrder(newcomer, 'GUARD-NEWCOMER-1')).toBe('AA');
    } finally {
      release(); // whatever happened, the listener must not wait on the gate when it stops
    }
    expect(await gated).toBe('AA');
    expect(await casesFor('GUARD-GATED-1')).toBe(1);
  });

  it('refuses a newcomer only when every connection is busy', async () => {
    const clock = new ManualClock('2026-03-05T10:00:00Z');
    let release!: () => void;
    const gate = new Promise<void>((resolve) => {
      release = resolve;
    });
    const server = await listen(clock, { maxConnections: 2 }, async (message) => {
      await gate;
      return acceptInboundMessage(deps, message);
    });
    const a = await open(server, '127.0.0.2');
    const b = await open(server, '127.0.0.3');
    const answers = [sendOrder(a, 'GUARD-BUSY-A'), sendOrder(b, 'GUARD-BUSY-B')];
    try {
      const both = orderFrameBytes('GUARD-BUSY-A') + orderFrameBytes('GUARD-BUSY-B');
      await waitFor(() => server.stats().bytesReceived >= both, { what: 'both messages in, whole' });
      const refused = await open(server, '127.0.0.4');
      await waitFor(() => closed(refused), { what: 'the newcomer refused' });
      expect(server.stats().closed).toMatchObject({ busy: 1, evicted: 0 });
      expect(await counted(server, 'pagw_mllp_connections_refused_total', { reason: 'busy' })).toBe(1);
    } finally {
      release();
    }
    expect(await Promise.all(answers)).toEqual(['AA', 'AA']);
  });

  it('holds a peer to maxConnectionsPerPeer by closing its own stalest connections', async () => {
    const clock = new ManualClock('2026-03-05T10:00:00Z');
    const server = await listen(clock, { maxConnectionsPerPeer: 3 });
    const other = await open(server, '127.0.0.2');
    const mine: net.Socket[] = [];
    for (let i = 0; i < 5; i++) {
      clock.advance(1_000);
      mine.push(await open(server, '127.0.0.9'));
      await waitFor(() => (server.stats().byPeer['127.0.0.9'] ?? 0) === Math.min(i + 1, 3), {
        what: `connection ${i + 1} accounted`,
      });
    }
    await waitFor(() => closed(mine[0]!) && closed(mine[1]!), { what: 'the two oldest closed' });
    expect(mine.slice(2).map(closed)).toEqual([false, false, false]);
    expect(closed(other)).toBe(false);
    expect(await sendOrder(mine[4]!, 'GUARD-PEER-1')).toBe('AA');
  });

  it('admits only allow-listed peers, and files their messages under the tenant their entry names', async () => {
    const clock = new ManualClock('2026-03-05T10:00:00Z');
    const server = await listen(clock, {
      peers: [
        { tenant: 'mllp-guard-a', allow: ['127.0.0.1'] },
        { tenant: 'mllp-guard-b', allow: ['127.0.0.16/28'] },
      ],
    });
    expect(await sendOrder(await open(server, '127.0.0.1'), 'GUARD-PEERS-A')).toBe('AA');
    expect(await sendOrder(await open(server, '127.0.0.20'), 'GUARD-PEERS-B')).toBe('AA');
    expect(await casesFor('GUARD-PEERS-A', 'mllp-guard-a')).toBe(1);
    expect(await casesFor('GUARD-PEERS-B', 'mllp-guard-b')).toBe(1);
    const stranger = await open(server, '127.0.0.3');
    await waitFor(() => closed(stranger), { what: 'the stranger refused' });
    expect(server.stats().byPeer['127.0.0.3']).toBeUndefined();
    expect(server.stats().closed['not-allowed']).toBe(1);
    expect(await counted(server, 'pagw_mllp_connections_refused_total', { reason: 'not_allowed' })).toBe(1);
    await expect(listen(clock, { peers: [{ tenant: 'x', allow: ['10.0.0.0/99'] }] })).rejects.toThrow(
      /not an IP address or CIDR range/,
    );
  });

  it('serves MLLP over TLS from config (cert and key files); a plain-TCP client gets nothing', async () => {
    const clock = new ManualClock('2026-03-05T10:00:00Z');
    const config = loadConfig({
      env: {
        MLLP_PORT: '0',
        MLLP_TENANT: tenant,
        MLLP_TLS_CERT_FILE: path.join(tlsDir, 'mllp-test.crt'),
        MLLP_TLS_KEY_FILE: path.join(tlsDir, 'mllp-test.key'),
        MLLP_FRAME_TIMEOUT_MS: '5000',
      },
    });
    const options = mllpOptionsFromConfig(config.mllp!);
    expect(options.frameTimeoutMs).toBe(5_000);
    const server = await listen(clock, { ...options, host: '127.0.0.1' });
    const secure = await new Promise<tls.TLSSocket>((resolve, reject) => {
      const socket = tls.connect({
        port: server.port,
        host: '127.0.0.1',
        ca: readFileSync(path.join(tlsDir, 'mllp-test.crt')),
        servername: 'localhost',
      });
      sockets.push(socket);
      socket.once('secureConnect', () => resolve(socket));
      socket.once('error', reject);
    });
    expect(await sendOrder(secure, 'GUARD-TLS-1')).toBe('AA');
    // Plain MLLP to the TLS port: no ACK; the handshake never completes and its deadline closes it.
    const plain = await open(server, '127.0.0.2');
    const answer = sendOrder(plain, 'GUARD-TLS-PLAIN').catch((error: Error) => error.message);
    clock.advance(6_000);
    server.checkDeadlines();
    expect(await answer).toMatch(/closed before the ACK/);
    expect(await casesFor('GUARD-TLS-PLAIN')).toBe(0);
  });
});
