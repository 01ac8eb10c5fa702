/**
 * SMART Backend Services authorization to a payer's PAS API: OAuth 2.0 client_credentials with a private_key_jwt
 * client assertion signed with `jose` (RS384 or ES384), as the SMART App Launch IG describes:
 *   iss = sub = client_id, aud = the token URL, jti unique, exp at most five minutes ahead.
 * Tokens are cached per token URL + client id + scopes until shortly before they expire; `invalidate` drops one
 * after the payer answered 401, so the connector asks for a new one exactly once.
 *
 * The private key comes from a key source: `vault:<name>` (read through the SecretReader port, so the vault
 * plugs in without changes here) or `file:<path>` (a PKCS#8 PEM file, until the vault holds the key).
 * @see https://hl7.org/fhir/smart-app-launch/backend-services.html
 */
import { randomUUID } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { type CryptoKey, importPKCS8, SignJWT } from 'jose';
import { type Clock, systemClock } from '../../src/clock.ts';
import { type SecretReader, vaultRefName } from '../../src/vault/port.ts';
import { PasError } from './errors.ts';

export type SigningAlgorithm = 'RS384' | 'ES384';

export interface SmartClient {
  readonly tokenUrl: string;
  readonly clientId: string;
  /** Space-separated SMART scopes, e.g. `system/Claim.c system/ClaimResponse.r`. */
  readonly scopes: string;
  /** `vault:<name>` or `file:<path>`. */
  readonly keyRef: string;
  readonly algorithm: SigningAlgorithm;
  /** The `kid` of the public key in the JWKS the payer holds for us. */
  readonly keyId?: string;
  /** Whose key it is, for the vault's audit row. */
  readonly tenant: string;
}

export interface SmartAuthOptions {
  /** Token cache expiry. */
  readonly clock: Clock;
  /**
   * The assertion's iat/exp: checked against the AUTHORIZATION SERVER's clock, so real time even when the
   * workflow runs on an injected one (tests that skip ahead). Default: the system clock.
   */
  readonly wallClock?: Clock;
  readonly secrets?: SecretReader;
  readonly fetch?: typeof fetch;
  readonly timeoutMs?: number;
  /** Renew this long before the token's expiry (default 60 s). */
  readonly refreshMarginMs?: number;
}

export interface SmartAuth {
  /** A bearer token for the client: cached, or fetched with a fresh client assertion. */
  accessToken(client: SmartClient): Promise<string>;
  /** Forgets the cached token (after a 401), so the next accessToken() fetches a new one. */
  invalidate(client: SmartClient): void;
}

interface Cached {
  readonly token: string;
  readonly expiresAt: number;
}

export function createSmartAuth(options: SmartAuthOptions): SmartAuth {
  const { clock } = options;
  const doFetch = options.fetch ?? fetch;
  const margin = options.refreshMarginMs ?? 60_000;
  const tokens = new Map<string, Cached>();
  const pending = new Map<string, Promise<string>>();
  const keys = new Map<string, Promise<CryptoKey>>();

  const cacheKey = (c: SmartClient) => `${c.tokenUrl}\u0000${c.clientId}\u0000${c.scopes}`;

  async function pem(client: SmartClient): Promise<string> {
    const vaultName = vaultRefName(client.keyRef);
    if (vaultName) {
      if (!options.secrets) {
        throw new PasError(
          'PAGW_PAS_KEY_UNAVAILABLE',
          `No vault is configured to read the PAS key ${client.keyRef}`,
        );
      }
      return options.secrets.read(vaultName, { tenant: client.tenant, reader: 'connector:pas' });
    }
    if (client.keyRef.startsWith('file:')) {
      try {
        return await readFile(client.keyRef.slice('file:'.length), 'utf8');
      } catch (error) {
        throw new PasError(
          'PAGW_PAS_KEY_UNAVAILABLE',
          `The PAS key file of client ${client.clientId} cannot be read`,
          {
            cause: error,
          },
        );
      }
    }
    throw new PasError(
      'PAGW_PAS_KEY_UNAVAILABLE',
      `The PAS key reference of client ${client.clientId} is neither vault:<name> nor file:<path>`,
    );
  }

  function signingKey(client: SmartClient): Promise<CryptoKey> {
    const id = `${client.keyRef}\u0000${client.algorithm}`;
    let key = keys.get(id);
    if (!key) {
      key = pem(client).then(async (text) => {
        try {
          return await importPKCS8(text, client.algorithm);
        } catch (error) {
          throw new PasError(
            'PAGW_PAS_KEY_UNAVAILABLE',
            `The PAS key of client ${client.clientId} is not a PKCS#8 ${client.algorithm} private key`,
            { cause: error },
          );
        }
      });
      key.catch(() => keys.delete(id));
      keys.set(id, key);
    }
    return key;
  }

  async function clientAssertion(client: SmartClient): Promise<string> {
    const now = Math.floor((options.wallClock ?? systemClock).now().getTime() / 1000);
    return new SignJWT({})
      .setProtectedHeader({
        alg: client.algorithm,
        typ: 'JWT',
        ...(client.keyId ? { kid: client.keyId } : {}),
      })
      .setIssuer(client.clientId)
      .setSubject(client.clientId)
      .setAudience(client.tokenUrl)
      .setJti(randomUUID())
      .setIssuedAt(now)
      .setExpirationTime(now + 240)
      .sign(await signingKey(client));
  }

  async function fetchToken(client: SmartClient): Promise<string> {
    const body = new URLSearchParams({
      grant_type: 'client_credentials',
      scope: client.scopes,
      client_assertion_type: 'urn:ietf:params:oauth:client-assertion-type:jwt-bearer',
      client_assertion: await clientAssertion(client),
    });
    let response: Response;
    try {
      response = await doFetch(client.tokenUrl, {
        method: 'POST',
        headers: { 'content-type': 'application/x-www-form-urlencoded', accept: 'application/json' },
        body,
        signal: AbortSignal.timeout(options.timeoutMs ?? 30_000),
      });
    } catch (error) {
      throw new PasError(
        'PAGW_PAS_UNREACHABLE',
        `The PAS token endpoint of client ${client.clientId} is unreachable`,
        {
          cause: error,
        },
      );
    }
    const text = await response.text().catch(() => '');
    if (response.status >= 500) {
      throw new PasError('PAGW_PAS_PAYER_ERROR', `The PAS token endpoint answered HTTP ${response.status}`);
    }
    if (!response.ok) {
      let error = '';
      try {
        error = (JSON.parse(text) as { error?: string }).error ?? '';
      } catch {
        error = '';
      }
      throw new PasError(
        'PAGW_PAS_AUTH_FAILED',
        `The PAS token endpoint refused client ${client.clientId}: HTTP ${response.status}${error ? ` ${error}` : ''}`,
      );
    }
    let parsed: { access_token?: unknown; expires_in?: unknown };
    try {
      parsed = JSON.parse(text) as typeof parsed;
    } catch {
      parsed = {};
    }
    if (typeof parsed.access_token !== 'string' || parsed.access_token.length === 0) {
      throw new PasError('PAGW_PAS_AUTH_FAILED', 'The PAS token endpoint answered without an access_token');
    }
    const lifetimeMs = (typeof parsed.expires_in === 'number' ? parsed.expires_in : 300) * 1000;
    tokens.set(cacheKey(client), {
      token: parsed.access_token,
      expiresAt: clock.now().getTime() + Math.max(lifetimeMs - margin, lifetimeMs / 2),
    });
    return parsed.access_token;
  }

  return {
    async accessToken(client) {
      const key = cacheKey(client);
      const cached = tokens.get(key);
      if (cached && cached.expiresAt > clock.now().getTime()) return cached.token;
      // One token request per client at a time: concurrent callers share it.
      let inFlight = pending.get(key);
      if (!inFlight) {
        inFlight = fetchToken(client).finally(() => pending.delete(key));
        pending.set(key, inFlight);
      }
      return inFlight;
    },
    invalidate(client) {
      tokens.delete(cacheKey(client));
    },
  };
}
