/**
 * The MLLP listener: HL7 v2 over TCP. Each connection may carry many messages; they are processed one after
 * the other in arrival order, and each gets its ACK only after acceptInboundMessage committed (a sender
 * that got AA can forget the message; one that got nothing resends it, and the resend is a duplicate).
 * Frames larger than the limit are answered AR and dropped; junk between frames is ignored.
 */
import net from 'node:net';
import type { Clock } from '../../clock.ts';
import { describeError, type Logger } from '../../log/logger.ts';
import type { InboundMessage, InboundResult } from '../accept.ts';
import { ackCodeFor, buildAck, buildTransportNack } from './ack.ts';
import { frame, MllpDecoder } from './framing.ts';

export interface MllpServerOptions {
  readonly host: string;
  readonly port: number;
  /** The tenant every message on this listener belongs to (config.mllp.tenant). */
  readonly tenant: string;
  /** acceptInboundMessage bound to its deps. */
  readonly accept: (message: InboundMessage) => Promise<InboundResult>;
  readonly logger: Logger;
  readonly clock: Clock;
  /** Largest frame accepted (default 1 MiB). */
  readonly maxMessageBytes?: number;
  /** A connection idle this long is closed (default 10 minutes). */
  readonly idleTimeoutMs?: number;
  /** Connections served at once; more are refused by the OS backlog (default 256). */
  readonly maxConnections?: number;
}

export interface MllpServer {
  readonly host: string;
  readonly port: number;
  /** Stops accepting, lets each connection finish the message in hand, then closes. */
  stop(): Promise<void>;
}

export const defaultMllpMaxMessageBytes = 1024 * 1024;

export async function startMllpServer(options: MllpServerOptions): Promise<MllpServer> {
  const maxBytes = options.maxMessageBytes ?? defaultMllpMaxMessageBytes;
  const sockets = new Set<net.Socket>();
  const inFlight = new Set<Promise<void>>();
  let stopping = false;

  const server = net.createServer((socket) => {
    sockets.add(socket);
    const peer = `${socket.remoteAddress ?? 'unknown'}:${socket.remotePort ?? 0}`;
    const decoder = new MllpDecoder(maxBytes);
    let queue: Promise<void> = Promise.resolve();
    socket.setTimeout(options.idleTimeoutMs ?? 600_000, () => socket.end());
    socket.on('error', (error) =>
      options.logger.warn({ peer, ...describeError(error) }, 'mllp connection error'),
    );
    socket.on('close', () => sockets.delete(socket));

    const reply = (ack: string) => {
      if (!socket.destroyed) socket.write(frame(ack));
    };

    const handle = async (payload: Buffer): Promise<void> => {
      const receivedAt = options.clock.now();
      try {
        const result = await options.accept({
          tenant: options.tenant,
          format: 'hl7v2',
          raw: payload,
          sender: `mllp:${socket.remoteAddress ?? 'unknown'}`,
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
        reply(buildAck(payload, result, options.clock.now()));
      } catch (error) {
        // Nothing was committed: AR tells the sender to send it again later.
        options.logger.error({ peer, ...describeError(error) }, 'mllp message not processed');
        reply(
          buildTransportNack(
            payload,
            'the gateway could not record the message; send it again',
            options.clock.now(),
          ),
        );
      }
    };

    socket.on('data', (chunk: Buffer) => {
      for (const event of decoder.push(chunk)) {
        if (event.kind === 'junk') {
          options.logger.debug({ peer, bytes: event.bytes }, 'mllp junk between frames ignored');
        } else if (event.kind === 'oversize') {
          options.logger.warn({ peer, bytes: event.bytes, limit: maxBytes }, 'mllp frame too large');
          queue = queue.then(() =>
            reply(
              buildTransportNack(
                undefined,
                `the message exceeds ${maxBytes} bytes (PAGW_INBOUND_TOO_LARGE)`,
                options.clock.now(),
              ),
            ),
          );
        } else {
          const work = queue.then(() => handle(event.payload));
          inFlight.add(work);
          void work.finally(() => inFlight.delete(work));
          queue = work;
        }
      }
    });
  });

  server.maxConnections = options.maxConnections ?? 256;
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
    async stop() {
      if (stopping) return;
      stopping = true;
      const closed = new Promise<void>((resolve) => server.close(() => resolve()));
      await Promise.allSettled([...inFlight]);
      for (const socket of sockets) socket.end();
      // Give peers a moment to close cleanly, then cut what is left.
      const forced = setTimeout(() => {
        for (const socket of sockets) socket.destroy();
      }, 2000);
      await closed;
      clearTimeout(forced);
    },
  };
}
