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
 *
 * This file starts the server and keeps its state, routes and test hooks; the handlers live beside it: smart-auth.ts
 * (token, bearer check), claims.ts ($submit, $inquire), changes.ts (Claim updates, $submit-attachment),
 * subscriptions.ts (Subscription, notifications, deciding a pended review), review-answers.ts (what a review
 * answers), http.ts (body, JSON answer); sim-state.ts holds the state's types.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { JSONWebKeySet } from 'jose';
import { type SimChanges, submitAttachment } from './changes.ts';
import { createClaims } from './claims.ts';
import { BadRequest, operationOutcome } from './fhir.ts';
import { readBody, send } from './http.ts';
import { answerOf } from './review-answers.ts';
import type { PasNotification, PasReceived, PasSimState, Review, Subscription } from './sim-state.ts';
import { createSmartAuth } from './smart-auth.ts';
import { createSubscriptions } from './subscriptions.ts';

export type { PasNotification, PasReceived, Review } from './sim-state.ts';

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

  const record = (entry: Omit<PasReceived, 'seq' | 'at'>) =>
    received.push({ seq: received.length + 1, at: new Date().toISOString(), ...entry });

  const sim: PasSimState = {
    slowMs,
    notifyAfterMs,
    ttl,
    clients,
    tokens,
    seenJti,
    reviews,
    updated,
    subscriptions,
    received,
    notifications,
    rateLimited,
    dropped,
    timers,
    tokenUrl: '',
    record,
  };
  const { authorized, issueToken } = createSmartAuth(sim);
  const { notify, decide, subscribe } = createSubscriptions(sim);

  const changes: SimChanges = { reviews, updated, record, answerOf, send, readBody };
  const { submit, inquire } = createClaims(sim, decide, changes);

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
  sim.tokenUrl = `${url}/oauth/token`;
  return {
    url,
    fhirBase: `${url}/fhir`,
    tokenUrl: sim.tokenUrl,
    stop: () =>
      new Promise<void>((resolve) => {
        for (const t of timers) clearTimeout(t);
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}
