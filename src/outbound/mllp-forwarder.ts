/**
 * Delivers HL7 v2 status messages to a clinic's MLLP listener (an adapter: it opens TCP connections).
 * outboundFor writes the message to the clinic's topic with `pagw-mllp-destination: host:port`; a subscription
 * on that topic runs createMllpForwardHandler, which sends each message in one MLLP frame and waits for the
 * receiver's ACK. AA/CA resolves; AR/AE/CR/CE is a permanent refusal; no connection, a dropped connection or no ACK
 * in time can be retried (the bus retries with backoff). Errors name the destination and MSA-1 only, no content.
 * @see HL7 v2.5.1 Appendix C (MLLP release 1: <VT> message <FS><CR>)
 */
import net from 'node:net';
import type { IncomingMessage, MessageHandler } from '../bus/port.ts';
import { GatewayError } from '../errors/index.ts';
import { OutboundHeader } from './outbound.ts';

const VT = 0x0b;
const FS = 0x1c;
const CR = 0x0d;

/** Delivering over MLLP failed; `retriable` says whether to try again. */
export class MllpDeliveryError extends GatewayError {}

export interface MllpSendOptions {
  readonly host: string;
  readonly port: number;
  /** ER7 text, segments separated by CR. */
  readonly message: string;
  /** Connect + ACK timeout (default 10 s). */
  readonly timeoutMs?: number;
}

export interface MllpAck {
  /** MSA-1 of the receiver's ACK. */
  readonly code: string;
  /** The ACK as received (ER7). */
  readonly er7: string;
}

function ackCode(er7: string): string {
  const msa = er7.split(/\r\n|\r|\n/).find((segment) => segment.startsWith('MSA'));
  const separator = er7.startsWith('MSH') ? er7.charAt(3) : '|';
  return msa?.split(separator)[1] ?? '';
}

/** Sends one message in one MLLP frame and resolves with the receiver's ACK; throws MllpDeliveryError. */
export async function sendMllp(options: MllpSendOptions): Promise<MllpAck> {
  const ack = await exchangeMllp(options);
  if (ack.code === 'AA' || ack.code === 'CA') return ack;
  throw new MllpDeliveryError(
    'PAGW_MLLP_DELIVERY_REJECTED',
    `The MLLP receiver at ${options.host}:${options.port} answered ${ack.code || 'without MSA-1'}`,
  );
}

/**
 * Sends one message in one MLLP frame and resolves with whatever ACK comes back (AA, AE, AR …); throws
 * MllpDeliveryError only when no ACK arrives (connection refused or closed, timeout).
 */
export function exchangeMllp(options: MllpSendOptions): Promise<MllpAck> {
  const where = `${options.host}:${options.port}`;
  const timeoutMs = options.timeoutMs ?? 10_000;
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let settled = false;
    const socket = net.connect({ host: options.host, port: options.port });
    const finish = (error: MllpDeliveryError | undefined, ack?: MllpAck) => {
      if (settled) return;
      settled = true;
      socket.destroy();
      if (error) reject(error);
      else resolve(ack!);
    };
    const unavailable = (why: string, cause?: unknown) =>
      new MllpDeliveryError('PAGW_MLLP_DELIVERY_UNAVAILABLE', `MLLP delivery to ${where} failed: ${why}`, {
        cause,
      });
    socket.setTimeout(timeoutMs, () => finish(unavailable(`no ACK within ${timeoutMs} ms`)));
    socket.on('error', (error) =>
      finish(unavailable((error as NodeJS.ErrnoException).code ?? 'socket error', error)),
    );
    socket.on('close', () => finish(unavailable('the receiver closed the connection before its ACK')));
    socket.on('connect', () => {
      socket.write(
        Buffer.concat([Buffer.from([VT]), Buffer.from(options.message, 'utf8'), Buffer.from([FS, CR])]),
      );
    });
    socket.on('data', (data: Buffer) => {
      chunks.push(data);
      const all = Buffer.concat(chunks);
      const start = all.indexOf(VT);
      const end = all.indexOf(FS, start + 1);
      if (start < 0 || end < 0) return;
      const er7 = all.subarray(start + 1, end).toString('utf8');
      finish(undefined, { code: ackCode(er7), er7 });
    });
  });
}

/** Reads `host:port` from the pagw-mllp-destination header. */
export function mllpDestination(message: Pick<IncomingMessage, 'headers'>): { host: string; port: number } {
  const text = message.headers[OutboundHeader.mllpDestination];
  const match = text ? /^(.+):(\d{1,5})$/.exec(text) : null;
  const port = match ? Number(match[2]) : 0;
  if (!match || port < 1 || port > 65535) {
    throw new MllpDeliveryError(
      'PAGW_MLLP_NO_DESTINATION',
      `Message has no valid ${OutboundHeader.mllpDestination} header (host:port)`,
    );
  }
  return { host: match[1]!, port };
}

/** A bus handler that forwards each HL7 v2 status message to the MLLP destination in its header. */
export function createMllpForwardHandler(deps: { timeoutMs?: number } = {}): MessageHandler {
  return async (message) => {
    const destination = mllpDestination(message);
    await sendMllp({ ...destination, message: message.value.toString('utf8'), timeoutMs: deps.timeoutMs });
  };
}
