-- Da Vinci PAS: the subscriptions the gateway holds at payers (rest-hook notifications for pended requests) and
-- the subscriptions EHRs hold at the gateway (notifications when a pended case is decided).
-- Plain SQL, valid on PostgreSQL 15+ and PGlite.

-- One subscription per tenant, payer and requesting organization (the PAS topic's orgIdentifier filter). The
-- payer sends the notification with the header we gave it; we keep only a hash of that token.
CREATE TABLE pas_payer_subscriptions (
  tenant_id        text        NOT NULL,
  payer_id         text        NOT NULL,
  org_identifier   text        NOT NULL,
  subscription_id  text        NOT NULL,
  token_sha256     text        NOT NULL UNIQUE,
  endpoint         text        NOT NULL,
  created_at       timestamptz NOT NULL,
  PRIMARY KEY (tenant_id, payer_id, org_identifier)
);

-- Subscriptions of EHR clients to the PAS topic at our /fhir/Subscription. The headers the EHR asked us to send
-- may hold its own credentials: they are kept as given, never logged, never returned by an API.
CREATE TABLE pas_ehr_subscriptions (
  id               uuid        PRIMARY KEY,
  tenant_id        text        NOT NULL,
  status           text        NOT NULL CHECK (status IN ('active', 'off', 'error')),
  endpoint         text        NOT NULL,
  headers          jsonb       NOT NULL DEFAULT '[]',
  payload          text        NOT NULL CHECK (payload IN ('empty', 'id-only', 'full-resource')),
  org_identifier   text,
  events           integer     NOT NULL DEFAULT 0,
  created_by       text        NOT NULL,
  created_at       timestamptz NOT NULL,
  resource         jsonb       NOT NULL
);
CREATE INDEX pas_ehr_subscriptions_by_tenant ON pas_ehr_subscriptions (tenant_id) WHERE status = 'active';

-- Which case events each EHR subscription was notified of: a redelivered bus message never notifies twice.
CREATE TABLE pas_ehr_notifications (
  subscription_id  uuid        NOT NULL REFERENCES pas_ehr_subscriptions (id),
  event_id         uuid        NOT NULL,
  case_id          uuid        NOT NULL,
  event_number     integer     NOT NULL,
  status           integer     NOT NULL,
  delivered_at     timestamptz NOT NULL,
  PRIMARY KEY (subscription_id, event_id)
);
