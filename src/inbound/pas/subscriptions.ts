/**
 * EHR subscriptions to the PAS topic (R4 Subscriptions Backport, rest-hook), and their notifications:
 *
 *   POST /fhir/Subscription      a Subscription to `…/SubscriptionTopic/PASSubscriptionTopic`, channel rest-hook,
 *                                optional filter `orgIdentifier=<NPI>`, payload id-only or full-resource → 201
 *   GET  /fhir/Subscription/:id  the tenant's own subscription (status, without the headers it gave us)
 *
 * Notifications: `createPasNotifier` is a bus handler on the ClaimResponse topic. When a case is decided, every
 * active subscription of its tenant (whose orgIdentifier is the case's requesting NPI, or that has no filter)
 * gets a notification Bundle (type history: SubscriptionStatus Parameters, then — full-resource — the case's PAS
 * response Bundle). Each delivery is recorded (pas_ehr_notifications), so a redelivered bus message notifies no
 * one twice; a failed delivery throws a retriable error and the bus tries again.
 */
import { randomUUID } from 'node:crypto';
import type { Bundle, Subscription } from '@medplum/fhirtypes';
import { type Request, type Response, Router } from 'express';
import { principalOf, requireRole } from '../../api/auth.ts';
import { appendAudit } from '../../audit/audit-log.ts';
import type { IncomingMessage, MessageHandler } from '../../bus/port.ts';
import type { Clock } from '../../clock.ts';
import { GatewayError } from '../../errors/index.ts';
import type { Logger } from '../../log/logger.ts';
import { OutboundHeader, type PayerInfo, type TenantSettings } from '../../outbound/index.ts';
import { type CaseRecord, type Database, getCase } from '../../store/index.ts';
import { OutboxHeader } from '../../store/outbox.ts';
import { withTransaction } from '../../store/sql.ts';
import { answerForCase } from './answer.ts';

export const PAS_TOPIC = 'http://hl7.org/fhir/us/davinci-pas/SubscriptionTopic/PASSubscriptionTopic';
const BACKPORT = 'http://hl7.org/fhir/uv/subscriptions-backport/StructureDefinition';
const FHIR_JSON = 'application/fhir+json';

interface Row {
  id: string;
  tenant_id: string;
  status: string;
  endpoint: string;
  headers: string[];
  payload: 'empty' | 'id-only' | 'full-resource';
  org_identifier: string | null;
  resource: Subscription;
}

function invalid(message: string, location: string): GatewayError {
  return new GatewayError('PAGW_PAS_SUBSCRIPTION_INVALID', message, { problems: [{ location, message }] });
}

function parseSubscription(body: unknown) {
  const s = body as Subscription | undefined;
  if (s?.resourceType !== 'Subscription') throw invalid('expected a Subscription', 'Subscription');
  if (s.criteria !== PAS_TOPIC)
    throw invalid(`criteria must be the PAS topic ${PAS_TOPIC}`, 'Subscription.criteria');
  if (s.channel?.type !== 'rest-hook')
    throw invalid('only rest-hook channels are supported', 'Subscription.channel.type');
  if (!s.channel.endpoint || !/^https?:\/\//.test(s.channel.endpoint)) {
    throw invalid('channel.endpoint must be an http(s) URL', 'Subscription.channel.endpoint');
  }
  const ext = (list: { url: string; valueString?: string; valueCode?: string }[] | undefined, name: string) =>
    list?.find((e) => e.url === `${BACKPORT}/${name}`);
  // Primitive extensions (_criteria, _payload) are not in the R4 types: read them as JSON.
  type WithExtensions = { _criteria?: { extension?: [] }; channel: { _payload?: { extension?: [] } } };
  const raw = s as unknown as WithExtensions;
  const filter = ext(raw._criteria?.extension, 'backport-filter-criteria')?.valueString ?? '';
  if (filter && !/^orgIdentifier=\S+$/.test(filter)) {
    throw invalid('the PAS topic filters by orgIdentifier=<NPI> only', 'Subscription._criteria.extension');
  }
  const payload = ext(raw.channel._payload?.extension, 'backport-payload-content')?.valueCode ?? 'id-only';
  if (!['empty', 'id-only', 'full-resource'].includes(payload)) {
    throw invalid('payload content must be empty, id-only or full-resource', 'Subscription.channel._payload');
  }
  return {
    endpoint: s.channel.endpoint,
    headers: (s.channel.header ?? []).filter((h) => h.includes(':')),
    payload: payload as Row['payload'],
    orgIdentifier: filter ? filter.slice('orgIdentifier='.length) : null,
    resource: s,
  };
}

/** The subscription as we show it back: without the headers (they may hold the EHR's credentials). */
function shown(row: Pick<Row, 'id' | 'status' | 'resource'>): Subscription {
  const { header: _h, ...channel } = row.resource.channel;
  return { ...row.resource, id: row.id, status: row.status as Subscription['status'], channel };
}

export function pasSubscriptionRouter(deps: { db: Database; clock: Clock }): Router {
  const router = Router();
  router.post('/fhir/Subscription', requireRole('ehr'), async (req: Request, res: Response) => {
    const principal = principalOf(res);
    const parsed = parseSubscription(req.body);
    const id = randomUUID();
    const at = deps.clock.now();
    await withTransaction(deps.db.pool, async (tx) => {
      await tx.query(
        `INSERT INTO pas_ehr_subscriptions (id, tenant_id, status, endpoint, headers, payload, org_identifier, created_by, created_at, resource)
         VALUES ($1, $2, 'active', $3, $4, $5, $6, $7, $8, $9)`,
        [
          id,
          principal.tenant,
          parsed.endpoint,
          JSON.stringify(parsed.headers),
          parsed.payload,
          parsed.orgIdentifier,
          `token:${principal.tokenId}`,
          at,
          parsed.resource,
        ],
      );
      await appendAudit(tx, {
        tenant: principal.tenant,
        actor: { id: `token:${principal.tokenId}`, onBehalfOf: `tenant:${principal.tenant}` },
        action: 'pas.subscription_created',
        details: { subscriptionId: id, payload: parsed.payload, filtered: parsed.orgIdentifier !== null },
        at,
      });
    });
    res.status(201).setHeader('Location', `/fhir/Subscription/${id}`);
    res.type(FHIR_JSON).send(JSON.stringify(shown({ id, status: 'active', resource: parsed.resource })));
  });
  router.get('/fhir/Subscription/:id', requireRole('ehr'), async (req: Request, res: Response) => {
    const principal = principalOf(res);
    const id = String(req.params.id);
    const { rows } = /^[0-9a-f-]{36}$/i.test(id)
      ? await deps.db.pool.query<Row>(
          'SELECT * FROM pas_ehr_subscriptions WHERE id = $1 AND tenant_id = $2',
          [id, principal.tenant],
        )
      : { rows: [] as Row[] };
    if (!rows[0]) throw new GatewayError('PAGW_HTTP_NOT_FOUND', 'No such subscription');
    res.type(FHIR_JSON).send(JSON.stringify(shown(rows[0])));
  });
  return router;
}

/** The backport notification Bundle for one event of a subscription. */
export function notificationFor(
  subscriptionId: string,
  eventNumber: number,
  response: Bundle,
  payload: Row['payload'],
  at: Date,
): Bundle {
  const focus = `urn:uuid:${response.id ?? randomUUID()}`;
  return {
    resourceType: 'Bundle',
    type: 'history',
    timestamp: at.toISOString(),
    entry: [
      {
        fullUrl: `urn:uuid:${randomUUID()}`,
        resource: {
          resourceType: 'Parameters',
          parameter: [
            { name: 'subscription', valueReference: { reference: `Subscription/${subscriptionId}` } },
            { name: 'topic', valueCanonical: PAS_TOPIC },
            { name: 'status', valueCode: 'active' },
            { name: 'type', valueCode: 'event-notification' },
            { name: 'events-since-subscription-start', valueString: String(eventNumber) },
            {
              name: 'notification-event',
              part: [
                { name: 'event-number', valueString: String(eventNumber) },
                { name: 'timestamp', valueInstant: at.toISOString() },
                ...(payload === 'empty' ? [] : [{ name: 'focus', valueReference: { reference: focus } }]),
              ],
            },
          ],
        },
        request: { method: 'GET', url: `Subscription/${subscriptionId}/$status` },
        response: { status: '200' },
      },
      ...(payload === 'full-resource' ? [{ fullUrl: focus, resource: response }] : []),
    ],
  };
}

export interface PasNotifierDeps {
  readonly db: Database;
  readonly clock: Clock;
  readonly logger: Logger;
  readonly tenants: { get(tenant: string): Readonly<TenantSettings> };
  readonly payerInfo?: (record: CaseRecord, at: Date) => PayerInfo | undefined;
  readonly timeoutMs: number;
  readonly fetch?: typeof fetch;
}

/** Bus handler on the ClaimResponse topic: notifies subscribed EHRs when a case is decided. */
export function createPasNotifier(deps: PasNotifierDeps): MessageHandler {
  const doFetch = deps.fetch ?? fetch;
  return async (message: IncomingMessage) => {
    const h = message.headers;
    if (h[OutboundHeader.kind] !== 'claimresponse' || h[OutboundHeader.caseState] !== 'decided') return;
    const tenant = h[OutboxHeader.tenant];
    const caseId = h[OutboxHeader.caseId];
    const eventId = h[OutboxHeader.eventId];
    if (!tenant || !caseId || !eventId) return;
    const { rows: subscriptions } = await deps.db.pool.query<Row>(
      `SELECT s.* FROM pas_ehr_subscriptions s
        WHERE s.tenant_id = $1 AND s.status = 'active'
          AND NOT EXISTS (SELECT 1 FROM pas_ehr_notifications n WHERE n.subscription_id = s.id AND n.event_id = $2)`,
      [tenant, eventId],
    );
    if (subscriptions.length === 0) return;
    const record = await getCase(deps.db.pool, tenant, caseId);
    if (!record) return;
    const npi = record.request.requestingProvider?.npi;
    const targets = subscriptions.filter((s) => !s.org_identifier || s.org_identifier === npi);
    if (targets.length === 0) return;
    const at = deps.clock.now();
    const payer = deps.payerInfo?.(record, at);
    const response = await answerForCase(deps.db.pool, record, {
      tenant: deps.tenants.get(tenant),
      ...(payer ? { payer } : {}),
      at,
      kind: 'submit',
    });
    let failed = 0;
    for (const s of targets) {
      const { rows } = await deps.db.pool.query<{ events: number }>(
        'UPDATE pas_ehr_subscriptions SET events = events + 1 WHERE id = $1 RETURNING events',
        [s.id],
      );
      const eventNumber = rows[0]!.events;
      const headers: Record<string, string> = { 'content-type': FHIR_JSON };
      for (const line of s.headers) {
        const colon = line.indexOf(':');
        headers[line.slice(0, colon).trim()] = line.slice(colon + 1).trim();
      }
      let status = 0;
      try {
        const res = await doFetch(s.endpoint, {
          method: 'POST',
          headers,
          body: JSON.stringify(notificationFor(s.id, eventNumber, response, s.payload, at)),
          signal: AbortSignal.timeout(deps.timeoutMs),
        });
        status = res.status;
        await res.body?.cancel().catch(() => undefined);
      } catch {
        status = 0;
      }
      if (status >= 200 && status < 300) {
        await deps.db.pool.query(
          `INSERT INTO pas_ehr_notifications (subscription_id, event_id, case_id, event_number, status, delivered_at)
           VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT DO NOTHING`,
          [s.id, eventId, caseId, eventNumber, status, deps.clock.now()],
        );
      } else {
        failed++;
        deps.logger.warn({ subscriptionId: s.id, caseId, status }, 'pas notification not delivered');
      }
    }
    if (failed > 0) {
      throw new GatewayError(
        'PAGW_PAS_UNREACHABLE',
        `${failed} PAS notification(s) not delivered; retrying`,
        { retriable: true },
      );
    }
  };
}
