/**
 * `POST /pas/notifications/:payerId`: where payers deliver the PAS topic notifications (R4 Subscriptions Backport,
 * rest-hook) of the subscriptions connector.ts made there. Mounted before API authentication: a payer holds no API
 * token of ours, it sends the bearer token of its subscription instead (we keep only its SHA-256).
 *
 * A notification is never trusted alone: it names cases (by the Claim identifiers — our case traces — in a
 * full-resource payload, else every pended PAS case of that tenant at that payer) whose next workflow step is
 * moved to now, and that step asks the payer with `$inquire`. The notification's content decides nothing.
 */
import express, { type Request, type Response, Router } from 'express';
import { appendAudit } from '../../src/audit/audit-log.ts';
import type { Clock } from '../../src/clock.ts';
import { GatewayError } from '../../src/errors/index.ts';
import type { Database } from '../../src/store/index.ts';
import { withTransaction } from '../../src/store/sql.ts';
import { scheduleAdvance } from '../../src/workers/case-advancer.ts';
import type { PayerSubscriptionStore } from './subscriptions.ts';

/** Cases one id-only notification can wake at most (the rest stay on their inquiry schedule). */
const maxWoken = 500;

type Json = Record<string, unknown>;

/** Claim identifier values named by ClaimResponses anywhere in the notification (nested response Bundles). */
export function notifiedTraces(body: unknown): string[] {
  const found = new Set<string>();
  const visit = (node: unknown, depth: number) => {
    if (depth > 6 || node === null || typeof node !== 'object') return;
    const r = node as Json;
    if (r.resourceType === 'ClaimResponse') {
      const ids = [
        ...((r.identifier as Json[] | undefined) ?? []),
        (r.request as Json | undefined)?.identifier as Json,
      ];
      for (const id of ids) {
        const value = typeof id?.value === 'string' ? id.value : undefined;
        if (value) found.add(value.replace(/-C$/, ''));
      }
      return;
    }
    if (r.resourceType === 'Bundle') {
      for (const e of (r.entry as Json[] | undefined) ?? []) visit(e.resource, depth + 1);
    }
  };
  visit(body, 0);
  return [...found];
}

export function pasNotificationRouter(deps: {
  db: Database;
  clock: Clock;
  subscriptions: PayerSubscriptionStore;
}): Router {
  const router = Router();
  const json = express.json({ limit: '5mb', type: ['application/json', 'application/fhir+json'] });
  router.post('/pas/notifications/:payerId', async (req: Request, res: Response) => {
    const payerId = String(req.params.payerId);
    const header = req.headers.authorization ?? '';
    const token = header.startsWith('Bearer ') ? header.slice(7).trim() : '';
    const subscription = token ? await deps.subscriptions.byToken(payerId, token) : undefined;
    if (!subscription) {
      throw new GatewayError('PAGW_PAS_NOTIFICATION_REFUSED', 'Not a notification of a subscription we hold');
    }
    await new Promise<void>((resolve, reject) =>
      json(req, res, (error?: unknown) => (error ? reject(error) : resolve())),
    );
    const traces = notifiedTraces(req.body);
    const at = deps.clock.now();
    const { rows } =
      traces.length > 0
        ? // A named request already decided is asked again too: the payer may have changed its decision
          // (decision_updated, src/workers/case-advancer.ts recheck).
          await deps.db.pool.query<{ id: string; state: string }>(
            `SELECT DISTINCT c.id, c.state FROM payer_submissions s JOIN cases c ON c.id = s.case_id
              WHERE s.channel = 'pas' AND s.payer_id = $1 AND s.tenant_id = $2 AND s.trace_number = ANY($3)
                AND c.state IN ('pended', 'decided', 'delivered')`,
            [payerId, subscription.tenant, traces],
          )
        : await deps.db.pool.query<{ id: string; state: string }>(
            `SELECT id, state FROM cases WHERE tenant_id = $1 AND payer_id = $2 AND channel = 'pas' AND state = 'pended'
              ORDER BY updated_at LIMIT ${maxWoken}`,
            [subscription.tenant, payerId],
          );
    await withTransaction(deps.db.pool, async (tx) => {
      for (const row of rows)
        await scheduleAdvance(
          tx,
          { tenant: subscription.tenant, id: row.id },
          at,
          at,
          'payer',
          row.state === 'pended' ? undefined : { recheck: true, via: 'pas-notification' },
        );
      await appendAudit(tx, {
        tenant: subscription.tenant,
        actor: { id: `payer:${payerId}`, onBehalfOf: `subscription:${subscription.subscriptionId}` },
        action: 'pas.notification_received',
        details: {
          payerId,
          subscriptionId: subscription.subscriptionId,
          cases: rows.map((r) => r.id),
          named: traces.length,
        },
        at,
      });
    });
    res.status(200).json({ received: true, inquiring: rows.length });
  });
  return router;
}
