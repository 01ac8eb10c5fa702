/**
 * The simulated PAS payer as an HTTP server speaking Da Vinci PAS 2.2.1 with SMART Backend Services auth:
 *
 *   POST /oauth/token               client_credentials with a private_key_jwt client assertion, verified against
 *                                   the client's registered JWKS (RS384 / ES384, iss = sub = client_id, aud = this
 *                                   token URL, exp within 5 minutes, jti not reused); 401 invalid_client otherwise
 *   POST /fhir/Claim/$submit        a PAS request Bundle (bare or in Parameters) → a PAS response Bundle
 *   POST /fhir/Claim/$inquire       an inquiry Bundle (Claim with the identifier) → the current answer; 404 unknown
 *   POST /fhir/Subscription         R4 backport rest-hook subscription to the PAS topic (filter orgIdentifier)
 *   GET  /fhir/metadata             CapabilityStatement
 *
 * Every FHIR call needs a bearer token from /oauth/token. Reviews are kept by Claim.identifier (the payer's
 * dedupe key): a repeated $submit returns the existing answer. Behaviours are scripted by member id
 * (behaviours.ts). Test hooks: GET /_sim/received, GET /_sim/notifications, POST /_sim/clients {clientId, jwks},
 * POST /_sim/expire-tokens, POST /_sim/decide {key}, POST /_sim/change-decision {key, behaviour}, POST /_sim/reset,
 * GET /_sim/health.
 */
import { randomUUID } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { createLocalJWKSet, type JSONWebKeySet, jwtVerify } from 'jose';
import { behaviourOf, type PasBehaviour } from './behaviours.ts';
import { type SimChanges, stateFor, submitAttachment, update } from './changes.ts';
import {
  type Answer,
  BadRequest,
  bundleOf,
  notificationBundle,
  operationOutcome,
  type ReadClaim,
  readClaim,
  responseBundle,
} from './fhir.ts';

export interface PasReceived {
  readonly seq: number;
  readonly at: string;
  readonly kind: 'token' | 'submit' | 'update' | 'inquire' | 'attachment' | 'subscription' | 'other';
  readonly key?: string;
  readonly memberId?: string;
  /** $submit: the Claim's item codes and the resource types of the Bundle (what the payer was asked for). */
  readonly serviceCodes?: readonly string[];
  readonly resourceTypes?: readonly string[];
  /** A Claim update: the `system|value` key of the Claim it relates to, and its item flags as sent. */
  readonly updates?: string;
  readonly changes?: readonly { sequence: number; change?: string; cancelled: boolean }[];
  /**
   * $submit-attachment: the path it came to, the tracking id, whether the client said it was the last (CDex Final),
   * the kind of document, its size and type, the lines it supports.
   */
  readonly attachment?: {
    path: string;
    trackingId: string;
    final?: boolean;
    reportType?: string;
    contentType?: string;
    bytes: number;
    lineItems: string[];
  };
  /** A $submit the payer took in as a new live submission (repeats of a known identifier are not). */
  readonly accepted: boolean;
  readonly disposition: string;
}

export interface PasNotification {
  readonly at: string;
  readonly subscriptionId: string;
  readonly endpoint: string;
  readonly key: string;
  readonly status: number | 'failed';
}

export interface Review {
  /** Replaced by a Claim update: the payer reviews the changed request afresh. */
  claim: ReadClaim;
  /** Changed by POST /_sim/change-decision: the payer revises a decision it gave. */
  behaviour: PasBehaviour;
  readonly certificationNumber: string;
  readonly administrationReferenceNumber: string;
  state: 'pended' | 'decided' | 'rejected' | 'cancelled';
  inquiries: number;
  /** pend-docs: the tracking control number the documents are asked under, and how many arrived. */
  readonly attachmentControlNumber: string;
  documentsReceived: number;
  /** Claim updates taken in. */
  updates: number;
}

interface Subscription {
  readonly id: string;
  readonly endpoint: string;
  readonly headers: readonly string[];
  readonly payload: string;
  readonly orgIdentifier?: string;
  events: number;
}

export interface PasSimOptions {
  readonly port?: number;
  readonly host?: string;
  readonly slowMs?: number;
  /** How long a `pend-notify` review stays pended before it is decided and its subscribers are notified. */
  readonly notifyAfterMs?: number;
  readonly tokenTtlSeconds?: number;
  /** client_id → JWKS of its public keys. */
  readonly clients?: Readonly<Record<string, JSONWebKeySet>>;
}

export interface RunningPasSim {
  readonly url: string;
  readonly fhirBase: string;
  readonly tokenUrl: string;
  stop(): Promise<void>;
}

const maxBody = 5 * 1024 * 1024;

function readBody(req: IncomingMessage): Promise<string> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    req.on('data', (c: Buffer) => {
      size += c.length;
      if (size > maxBody) reject(new Error('body too large'));
      else chunks.push(c);
    });
    req.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
    req.on('error', reject);
  });
}

function send(
  res: ServerResponse,
  status: number,
  body: unknown,
  headers: Record<string, string> = {},
): void {
  const text = JSON.stringify(body);
  res.writeHead(status, { 'content-type': 'application/fhir+json', ...headers });
  res.end(text);
}

export async function startPasSim(options: PasSimOptions = {}): Promise<RunningPasSim> {
  const slowMs = options.slowMs ?? 1500;
  const notifyAfterMs = options.notifyAfterMs ?? 300;
  const ttl = options.tokenTtlSeconds ?? 300;
  const clients = new Map<string, JSONWebKeySet>(Object.entries(options.clients ?? {}));
  const tokens = new Map<string, { clientId: string; expiresAt: number }>();
  const seenJti = new Set<string>();
  const reviews = new Map<string, Review>();
  /** A Claim update's identifier → the review it changed (a later update may relate to it). */
  const updated = new Map<string, Review>();
  const subscriptions: Subscription[] = [];
  const received: PasReceived[] = [];
  const notifications: PasNotification[] = [];
  const rateLimited = new Set<string>();
  const dropped = new Set<string>();
  const timers = new Set<NodeJS.Timeout>();
  let certificates = 0;
  let tokenUrl = '';

  const record = (entry: Omit<PasReceived, 'seq' | 'at'>) =>
    received.push({ seq: received.length + 1, at: new Date().toISOString(), ...entry });

  function answerOf(review: Review): Answer {
    const { claim, behaviour } = review;
    if (review.state === 'rejected') {
      return {
        outcome: 'error',
        items: [],
        errors: [{ code: '72', element: '2010C-NM109', path: 'Coverage.subscriberId', followUp: 'C' }],
      };
    }
    if (review.state === 'cancelled') {
      return { outcome: 'complete', items: claim.items.map(() => ({ action: 'C' as const })) };
    }
    if (review.state === 'pended') {
      return {
        outcome: 'complete',
        administrationReferenceNumber: review.administrationReferenceNumber,
        items: claim.items.map(() => ({ action: 'A4' as const })),
        ...(review.behaviour === 'pend-docs' && review.documentsReceived === 0
          ? {
              documents: {
                controlNumber: review.attachmentControlNumber,
                reportType: '09',
                text: 'SEND PROGRESS NOTES',
              },
            }
          : {}),
      };
    }
    switch (behaviour) {
      case 'deny':
        return {
          outcome: 'complete',
          reason: 'AO',
          items: claim.items.map(() => ({ action: 'A3' as const })),
        };
      case 'partial':
        return {
          outcome: 'complete',
          certificationNumber: review.certificationNumber,
          reason: '0U',
          items: claim.items.map((i) => ({
            action: 'A6' as const,
            quantity: Math.max(1, Math.floor((i.quantity ?? 2) / 2)),
          })),
        };
      default:
        return {
          outcome: 'complete',
          certificationNumber: review.certificationNumber,
          items: claim.items.map(() => ({ action: 'A1' as const })),
        };
    }
  }

  async function notify(review: Review): Promise<void> {
    const response = responseBundle(review.claim, answerOf(review));
    for (const s of subscriptions) {
      if (s.orgIdentifier && review.claim.orgIdentifier && s.orgIdentifier !== review.claim.orgIdentifier)
        continue;
      s.events++;
      const headers: Record<string, string> = { 'content-type': 'application/fhir+json' };
      for (const h of s.headers) {
        const colon = h.indexOf(':');
        if (colon > 0) headers[h.slice(0, colon).trim()] = h.slice(colon + 1).trim();
      }
      let status: number | 'failed';
      try {
        const res = await fetch(s.endpoint, {
          method: 'POST',
          headers,
          body: JSON.stringify(notificationBundle(s, s.events, response)),
        });
        status = res.status;
      } catch {
        status = 'failed';
      }
      notifications.push({
        at: new Date().toISOString(),
        subscriptionId: s.id,
        endpoint: s.endpoint,
        key: review.claim.key,
        status,
      });
    }
  }

  function decide(review: Review): void {
    if (review.state !== 'pended') return;
    review.state = 'decided';
    if (review.behaviour === 'pend-notify') void notify(review);
  }

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
        audience: tokenUrl,
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

  const changes: SimChanges = { reviews, updated, record, answerOf, send, readBody };

  async function submit(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const bundle = bundleOf(JSON.parse(await readBody(req)));
    const claim = readClaim(bundle);
    const known = reviews.get(claim.key);
    const behaviour = known?.behaviour ?? behaviourOf(claim.memberId, claim.serviceCodes);
    const base = {
      kind: 'submit' as const,
      key: claim.key,
      memberId: claim.memberId,
      serviceCodes: claim.serviceCodes,
      resourceTypes: [
        ...new Set(
          ((bundle.entry ?? []) as { resource?: { resourceType?: string } }[]).map(
            (e) => e.resource?.resourceType ?? '',
          ),
        ),
      ],
    };
    if (behaviour === 'unavailable') {
      record({ ...base, accepted: false, disposition: 'http-503' });
      return send(res, 503, operationOutcome([{ code: 'transient', text: 'payer unavailable' }]));
    }
    if (behaviour === 'rate-limit' && !rateLimited.has(claim.key)) {
      rateLimited.add(claim.key);
      record({ ...base, accepted: false, disposition: 'http-429' });
      return send(res, 429, operationOutcome([{ code: 'throttled', text: 'too many requests' }]), {
        'retry-after': '1',
      });
    }
    if (behaviour === 'operation-outcome') {
      record({ ...base, accepted: false, disposition: 'operation-outcome' });
      return send(
        res,
        422,
        operationOutcome([
          {
            code: 'business-rule',
            text: 'The member is not known to this payer',
            expression: 'Coverage.subscriberId',
          },
          { severity: 'warning', code: 'informational', text: 'check the coverage' },
        ]),
      );
    }
    if (claim.cancels) {
      const original = reviews.get(claim.cancels);
      if (!original) {
        record({ ...base, accepted: false, disposition: 'cancel of an unknown request' });
        return send(
          res,
          404,
          operationOutcome([{ code: 'not-found', text: 'no request to cancel with this identifier' }]),
        );
      }
      original.state = 'cancelled';
      record({ ...base, accepted: false, disposition: 'cancelled' });
      return send(res, 200, responseBundle(claim, answerOf(original)));
    }
    if (claim.updates) return update(changes, res, claim, base);
    if (known) {
      record({ ...base, accepted: false, disposition: 'duplicate: answered from the existing review' });
      return send(res, 200, responseBundle(claim, answerOf(known)));
    }
    const review: Review = {
      claim,
      behaviour,
      certificationNumber: `SIMAUTH${String(++certificates).padStart(5, '0')}`,
      administrationReferenceNumber: `SIMPEND${String(certificates).padStart(5, '0')}`,
      state: stateFor(behaviour),
      inquiries: 0,
      attachmentControlNumber: `ACN${String(certificates).padStart(7, '0')}`,
      documentsReceived: 0,
      updates: 0,
    };
    reviews.set(claim.key, review);
    if (behaviour === 'pend-notify') {
      const timer = setTimeout(() => {
        timers.delete(timer);
        decide(review);
      }, notifyAfterMs);
      timers.add(timer);
    }
    if (behaviour === 'drop' && !dropped.has(claim.key)) {
      dropped.add(claim.key);
      record({ ...base, accepted: true, disposition: 'taken in, connection dropped' });
      req.socket.destroy();
      return;
    }
    record({
      ...base,
      accepted: true,
      disposition: behaviour === 'slow' ? `answered after ${slowMs} ms` : 'answered',
    });
    if (behaviour === 'slow') await new Promise((r) => setTimeout(r, slowMs));
    send(res, 200, responseBundle(claim, answerOf(review)));
  }

  async function inquire(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const claim = readClaim(bundleOf(JSON.parse(await readBody(req))));
    const review = reviews.get(claim.key);
    const base = { kind: 'inquire' as const, key: claim.key, memberId: claim.memberId, accepted: false };
    if (behaviourOf(claim.memberId, claim.serviceCodes) === 'unavailable') {
      record({ ...base, disposition: 'http-503' });
      return send(res, 503, operationOutcome([{ code: 'transient', text: 'payer unavailable' }]));
    }
    if (!review) {
      record({ ...base, disposition: 'not-found' });
      return send(
        res,
        404,
        operationOutcome([
          { code: 'not-found', text: 'no prior authorization request with this identifier' },
        ]),
      );
    }
    review.inquiries++;
    // Pended by inquire: decided when asked. Pended by notification: only the payer's own timer decides it.
    // Pended for documents: decided at the first inquiry after they arrived.
    if (review.behaviour === 'pend-inquire') decide(review);
    if (review.behaviour === 'pend-docs' && review.documentsReceived > 0) decide(review);
    record({ ...base, disposition: `answered (${review.state})` });
    send(res, 200, responseBundle(review.claim, answerOf(review), { inquiry: true }));
  }

  async function subscribe(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const body = JSON.parse(await readBody(req));
    if (
      body?.resourceType !== 'Subscription' ||
      body.channel?.type !== 'rest-hook' ||
      !body.channel?.endpoint
    ) {
      record({ kind: 'subscription', accepted: false, disposition: 'refused' });
      return send(
        res,
        400,
        operationOutcome([
          {
            code: 'invalid',
            text: 'a rest-hook Subscription is required',
            expression: 'Subscription.channel',
          },
        ]),
      );
    }
    const filter: string =
      (body._criteria?.extension ?? []).find((e: { url: string }) =>
        e.url.endsWith('backport-filter-criteria'),
      )?.valueString ?? '';
    const subscription: Subscription = {
      id: randomUUID(),
      endpoint: body.channel.endpoint,
      headers: body.channel.header ?? [],
      payload:
        (body.channel._payload?.extension ?? []).find((e: { url: string }) =>
          e.url.endsWith('backport-payload-content'),
        )?.valueCode ?? 'id-only',
      ...(filter.startsWith('orgIdentifier=')
        ? { orgIdentifier: filter.slice('orgIdentifier='.length) }
        : {}),
      events: 0,
    };
    subscriptions.push(subscription);
    record({ kind: 'subscription', accepted: true, disposition: 'active' });
    send(
      res,
      201,
      { ...body, id: subscription.id, status: 'active' },
      { location: `Subscription/${subscription.id}` },
    );
  }

  async function hooks(req: IncomingMessage, res: ServerResponse, path: string): Promise<boolean> {
    if (path === '/_sim/health') send(res, 200, { ok: true });
    else if (path === '/_sim/received') send(res, 200, received);
    else if (path === '/_sim/notifications') send(res, 200, notifications);
    else if (path === '/_sim/clients' && req.method === 'POST') {
      const { clientId, jwks } = JSON.parse(await readBody(req));
      clients.set(clientId, jwks);
      send(res, 204, {});
    } else if (path === '/_sim/expire-tokens' && req.method === 'POST') {
      tokens.clear();
      send(res, 204, {});
    } else if (path === '/_sim/decide' && req.method === 'POST') {
      const { key } = JSON.parse(await readBody(req));
      const review = reviews.get(key);
      if (review) decide(review);
      send(res, review ? 200 : 404, { decided: !!review });
    } else if (path === '/_sim/change-decision' && req.method === 'POST') {
      // The payer changes a decision it gave (approve, deny, partial) and notifies its subscribers, who ask again.
      const { key, behaviour } = JSON.parse(await readBody(req));
      const review = reviews.get(key);
      const known = ['approve', 'deny', 'partial'].includes(behaviour);
      if (review && known) {
        review.behaviour = behaviour;
        review.state = 'decided';
        void notify(review);
      }
      send(res, review && known ? 200 : 404, { changed: !!(review && known) });
    } else if (path === '/_sim/reset' && req.method === 'POST') {
      reviews.clear();
      updated.clear();
      received.length = 0;
      notifications.length = 0;
      subscriptions.length = 0;
      send(res, 204, {});
    } else return false;
    return true;
  }

  const server: Server = createServer((req, res) => {
    const path = (req.url ?? '/').split('?')[0]!;
    const run = async () => {
      if (await hooks(req, res, path)) return;
      if (path === '/oauth/token' && req.method === 'POST') return issueToken(req, res);
      if (path === '/fhir/metadata' && req.method === 'GET') {
        return send(res, 200, {
          resourceType: 'CapabilityStatement',
          status: 'active',
          date: '2026-01-01',
          kind: 'instance',
          fhirVersion: '4.0.1',
          format: ['json'],
          rest: [
            {
              mode: 'server',
              resource: [
                {
                  type: 'Claim',
                  operation: [
                    {
                      name: 'submit',
                      definition: 'http://hl7.org/fhir/us/davinci-pas/OperationDefinition/Claim-submit',
                    },
                    {
                      name: 'inquire',
                      definition: 'http://hl7.org/fhir/us/davinci-pas/OperationDefinition/Claim-inquiry',
                    },
                  ],
                },
              ],
            },
          ],
        });
      }
      if (!path.startsWith('/fhir/'))
        return send(res, 404, operationOutcome([{ code: 'not-found', text: 'unknown path' }]));
      if (!authorized(req)) {
        record({ kind: 'other', accepted: false, disposition: 'http-401' });
        return send(
          res,
          401,
          operationOutcome([{ code: 'login', text: 'a valid bearer token is required' }]),
          {
            'www-authenticate': 'Bearer error="invalid_token"',
          },
        );
      }
      if (req.method === 'POST' && path === '/fhir/Claim/$submit') return submit(req, res);
      if (req.method === 'POST' && path === '/fhir/Claim/$inquire') return inquire(req, res);
      // A payer may host $submit-attachment apart from its PAS base (the channel's attachmentUrl): any path here.
      if (req.method === 'POST' && path.endsWith('/$submit-attachment'))
        return submitAttachment(changes, req, res, path);
      if (req.method === 'POST' && path === '/fhir/Subscription') return subscribe(req, res);
      send(
        res,
        404,
        operationOutcome([{ code: 'not-supported', text: `${req.method} ${path} is not supported` }]),
      );
    };
    run().catch((error) => {
      if (res.headersSent || req.socket.destroyed) return;
      if (error instanceof BadRequest) {
        send(
          res,
          400,
          operationOutcome([{ code: 'invalid', text: error.message, expression: error.expression }]),
        );
      } else {
        send(res, 400, operationOutcome([{ code: 'invalid', text: (error as Error).message }]));
      }
    });
  });

  await new Promise<void>((resolve) =>
    server.listen(options.port ?? 0, options.host ?? '127.0.0.1', resolve),
  );
  const address = server.address() as AddressInfo;
  const url = `http://${address.address}:${address.port}`;
  tokenUrl = `${url}/oauth/token`;
  return {
    url,
    fhirBase: `${url}/fhir`,
    tokenUrl,
    stop: () =>
      new Promise<void>((resolve) => {
        for (const t of timers) clearTimeout(t);
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}
