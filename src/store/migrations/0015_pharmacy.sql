-- Pharmacy prior authorization (issue #15): one row per PA flag a pharmacy system posted, from its receipt through
-- drafting to the case it became. Plain SQL, valid on PostgreSQL 15+ and PGlite. Independent of 0009-0014.
--
-- The flag's bytes are in inbound_messages (message_key); this row holds what the gateway read from them (ids and
-- codes) and what drafting made of them. A flag becomes a case only once drafting has what a request needs; until
-- then (or when the pharmacy system does not say, e.g. no cardholder id) it is tracked here, never lost.
CREATE TABLE pharmacy_requests (
  id              uuid        PRIMARY KEY,
  tenant_id       text        NOT NULL,
  sender          text        NOT NULL,
  prescription_id text        NOT NULL,
  event           text        NOT NULL,
  message_key     text        NOT NULL,
  flag            jsonb       NOT NULL,
  -- received: waiting for drafting; drafted: the case exists (case_id); needs_info: the pharmacy system did not
  -- give what a request needs (problems name it); failed: drafting gave up (the pharmacy system unreachable).
  status          text        NOT NULL CHECK (status IN ('received', 'drafted', 'needs_info', 'failed')),
  case_id         uuid,
  draft           jsonb,
  problems        jsonb,
  received_at     timestamptz NOT NULL,
  drafted_at      timestamptz,
  updated_at      timestamptz NOT NULL,
  -- Duplicates by (sender, prescription, event) are one flag (issue #15).
  CONSTRAINT pharmacy_requests_flag UNIQUE (tenant_id, sender, prescription_id, event)
);
CREATE INDEX pharmacy_requests_by_case ON pharmacy_requests (case_id) WHERE case_id IS NOT NULL;
