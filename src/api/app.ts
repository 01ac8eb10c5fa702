/**
 * The HTTP API as an app factory: buildApp(deps) returns an express app with no listening socket, so tests
 * drive it in-process and `pagw start` mounts it on a server.
 */
import express, { type NextFunction, type Request, type Response } from 'express';
import type { Clock } from '../clock.ts';
import { GatewayError, isGatewayError } from '../errors/index.ts';
import { describeError, type Logger } from '../log/logger.ts';
import type { Database } from '../store/index.ts';
import { authenticate } from './auth.ts';
import type { PayerInfoLookup } from './case-views.ts';
import { casesRouter } from './cases-routes.ts';
import { operationOutcomeFor } from './operation-outcome.ts';

export interface ApiDeps {
  db: Database;
  clock: Clock;
  logger: Logger;
  /** Routers mounted after authentication (inbound orders, review console …), added by later layers. */
  routers?: express.Router[];
  /** Routers mounted BEFORE authentication: only what holds no tenant data (the console's static files). */
  publicRouters?: express.Router[];
  /** Fee schedules for the operational case view's expected reimbursement (src/outbound/planner.ts payerInfoFor). */
  payerInfo?: PayerInfoLookup;
}

export function buildApp(deps: ApiDeps): express.Express {
  const app = express();
  app.disable('x-powered-by');
  app.set('etag', false);
  app.get('/healthz', (_req, res) => {
    res.json({ status: 'ok' });
  });
  app.get('/readyz', async (_req, res) => {
    try {
      await deps.db.pool.query('SELECT 1');
      res.json({ status: 'ready', database: deps.db.kind });
    } catch {
      res.status(503).json({ status: 'unavailable', database: deps.db.kind });
    }
  });

  for (const router of deps.publicRouters ?? []) app.use(router);
  // Authentication before any body is read: a caller without a valid token gets 401 and nothing of what it
  // sent is parsed (no parse errors, size limits or body-driven work for anonymous callers). Public routers
  // (above) get no parsed body: one that needs a body reads it itself.
  app.use(authenticate(deps.db.pool));
  const parseJson = express.json({ limit: '5mb', type: ['application/json', 'application/fhir+json'] });
  // Orders keep their exact bytes (idempotency keys, dead letters, audit): their router reads the raw body itself.
  app.use((req, res, next) => (req.path.startsWith('/orders/') ? next() : parseJson(req, res, next)));
  app.use(
    casesRouter(deps.db.pool, {
      now: () => deps.clock.now(),
      ...(deps.payerInfo ? { payerInfo: deps.payerInfo } : {}),
    }),
  );
  for (const router of deps.routers ?? []) app.use(router);

  app.use((_req: Request, _res: Response) => {
    throw new GatewayError('PAGW_HTTP_NOT_FOUND', 'No such endpoint');
  });
  app.use((error: unknown, req: Request, res: Response, _next: NextFunction) => {
    const parseFailure = (error as { type?: string }).type === 'entity.parse.failed';
    const mapped = parseFailure
      ? new GatewayError('PAGW_INPUT_UNREADABLE', 'The request body is not valid JSON')
      : error;
    const { status, body } = operationOutcomeFor(mapped);
    // Back-pressure: tell the sender when to come back (RFC 9110 §10.2.3).
    if (isGatewayError(mapped) && mapped.code === 'PAGW_INBOUND_BUSY') res.set('Retry-After', '2');
    else if (status >= 500)
      deps.logger.error(
        { method: req.method, route: req.route?.path, ...describeError(error) },
        'request failed',
      );
    res.status(status).type('application/fhir+json').send(JSON.stringify(body));
  });
  return app;
}
