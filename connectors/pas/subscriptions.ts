/**
 * Our subscriptions at payers (migration 0011_pas.sql, pas_payer_subscriptions): for a payer that offers the PAS
 * topic (channel `subscriptions: true`), the first pended request of a tenant and requesting organization creates
 * an R4-backport rest-hook Subscription there, pointing at the gateway's notification endpoint with a bearer token
 * only that subscription knows (we keep its SHA-256). A notification is never trusted alone: it only makes the
 * workflow ask the payer ($inquire) now instead of at the next scheduled inquiry.
 * @see http://hl7.org/fhir/us/davinci-pas/STU2.2/specification.html#subscription
 */
import { createHash, randomBytes } from 'node:crypto';
import type pg from 'pg';
import { PersistError } from '../../src/errors/index.ts';
import type { Sql } from '../../src/store/sql.ts';

export const PAS_TOPIC = 'http://hl7.org/fhir/us/davinci-pas/SubscriptionTopic/PASSubscriptionTopic';
const BACKPORT = 'http://hl7.org/fhir/uv/subscriptions-backport/StructureDefinition';

export interface PayerSubscription {
  readonly tenant: string;
  readonly payerId: string;
  readonly orgIdentifier: string;
  readonly subscriptionId: string;
}

export interface PayerSubscriptionStore {
  find(tenant: string, payerId: string, orgIdentifier: string): Promise<PayerSubscription | undefined>;
  save(subscription: PayerSubscription & { token: string; endpoint: string; at: Date }): Promise<void>;
  /** The subscription a notification's bearer token belongs to, for this payer. */
  byToken(payerId: string, token: string): Promise<PayerSubscription | undefined>;
}

export const sha256 = (text: string) => createHash('sha256').update(text).digest('hex');

export function newNotificationToken(): string {
  return randomBytes(32).toString('base64url');
}

export function createPayerSubscriptionStore(db: Pick<pg.Pool, 'query'> | Sql): PayerSubscriptionStore {
  const fail = (error: unknown): never => {
    throw new PersistError('PAGW_STORE_UNAVAILABLE', 'Could not read or write PAS payer subscriptions', {
      cause: error,
    });
  };
  const toSubscription = (r: {
    tenant_id: string;
    payer_id: string;
    org_identifier: string;
    subscription_id: string;
  }) => ({
    tenant: r.tenant_id,
    payerId: r.payer_id,
    orgIdentifier: r.org_identifier,
    subscriptionId: r.subscription_id,
  });
  return {
    async find(tenant, payerId, orgIdentifier) {
      const { rows } = await db
        .query(
          `SELECT tenant_id, payer_id, org_identifier, subscription_id FROM pas_payer_subscriptions
            WHERE tenant_id = $1 AND payer_id = $2 AND org_identifier = $3`,
          [tenant, payerId, orgIdentifier],
        )
        .catch(fail);
      return rows[0] ? toSubscription(rows[0]) : undefined;
    },
    async save(s) {
      await db
        .query(
          `INSERT INTO pas_payer_subscriptions (tenant_id, payer_id, org_identifier, subscription_id, token_sha256, endpoint, created_at)
           VALUES ($1, $2, $3, $4, $5, $6, $7) ON CONFLICT (tenant_id, payer_id, org_identifier) DO NOTHING`,
          [s.tenant, s.payerId, s.orgIdentifier, s.subscriptionId, sha256(s.token), s.endpoint, s.at],
        )
        .catch(fail);
    },
    async byToken(payerId, token) {
      const { rows } = await db
        .query(
          `SELECT tenant_id, payer_id, org_identifier, subscription_id FROM pas_payer_subscriptions
            WHERE payer_id = $1 AND token_sha256 = $2`,
          [payerId, sha256(token)],
        )
        .catch(fail);
      return rows[0] ? toSubscription(rows[0]) : undefined;
    },
  };
}

/** The Subscription resource we post to a payer (PAS profile-subscription, R4 backport). */
export function payerSubscriptionResource(endpoint: string, token: string, orgIdentifier: string) {
  return {
    resourceType: 'Subscription',
    meta: { profile: ['http://hl7.org/fhir/us/davinci-pas/StructureDefinition/profile-subscription'] },
    status: 'requested',
    reason: 'PA Gateway: decisions on pended prior authorization requests',
    criteria: PAS_TOPIC,
    _criteria: {
      extension: [
        { url: `${BACKPORT}/backport-filter-criteria`, valueString: `orgIdentifier=${orgIdentifier}` },
      ],
    },
    channel: {
      type: 'rest-hook',
      endpoint,
      payload: 'application/fhir+json',
      _payload: { extension: [{ url: `${BACKPORT}/backport-payload-content`, valueCode: 'full-resource' }] },
      header: [`Authorization: Bearer ${token}`],
    },
  };
}
