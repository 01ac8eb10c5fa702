/**
 * The MLLP listener: HL7 v2 over TCP (optionally TLS). Each connection may carry many messages; they are
 * processed one after the other in arrival order, and each gets its ACK only after acceptInboundMessage
 * committed (a sender that got AA can forget the message; one that got nothing resends it, and the resend is
 * a duplicate). A frame larger than the limit is answered AE PAGW_INBOUND_TOO_LARGE and its first bytes are
 * recorded and dead-lettered (the rest is never buffered); junk between frames is ignored.
 *
 * Who may hold a connection and for how long is connection-policy.ts: a deadline for each frame, an idle
 * timeout that only whole frames reset, per-peer and global connection limits where a newcomer evicts the
 * stalest connection. Deadlines are checked every `sweepIntervalMs` against the injected clock. Peers may be
 * restricted to an allow-list that also names their tenant (peers.ts).
 */
import net from 'node:net';
import tls from 'node:tls';
import type { Clock } from '../../clock.ts';
import { describeError, type Logger } from '../../log/logger.ts';
import type { MllpMetrics } from '../../metrics/metrics.ts';
import type { InboundMessage, InboundResult } from '../accept.ts';
import { ackCodeFor, buildAck, buildTooLargeAck, buildTransportNack } from './ack.ts';
import {
  admit,
  type ConnectionState,
  defaultMllpConnectionLimits,
  expired,
  type MllpConnectionLimits,
} from './connection-policy.ts';
import { frame, MllpDecoder } from './framing.ts';
import { type MllpPeerRule, normalizeAddress, peerRouter } from './peers.ts';

export interface MllpTlsOptions {
  readonly cert: string | Buffer;
  readonly key: string | Buffer;
  /** CAs that client certificates must chain to (with requireClientCert). */
  readonly ca?: string | Buffer;
  /** Mutual TLS: a client without a certificate from `ca` is refused. */
  readonly requireClientCert?: boolean;
}

export interface MllpServerOptions extends Partial<MllpConnectionLimits> {
  readonly host: string;
  readonly port: number;
  /** The tenant every message on this listener belongs to (config.mllp.tenant), unless `peers` name one. */
  readonly tenant: string;
  /** acceptInboundMessage bound to its deps. */
  readonly accept: (message: InboundMessage) => Promise<InboundResult>;
  readonly logger: Logger;
  readonly clock: Clock;
  /** Largest frame accepted (default 1 MiB). */
  readonly maxMessageBytes?: number;
  /** How often deadlines are checked (default 1 s; they are measured with `clock`). */
  readonly sweepIntervalMs?: number;
  /** Allow-list of peers, each naming its tenant (config.mllp.peers); absent: any peer, `tenant`. */
  readonly peers?: readonly MllpPeerRule[];
  /** Serve MLLP over TLS. */
  readonly tls?: MllpTlsOptions;
  /** Counters on /metrics (src/metrics): connections, refusals, evictions, deadlines, oversize frames, ACKs. */
  readonly metrics?: MllpMetrics;
}

export interface MllpServer {
  readonly host: string;
  readonly port: number;
  /**
   * Open connections, in total and per peer address (what the limits are applied to), bytes read, and how
   * many connections the policy closed or refused, by reason, since the start.
   */
  stats(): {
    connections: number;
    byPeer: Record<string, number>;
    bytesReceived: number;
    closed: Readonly<Record<CloseReason, number>>;
  };
  /**
   * Closes the connections past a deadline at the clock's current time. The listener runs it every
   * `sweepIntervalMs`; a test that moves a manual clock calls it to see the effect at once.
   */
  checkDeadlines(): void;
  /** Stops accepting, lets each connection finish the message in hand, then closes. */
  stop(): Promise<void>;
}

export const defaultMllpMaxMessageBytes = 1024 * 1024;

/** Why the policy closed (or refused) a connection. */
export type CloseReason = 'evicted' | 'frame-deadline' | 'idle' | 'busy' | 'not-allowed';

/** At most one summary of closed connections per this long (an attack must not flood the logs). */
const summaryEveryMs = 60_000;

interface Connection extends ConnectionState {
  readonly socket: net.Socket;
  readonly label: string;
  readonly tenant: string;
}

export async function startMllpServer(options: MllpServerOptions): Promise<MllpServer> {
  const maxBytes = options.maxMessageBytes ?? defaultMllpMaxMessageBytes;
  const limits: MllpConnectionLimits = {
    maxConnections: options.maxConnections ?? defaultMllpConnectionLimits.maxConnections,
    maxConnectionsPerPeer: options.maxConnectionsPerPeer ?? defaultMllpConnectionLimits.maxConnectionsPerPeer,
    frameTimeoutMs: options.frameTimeoutMs ?? defaultMllpConnectionLimits.frameTimeoutMs,
    idleTimeoutMs: options.idleTimeoutMs ?? defaultMllpConnectionLimits.idleTimeoutMs,
  };
  const tenantOf = peerRouter(options.peers, options.tenant);
  const secureContext = options.tls
    ? tls.createSecureContext({ cert: options.tls.cert, key: options.tls.key, ca: options.tls.ca })
    : undefined;
  const connections = new Set<Connection>();
  const inFlight = new Set<Promise<void>>();
  const now = () => options.clock.now().getTime();
  let seq = 0;
  let bytesReceived = 0;
  let stopping = false;

  const closedBy: Record<CloseReason, number> = {
    evicted: 0,
    'frame-deadline': 0,
    idle: 0,
    busy: 0,
    'not-allowed': 0,
  };
  let summarized = { ...closedBy };
  let summarizedAt = now();
  // Each close at debug; a summary at warn at most once a minute, so that an attack cannot flood the logs.
  const metrics = options.metrics;
  const count = (reason: CloseReason, peer: string) => {
    closedBy[reason]++;
    if (reason === 'evicted') metrics?.evicted.inc();
    else if (reason === 'frame-deadline') metrics?.deadlines.inc({ deadline: 'frame' });
    else if (reason === 'idle') metrics?.deadlines.inc({ deadline: 'idle' });
    else metrics?.refused.inc({ reason: reason === 'busy' ? 'busy' : 'not_allowed' });
    options.logger.debug({ peer, reason }, 'mllp connection closed by the connection policy');
  };
  const summarize = (at: number) => {
    if (at - summarizedAt < summaryEveryMs) return;
    const delta = Object.fromEntries(
      (Object.keys(closedBy) as CloseReason[]).map((k) => [k, closedBy[k] - summarized[k]]),
    ) as Record<CloseReason, number>;
    if (Object.values(delta).some((n) => n > 0)) {
      options.logger.warn(
        { ...delta, connections: connections.size, sinceMs: at - summarizedAt },
        'mllp connections closed or refused by the connection policy (limits, deadlines, allow-list)',
      );
    }
    summarized = { ...closedBy };
    summarizedAt = at;
  };
  const close = (connection: Connection, reason: CloseReason) => {
    if (connection.socket.destroyed) return;
    count(reason, connection.label);
    connection.socket.destroy();
  };

  const serve = (connection: Connection, socket: net.Socket) => {
    const { label: peer } = connection;
    const decoder = new MllpDecoder(maxBytes);
    let queue: Promise<void> = Promise.resolve();

    const reply = (ack: string, code: string) => {
      connection.busy--;
      connection.lastProgressAt = now();
      metrics?.messages.inc({ ack: code });
      if (!socket.destroyed) socket.write(frame(ack));
    };

    const handle = async (payload: Buffer): Promise<void> => {
      const receivedAt = options.clock.now();
      try {
        const result = await options.accept({
          tenant: connection.tenant,
          format: 'hl7v2',
          raw: payload,
          sender: `mllp:${connection.peer}`,
          transport: 'mllp',
          receivedAt,
          actor: { id: `mllp:${peer}` },
        });
        options.logger.info(
          {
            peer,
            messageKey: result.messageKey,
            ack: ackCodeFor(result),
            duplicate: result.duplicate,
            cases: result.caseIds.length,
            errorCode: result.errorCode,
          },
          'mllp message processed',
        );
        reply(buildAck(payload, result, options.clock.now()), ackCodeFor(result));
      } catch (error) {
        // Nothing was committed: AR tells the sender to send it again later.
        options.logger.error({ peer, ...describeError(error) }, 'mllp message not processed');
        reply(
          buildTransportNack(
            payload,
            'the gateway could not record the message; send it again',
            options.clock.now(),
          ),
          'AR',
        );
      }
    };

    // A frame over the limit: its first bytes are recorded and dead-lettered like any refused message (the
    // operator sees what was refused and from whom), and the sender gets AE PAGW_INBOUND_TOO_LARGE.
    const handleTooLarge = async (head: Buffer, bytes: number): Promise<void> => {
      metrics?.framesTooLarge.inc();
      options.logger.warn({ peer, bytes, limit: maxBytes }, 'mllp frame too large');
      try {
        const result = await options.accept({
          tenant: connection.tenant,
          format: 'hl7v2',
          raw: head,
          sender: `mllp:${connection.peer}`,
          transport: 'mllp',
          receivedAt: options.clock.now(),
          actor: { id: `mllp:${peer}` },
          truncated: { atLeastBytes: bytes, limit: maxBytes, setting: 'mllp.maxMessageBytes' },
        });
        reply(buildAck(head, result, options.clock.now()), ackCodeFor(result));
      } catch (error) {
        // Not recorded, but resending the same frame cannot succeed: AE all the same, never AR (a loop).
        options.logger.error({ peer, ...describeError(error) }, 'mllp oversize frame not recorded');
        reply(buildTooLargeAck(head, bytes, maxBytes, options.clock.now()), 'AE');
      }
    };

    socket.on('data', (chunk: Buffer) => {
      bytesReceived += chunk.length;
      let ended = false;
      for (const event of decoder.push(chunk)) {
        if (event.kind === 'junk') {
          options.logger.debug({ peer, bytes: event.bytes }, 'mllp junk between frames ignored');
          continue;
        }
        // A whole frame arrived: that (not a byte) is progress.
        ended = true;
        connection.lastProgressAt = now();
        connection.busy++;
        const work = queue.then(() =>
          event.kind === 'oversize' ? handleTooLarge(event.head, event.bytes) : handle(event.payload),
        );
        inFlight.add(work);
        void work.finally(() => inFlight.delete(work));
        queue = work;
      }
      // The frame deadline runs from a frame's first byte; a frame that began in this chunk starts it now.
      if (!decoder.inFrame) connection.frameStartedAt = undefined;
      else if (connection.frameStartedAt === undefined || ended) connection.frameStartedAt = now();
    });
  };

  const server = net.createServer((raw) => {
    const address = normalizeAddress(raw.remoteAddress);
    const label = `${address || 'unknown'}:${raw.remotePort ?? 0}`;
    raw.on('error', (error) =>
      options.logger.warn({ peer: label, ...describeError(error) }, 'mllp connection error'),
    );
    if (stopping) {
      raw.destroy();
      return;
    }
    const tenant = tenantOf(address);
    if (tenant === undefined) {
      count('not-allowed', label); // not on mllp.peers
      raw.destroy();
      return;
    }
    const decision = admit([...connections], address, limits);
    if (!decision.admit) {
      count('busy', label); // every connection (of the peer, or of all) has a message in hand
      raw.destroy();
      return;
    }
    for (const victim of decision.evict) {
      close(victim as Connection, 'evicted');
      connections.delete(victim as Connection);
    }
    const openedAt = now();
    const socket = secureContext
      ? new tls.TLSSocket(raw, {
          isServer: true,
          secureContext,
          requestCert: options.tls?.requireClientCert ?? false,
          rejectUnauthorized: options.tls?.requireClientCert ?? false,
        })
      : raw;
    const connection: Connection = {
      seq: ++seq,
      peer: address,
      label,
      tenant,
      socket: raw,
      lastProgressAt: openedAt,
      // A TLS handshake has the frame deadline too.
      frameStartedAt: secureContext ? openedAt : undefined,
      busy: 0,
    };
    connections.add(connection);
    metrics?.connections.set(connections.size);
    raw.on('close', () => {
      connections.delete(connection);
      metrics?.connections.set(connections.size);
    });
    if (socket !== raw) {
      socket.on('error', (error) =>
        options.logger.warn({ peer: label, ...describeError(error) }, 'mllp tls connection error'),
      );
      socket.on('close', () => raw.destroy());
      (socket as tls.TLSSocket).once('secure', () => {
        connection.frameStartedAt = undefined;
        connection.lastProgressAt = now();
      });
    }
    serve(connection, socket);
  });

  const sweep = () => {
    const at = now();
    for (const connection of connections) {
      const reason = expired(connection, at, limits);
      if (reason) {
        close(connection, reason);
        connections.delete(connection);
      }
    }
    summarize(at);
  };
  const sweeper = setInterval(sweep, options.sweepIntervalMs ?? 1000);
  sweeper.unref();

  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port, options.host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  const address = server.address() as net.AddressInfo;

  return {
    host: address.address,
    port: address.port,
    stats() {
      const byPeer: Record<string, number> = {};
      for (const c of connections) byPeer[c.peer] = (byPeer[c.peer] ?? 0) + 1;
      return { connections: connections.size, byPeer, bytesReceived, closed: { ...closedBy } };
    },
    checkDeadlines: sweep,
    async stop() {
      if (stopping) return;
      stopping = true;
      clearInterval(sweeper);
      const closed = new Promise<void>((resolve) => server.close(() => resolve()));
      await Promise.allSettled([...inFlight]);
      for (const connection of connections) connection.socket.end();
      // Give peers a moment to close cleanly, then cut what is left.
      const forced = setTimeout(() => {
        for (const connection of connections) connection.socket.destroy();
      }, 2000);
      await closed;
      clearTimeout(forced);
    },
  };
}
