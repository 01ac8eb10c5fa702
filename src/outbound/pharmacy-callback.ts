/**
 * Delivers pharmacy write-backs (./pharmacy-writeback.ts) that the outbox put on topics.pharmacyWriteBack: a bus
 * handler that POSTs each one to its sender's callback URL, signed, and lets the bus retry.
 *
 *   POST <callbackUrl>   content-type: application/json, body = the write-back (pharmacy-writeback.v1)
 *     X-PAGW-Event-Id    the write-back's event id: the pharmacy deduplicates on it
 *     X-PAGW-Signature   t=<unix seconds>,v1=<hex HMAC-SHA256 of "<t>.<body>"> with the sender's callback secret
 *     X-PAGW-Sender      the sender id
 *
 * 2xx or 409 (already have it) → done. Unreachable, timeout, 408, 429, 5xx → PAGW_PHARMACY_WRITEBACK_UNAVAILABLE,
 * retriable: the bus retries with exponential backoff for as long as it takes, holding the case's later write-backs
 * behind it (one partition per case: they arrive in order). Any other 4xx → PAGW_PHARMACY_WRITEBACK_REJECTED: retried
 * a few times, then dead-lettered with its code. The body is never logged.
 */
import type { IncomingMessage, MessageHandler } from '../bus/port.ts';
import type { Clock } from '../clock.ts';
import { GatewayError } from '../errors/index.ts';
import type { PharmacySenders } from '../inbound/pharmacy/senders.ts';
import { writeBackSignature } from '../inbound/pharmacy/signature.ts';
import type { Logger } from '../log/logger.ts';
import type { SecretReader } from '../vault/port.ts';
import type { PharmacyWriteBack } from './pharmacy-writeback.ts';

export interface PharmacyCallbackDeps {
  readonly senders: PharmacySenders;
  readonly secrets: SecretReader;
  readonly clock: Clock;
  readonly logger: Logger;
  readonly fetch?: typeof fetch;
  /** Per-delivery timeout (default: the sender's timeoutMs). */
  readonly timeoutMs?: number;
  /** Called after each accepted delivery (metrics, tests); gets ids only. */
  readonly onDelivered?: (
    writeBack: Pick<PharmacyWriteBack, 'eventId' | 'status' | 'sender' | 'caseId'>,
  ) => void;
}

export function createPharmacyCallbackHandler(deps: PharmacyCallbackDeps): MessageHandler {
  const doFetch = deps.fetch ?? fetch;
  return async (message: IncomingMessage) => {
    const body = message.value;
    const writeBack = JSON.parse(body.toString('utf8')) as PharmacyWriteBack;
    const sender = deps.senders.get(writeBack.sender);
    if (!sender?.callbackUrl || sender.tenant !== writeBack.tenant) {
      // The sender was unregistered (or lost its callback URL) since: nothing to deliver to.
      deps.logger.warn(
        { sender: writeBack.sender, eventId: writeBack.eventId },
        'pharmacy write-back dropped: the sender takes no write-backs now',
      );
      return;
    }
    const secret = await deps.secrets.read(sender.callbackSecret, {
      tenant: sender.tenant,
      reader: 'webhook:pharmacy-callback',
      onBehalfOf: `sender:${sender.id}`,
      ...(writeBack.caseId ? { caseId: writeBack.caseId } : {}),
    });
    let res: Response;
    try {
      res = await doFetch(sender.callbackUrl, {
        method: 'POST',
        headers: {
          'content-type': 'application/json',
          'x-pagw-event-id': writeBack.eventId,
          'x-pagw-sender': sender.id,
          'x-pagw-signature': writeBackSignature(body, secret, deps.clock.now()),
        },
        body: new Uint8Array(body),
        signal: AbortSignal.timeout(deps.timeoutMs ?? sender.timeoutMs),
      });
      await res.arrayBuffer();
    } catch (error) {
      throw new GatewayError(
        'PAGW_PHARMACY_WRITEBACK_UNAVAILABLE',
        `The pharmacy system's callback URL did not answer (${(error as Error).name})`,
        { retriable: true, cause: error },
      );
    }
    if (res.ok || res.status === 409) {
      deps.onDelivered?.({
        eventId: writeBack.eventId,
        status: writeBack.status,
        sender: writeBack.sender,
        ...(writeBack.caseId ? { caseId: writeBack.caseId } : {}),
      });
      return;
    }
    if (res.status >= 500 || res.status === 408 || res.status === 429)
      throw new GatewayError(
        'PAGW_PHARMACY_WRITEBACK_UNAVAILABLE',
        `The pharmacy system's callback URL answered HTTP ${res.status}`,
        { retriable: true },
      );
    throw new GatewayError(
      'PAGW_PHARMACY_WRITEBACK_REJECTED',
      `The pharmacy system's callback URL refused the write-back (HTTP ${res.status})`,
      { retriable: false },
    );
  };
}
