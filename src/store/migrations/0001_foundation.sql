-- Foundation: cases, their append-only event log, the transactional outbox, inbound idempotency,
-- timers, the hash-chained audit log and API tokens. Plain SQL, valid on PostgreSQL 15+ and PGlite.

CREATE TABLE cases (
  id              uuid PRIMARY KEY,
  tenant_id       text        NOT NULL,
  state           text        NOT NULL,
  version         integer     NOT NULL DEFAULT 1,
  idempotency_key text        NOT NULL,
  request         jsonb       NOT NULL,
  decision        jsonb,
  payer_id        text,
  channel         text,
  rule_version    text,
  sla_due_at      timestamptz,
  created_at      timestamptz NOT NULL,
  updated_at      timestamptz NOT NULL,
  CONSTRAINT cases_idempotency UNIQUE (tenant_id, idempotency_key)
);
CREATE INDEX cases_by_tenant_state ON cases (tenant_id, state, updated_at DESC, id);

CREATE TABLE case_events (
  id           bigserial   PRIMARY KEY,
  case_id      uuid        NOT NULL REFERENCES cases (id),
  tenant_id    text        NOT NULL,
  seq          integer     NOT NULL,
  event        text        NOT NULL,
  from_state   text,
  to_state     text        NOT NULL,
  actor        text        NOT NULL,
  on_behalf_of text,
  data         jsonb       NOT NULL DEFAULT '{}'::jsonb,
  at           timestamptz NOT NULL,
  CONSTRAINT case_events_seq UNIQUE (case_id, seq)
);

CREATE TABLE outbox (
  id           bigserial   PRIMARY KEY,
  event_id     uuid        NOT NULL UNIQUE,
  tenant_id    text        NOT NULL,
  case_id      uuid,
  topic        text        NOT NULL,
  message_key  text,
  headers      jsonb       NOT NULL DEFAULT '{}'::jsonb,
  value        bytea       NOT NULL,
  created_at   timestamptz NOT NULL,
  published_at timestamptz,
  attempts     integer     NOT NULL DEFAULT 0,
  last_error   text
);
CREATE INDEX outbox_unpublished ON outbox (id) WHERE published_at IS NULL;

-- One row per inbound message (not per case): its idempotency key, its original bytes and what became of it.
CREATE TABLE inbound_messages (
  tenant_id   text        NOT NULL,
  message_key text        NOT NULL,
  format      text        NOT NULL,
  raw         bytea       NOT NULL,
  received_at timestamptz NOT NULL,
  outcome     text        NOT NULL,
  case_ids    uuid[]      NOT NULL DEFAULT '{}',
  problems    jsonb,
  PRIMARY KEY (tenant_id, message_key)
);

CREATE TABLE timers (
  id           bigserial   PRIMARY KEY,
  tenant_id    text        NOT NULL,
  case_id      uuid        REFERENCES cases (id),
  kind         text        NOT NULL,
  due_at       timestamptz NOT NULL,
  payload      jsonb       NOT NULL DEFAULT '{}'::jsonb,
  created_at   timestamptz NOT NULL,
  fired_at     timestamptz,
  fired_by     text,
  cancelled_at timestamptz,
  attempts     integer     NOT NULL DEFAULT 0,
  last_error   text
);
CREATE INDEX timers_due ON timers (due_at) WHERE fired_at IS NULL AND cancelled_at IS NULL;

CREATE TABLE audit_log (
  seq          bigint      PRIMARY KEY,
  at           timestamptz NOT NULL,
  tenant_id    text        NOT NULL,
  actor        text        NOT NULL,
  on_behalf_of text,
  action       text        NOT NULL,
  case_id      uuid,
  details      jsonb       NOT NULL DEFAULT '{}'::jsonb,
  prev_hash    text        NOT NULL,
  hash         text        NOT NULL
);
CREATE INDEX audit_log_by_case ON audit_log (case_id, seq);

-- The chain head: appending locks this one row, so audit rows get gap-free sequence numbers in commit order.
CREATE TABLE audit_head (
  id   smallint PRIMARY KEY CHECK (id = 1),
  seq  bigint   NOT NULL,
  hash text     NOT NULL
);
INSERT INTO audit_head (id, seq, hash) VALUES (1, 0, 'genesis');

CREATE TABLE api_tokens (
  id         uuid        PRIMARY KEY,
  token_hash text        NOT NULL UNIQUE,
  tenant_id  text        NOT NULL,
  roles      text[]      NOT NULL,
  label      text,
  created_at timestamptz NOT NULL,
  revoked_at timestamptz
);

-- Append-only tables refuse UPDATE and DELETE. A DBA can still disable the trigger; `pagw audit verify`
-- catches what that lets through.
CREATE FUNCTION pagw_refuse_change() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  RAISE EXCEPTION 'table % is append-only', TG_TABLE_NAME USING ERRCODE = 'insufficient_privilege';
END;
$$;
CREATE TRIGGER audit_log_append_only BEFORE UPDATE OR DELETE ON audit_log
  FOR EACH ROW EXECUTE FUNCTION pagw_refuse_change();
CREATE TRIGGER case_events_append_only BEFORE UPDATE OR DELETE ON case_events
  FOR EACH ROW EXECUTE FUNCTION pagw_refuse_change();
