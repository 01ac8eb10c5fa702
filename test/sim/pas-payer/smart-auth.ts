/**
 * SMART Backend Services at the simulated PAS payer: POST /oauth/token (client_credentials with a private_key_jwt
 * client assertion verified against the client's registered JWKS: RS384 / ES384, iss = sub = client id, aud = this
 * token URL, exp at most five minutes ahead, jti not reused; 401 invalid_client otherwise) and the bearer check
 * every /fhir call passes. Split from server.ts.
 */
import { randomUUID } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { createLocalJWKSet, jwtVerify } from 'jose';
import { readBody } from './http.ts';
import type { PasSimState } from './sim-state.ts';

export function createSmartAuth(sim: PasSimState) {
  const { ttl, clients, tokens, seenJti, record } = sim;

  function authorized(req: IncomingMessage): boolean {
    const header = req.headers.authorization ?? '';
    const token = header.startsWith('Bearer ') ? header.slice(7) : '';
    const known = tokens.get(token);
    return !!known && known.expiresAt > Date.now();
  }

  async function issueToken(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const form = new URLSearchParams(await readBody(req));
    const refuse = (error: string, description: string) => {
      record({ kind: 'token', accepted: false, disposition: `refused: ${error}` });
      res.writeHead(error === 'invalid_client' ? 401 : 400, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ error, error_description: description }));
    };
    if (form.get('grant_type') !== 'client_credentials')
      return refuse('unsupported_grant_type', 'client_credentials only');
    if (form.get('client_assertion_type') !== 'urn:ietf:params:oauth:client-assertion-type:jwt-bearer') {
      return refuse('invalid_request', 'client_assertion_type must be jwt-bearer');
    }
    const assertion = form.get('client_assertion') ?? '';
    let clientId = '';
    try {
      const [, payload] = assertion.split('.');
      clientId = JSON.parse(Buffer.from(payload ?? '', 'base64url').toString('utf8')).iss ?? '';
    } catch {
      return refuse('invalid_client', 'the client assertion is not a JWT');
    }
    const jwks = clients.get(clientId);
    if (!jwks) return refuse('invalid_client', 'unknown client');
    try {
      const { payload } = await jwtVerify(assertion, createLocalJWKSet(jwks), {
        issuer: clientId,
        subject: clientId,
        audience: sim.tokenUrl,
        algorithms: ['RS384', 'ES384'],
      });
      if (!payload.jti || seenJti.has(payload.jti)) return refuse('invalid_client', 'jti missing or reused');
      if (!payload.exp || payload.exp * 1000 > Date.now() + 5 * 60_000) {
        return refuse('invalid_client', 'exp must be at most five minutes ahead');
      }
      seenJti.add(payload.jti);
    } catch (error) {
      return refuse('invalid_client', `assertion not verified: ${(error as Error).message}`);
    }
    const token = randomUUID();
    tokens.set(token, { clientId, expiresAt: Date.now() + ttl * 1000 });
    record({ kind: 'token', accepted: true, disposition: 'issued' });
    res.writeHead(200, { 'content-type': 'application/json', 'cache-control': 'no-store' });
    res.end(
      JSON.stringify({
        access_token: token,
        token_type: 'bearer',
        expires_in: ttl,
        scope: form.get('scope') ?? '',
      }),
    );
  }

  return { authorized, issueToken };
}
