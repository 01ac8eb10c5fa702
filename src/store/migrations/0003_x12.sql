-- X12 trading-partner state: interchange/group control numbers and every payer exchange attempt.
-- Plain SQL, valid on PostgreSQL 15+ and PGlite.

-- Control numbers per sender/receiver pair. Allocation is one atomic upsert (the row lock serializes concurrent
-- allocators), so two interchanges never share an ISA13 or GS06; the value wraps after 999999999.
CREATE TABLE x12_control_numbers (
  sender_id   text        NOT NULL,
  receiver_id text        NOT NULL,
  kind        text        NOT NULL CHECK (kind IN ('interchange', 'group')),
  last_value  bigint      NOT NULL CHECK (last_value BETWEEN 1 AND 999999999),
  updated_at  timestamptz NOT NULL,
  PRIMARY KEY (sender_id, receiver_id, kind)
);

-- Every exchange with a payer (278 submit, 278 inquiry, reconciliation, cancel, 270 eligibility), recorded and
-- committed BEFORE it is sent, then completed with what came back. The request and response hold PHI: they are
-- stored here, never logged. No foreign key to cases: the connector is usable (and tested) on its own.
CREATE TABLE payer_submissions (
  id                         bigserial   PRIMARY KEY,
  tenant_id                  text        NOT NULL,
  case_id                    uuid        NOT NULL,
  payer_id                   text        NOT NULL,
  channel                    text        NOT NULL CHECK (channel IN ('x12', 'pas', 'portal')),
  purpose                    text        NOT NULL CHECK (purpose IN ('submit', 'inquire', 'reconcile', 'cancel', 'eligibility')),
  trace_number               text        NOT NULL,
  attempt                    integer     NOT NULL CHECK (attempt >= 1),
  -- sending: recorded, maybe sent (a crash here leaves it so); unknown: sent, no answer; failed: never reached
  -- the payer; not_received: reconciled, the payer does not have it; answered: the payer answered; rejected:
  -- refused by the receiver (999/TA1/AAA).
  status                     text        NOT NULL CHECK (status IN ('sending', 'unknown', 'failed', 'not_received', 'answered', 'rejected')),
  interchange_control_number text,
  group_control_number       text,
  payload_id                 uuid,
  request                    text,
  response                   text,
  outcome                    jsonb,
  error_code                 text,
  created_at                 timestamptz NOT NULL,
  completed_at               timestamptz,
  CONSTRAINT payer_submissions_attempt UNIQUE (case_id, purpose, attempt)
);
-- Never two live submissions for one case: at most one submit that is in flight, unresolved or answered.
CREATE UNIQUE INDEX payer_submissions_one_live ON payer_submissions (case_id)
  WHERE purpose = 'submit' AND status IN ('sending', 'unknown', 'answered');
CREATE INDEX payer_submissions_by_trace ON payer_submissions (channel, trace_number, id);
