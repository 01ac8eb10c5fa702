/**
 * FHIR over HTTP to a payer's PAS endpoint, with the SMART backend-services bearer token: one POST, refreshed
 * once on 401, and every failure turned into a PasError that says whether a retry can help and whether the payer
 * may have taken the request in (`outcomeUnknown`: a timeout or a dropped connection after the request went out).
 */

import { PasError } from './errors.ts';
import type { SmartAuth, SmartClient } from './smart-auth.ts';

export interface PasHttpResponse {
  readonly status: number;
  /** The JSON body, when there was one. */
  readonly body: unknown;
  readonly text: string;
}

export interface PasTransport {
  post(client: SmartClient, url: string, resource: unknown, timeoutMs: number): Promise<PasHttpResponse>;
}

function refusedBeforeSending(error: unknown): boolean {
  const code = (error as { cause?: { code?: string } })?.cause?.code;
  return code === 'ECONNREFUSED' || code === 'ENOTFOUND' || code === 'EAI_AGAIN';
}

function retryAfterMs(header: string | null): number {
  if (!header) return 1000;
  const seconds = Number(header);
  if (Number.isFinite(seconds)) return Math.max(0, seconds * 1000);
  const at = Date.parse(header);
  return Number.isNaN(at) ? 1000 : Math.max(0, at - Date.now());
}

export function createPasTransport(options: { auth: SmartAuth; fetch?: typeof fetch }): PasTransport {
  const doFetch = options.fetch ?? fetch;

  async function once(client: SmartClient, url: string, body: string, timeoutMs: number): Promise<Response> {
    const token = await options.auth.accessToken(client);
    try {
      return await doFetch(url, {
        method: 'POST',
        headers: {
          authorization: `Bearer ${token}`,
          'content-type': 'application/fhir+json',
          accept: 'application/fhir+json',
        },
        body,
        signal: AbortSignal.timeout(timeoutMs),
      });
    } catch (error) {
      const unknown = !refusedBeforeSending(error);
      throw new PasError(
        'PAGW_PAS_UNREACHABLE',
        `The payer did not answer ${new URL(url).pathname}${unknown ? ' (the request may have arrived)' : ''}`,
        { cause: error, outcomeUnknown: unknown },
      );
    }
  }

  return {
    async post(client, url, resource, timeoutMs) {
      const body = JSON.stringify(resource);
      let response = await once(client, url, body, timeoutMs);
      if (response.status === 401) {
        // The token may have been revoked or expired early: one fresh token, one more try.
        await response.body?.cancel().catch(() => undefined);
        options.auth.invalidate(client);
        response = await once(client, url, body, timeoutMs);
        if (response.status === 401) {
          await response.body?.cancel().catch(() => undefined);
          throw new PasError('PAGW_PAS_AUTH_FAILED', 'The payer refused a freshly issued token (HTTP 401)');
        }
      }
      let text: string;
      try {
        text = await response.text();
      } catch (error) {
        throw new PasError('PAGW_PAS_UNREACHABLE', 'The payer dropped the connection while answering', {
          cause: error,
          outcomeUnknown: true,
        });
      }
      if (response.status === 429) {
        throw new PasError('PAGW_PAS_RATE_LIMITED', 'The payer asked us to slow down (HTTP 429)', {
          retryAfterMs: retryAfterMs(response.headers.get('retry-after')),
        });
      }
      if (response.status >= 500) {
        throw new PasError('PAGW_PAS_PAYER_ERROR', `The payer answered HTTP ${response.status}`, {
          // 503: the payer says it is unavailable, i.e. it did not take the request in.
          outcomeUnknown: response.status !== 503,
        });
      }
      let parsed: unknown;
      try {
        parsed = text ? JSON.parse(text) : undefined;
      } catch {
        parsed = undefined;
      }
      return { status: response.status, body: parsed, text };
    },
  };
}
