/**
 * The clearinghouse transport: one CAQH CORE HTTP MIME multipart exchange per call, real-time or batch, with a
 * per-call timeout. It classifies every failure by what it means for the payload — never sent (connection
 * refused: safe to resend), or maybe received (timeout, dropped connection, HTTP 5xx: reconcile before any
 * resend) — and leaves retries, backoff and reconciliation to the connector, which owns the submissions log.
 */
import { randomUUID } from 'node:crypto';
import type { Clock } from '../../../src/clock.ts';
import { ClearinghouseError } from '../errors.ts';
import {
  CORE_RULE_VERSION,
  type CoreEnvelope,
  fromFormData,
  type ProcessingMode,
  sha1,
  toFormData,
} from './core-envelope.ts';

export interface ExchangeRequest {
  readonly payloadType: string;
  readonly payload?: string;
  readonly processingMode: ProcessingMode;
  /** Defaults to a fresh UUID; batch results retrieval passes the submission's PayloadID. */
  readonly payloadId?: string;
  readonly timeoutMs: number;
}

export interface ExchangeResponse {
  readonly envelope: CoreEnvelope;
  readonly httpStatus: number;
  readonly payloadId: string;
}

/** One HTTP round trip with a clearinghouse. */
export interface ClearinghouseTransport {
  exchange(request: ExchangeRequest): Promise<ExchangeResponse>;
}

export interface CoreHttpTransportOptions {
  readonly endpoint: string;
  /** CORE SenderID / ReceiverID. */
  readonly senderId: string;
  readonly receiverId: string;
  /** Resolved from the vault by the caller; never logged. */
  readonly credentials?: { readonly username: string; readonly password: string };
  readonly clock: Clock;
  readonly fetch?: typeof fetch;
}

const retriableCoreErrors = new Set(['ServerBusy', 'Receiver Down', 'ReceiverDown', 'ServiceUnavailable']);

function errorCodeOf(error: unknown): string | undefined {
  let current: unknown = error;
  for (let depth = 0; depth < 4 && current; depth++) {
    const code = (current as { code?: unknown }).code;
    if (typeof code === 'string') return code;
    current = (current as { cause?: unknown }).cause;
  }
  return undefined;
}

export function createCoreHttpTransport(options: CoreHttpTransportOptions): ClearinghouseTransport {
  const doFetch = options.fetch ?? fetch;
  return {
    async exchange(request) {
      const payloadId = request.payloadId ?? randomUUID();
      const envelope: CoreEnvelope = {
        PayloadType: request.payloadType,
        ProcessingMode: request.processingMode,
        PayloadID: payloadId,
        TimeStamp: options.clock
          .now()
          .toISOString()
          .replace(/\.\d{3}Z$/, 'Z'),
        SenderID: options.senderId,
        ReceiverID: options.receiverId,
        CORERuleVersion: CORE_RULE_VERSION,
        ...(request.payload !== undefined
          ? {
              Payload: request.payload,
              PayloadLength: String(Buffer.byteLength(request.payload, 'utf8')),
              Checksum: sha1(request.payload),
            }
          : {}),
        ...(options.credentials
          ? { UserName: options.credentials.username, Password: options.credentials.password }
          : {}),
      };
      let response: Response;
      try {
        response = await doFetch(options.endpoint, {
          method: 'POST',
          body: toFormData(envelope),
          signal: AbortSignal.timeout(request.timeoutMs),
        });
      } catch (error) {
        const code = errorCodeOf(error);
        if ((error as Error)?.name === 'TimeoutError' || (error as Error)?.name === 'AbortError') {
          throw new ClearinghouseError(
            'PAGW_X12_TRANSPORT_TIMEOUT',
            `No answer from the clearinghouse within ${request.timeoutMs} ms`,
            {
              outcomeUnknown: true,
              cause: error,
            },
          );
        }
        const neverSent =
          code === 'ECONNREFUSED' || code === 'ENOTFOUND' || code === 'EAI_AGAIN' || code === 'EHOSTUNREACH';
        throw new ClearinghouseError(
          'PAGW_X12_TRANSPORT_UNAVAILABLE',
          neverSent
            ? `The clearinghouse cannot be reached (${code})`
            : `The connection to the clearinghouse failed before an answer (${code ?? 'dropped'})`,
          { outcomeUnknown: !neverSent, cause: error },
        );
      }
      let form: FormData | undefined;
      try {
        const type = response.headers.get('content-type') ?? '';
        if (type.startsWith('multipart/form-data')) form = await response.formData();
        else await response.arrayBuffer();
      } catch (error) {
        if ((error as Error)?.name === 'TimeoutError' || (error as Error)?.name === 'AbortError') {
          throw new ClearinghouseError(
            'PAGW_X12_TRANSPORT_TIMEOUT',
            `The clearinghouse answer did not complete within ${request.timeoutMs} ms`,
            {
              outcomeUnknown: true,
              cause: error,
            },
          );
        }
        throw new ClearinghouseError(
          'PAGW_X12_TRANSPORT_UNAVAILABLE',
          'The clearinghouse answer was cut off',
          {
            outcomeUnknown: true,
            cause: error,
          },
        );
      }
      if (response.status >= 500) {
        throw new ClearinghouseError(
          'PAGW_X12_TRANSPORT_UNAVAILABLE',
          `The clearinghouse answered HTTP ${response.status}`,
          {
            outcomeUnknown: true,
          },
        );
      }
      if (!form) {
        throw new ClearinghouseError(
          'PAGW_X12_CORE_MALFORMED',
          `The clearinghouse answered HTTP ${response.status} without a CORE envelope`,
        );
      }
      const { envelope: answer, missing } = await fromFormData(form);
      if (answer.ErrorCode && answer.ErrorCode !== 'Success') {
        throw new ClearinghouseError('PAGW_X12_CORE_ERROR', `CORE ErrorCode ${answer.ErrorCode}`, {
          retriable: retriableCoreErrors.has(answer.ErrorCode),
          outcomeUnknown: false,
        });
      }
      if (missing.length > 0) {
        throw new ClearinghouseError(
          'PAGW_X12_CORE_MALFORMED',
          `The CORE envelope lacks ${missing.join(', ')}`,
        );
      }
      if (
        answer.Payload !== undefined &&
        answer.Checksum &&
        answer.Checksum.toLowerCase() !== sha1(answer.Payload)
      ) {
        throw new ClearinghouseError(
          'PAGW_X12_CORE_MALFORMED',
          'The CORE payload does not match its Checksum',
          { outcomeUnknown: true, retriable: true },
        );
      }
      return { envelope: answer as CoreEnvelope, httpStatus: response.status, payloadId };
    },
  };
}
