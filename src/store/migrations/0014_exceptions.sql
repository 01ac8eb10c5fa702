-- Exceptions, missing information, attachments, SLA escalation and appeals (issue #14). Plain SQL, valid on
-- PostgreSQL 15+ and PGlite.

-- The exception queue: one row per thing a person must do about a case. A task is structured (kind, reason
-- codes, the fields or documents needed, owner role, priority, due time) and holds codes and ids only, never PHI.
--   state: open → claimed (someone took it) → resolved | cancelled (closed once)
--   dedupe_key: at most one OPEN task per case and key (the same failure twice is one task, not two)
CREATE TABLE case_tasks (
  id           uuid        PRIMARY KEY,
  tenant_id    text        NOT NULL,
  case_id      uuid        NOT NULL REFERENCES cases (id),
  kind         text        NOT NULL,
  state        text        NOT NULL DEFAULT 'open' CHECK (state IN ('open', 'claimed', 'resolved', 'cancelled')),
  reason_codes text[]      NOT NULL DEFAULT '{}',
  -- [{ type: field | document, path?, label, source?, code?, system? }]: what is needed, named, never its value
  needed       jsonb       NOT NULL DEFAULT '[]'::jsonb,
  owner_role   text        NOT NULL,
  assignee     text,
  priority     text        NOT NULL CHECK (priority IN ('low', 'normal', 'high', 'urgent')),
  due_at       timestamptz,
  dedupe_key   text        NOT NULL,
  -- codes and ids that say more (step, errorCode, fraction …)
  details      jsonb       NOT NULL DEFAULT '{}'::jsonb,
  version      integer     NOT NULL DEFAULT 1,
  created_at   timestamptz NOT NULL,
  updated_at   timestamptz NOT NULL,
  closed_at    timestamptz,
  closed_by    text,
  -- { action, ... } how it was resolved or why it was cancelled (codes)
  resolution   jsonb
);
CREATE UNIQUE INDEX case_tasks_one_open ON case_tasks (case_id, dedupe_key) WHERE state IN ('open', 'claimed');
-- The queue: a tenant's open tasks by due time.
CREATE INDEX case_tasks_queue ON case_tasks (tenant_id, due_at, id) WHERE state IN ('open', 'claimed');
CREATE INDEX case_tasks_by_case ON case_tasks (case_id, created_at);

-- SLA escalation (CMS-0057-F clocks): when the payer's decision time ran out on an open case (the breach flag every
-- view shows), and the last warning fraction raised, so a warning is raised once.
ALTER TABLE cases
  ADD COLUMN sla_breached_at timestamptz,
  ADD COLUMN sla_warned      real;

-- Documents held with a case: attachments for the payer (PDF, image, C-CDA) and rendered appeal letters. The bytes
-- are sealed under the tenant's data key (src/vault/phi.ts), bound to the document id; only type, size and digest
-- are in clear.
CREATE TABLE case_documents (
  id           uuid        PRIMARY KEY,
  tenant_id    text        NOT NULL,
  case_id      uuid        NOT NULL REFERENCES cases (id),
  task_id      uuid        REFERENCES case_tasks (id),
  -- attachment | appeal_letter
  purpose      text        NOT NULL,
  content_type text        NOT NULL,
  size_bytes   integer     NOT NULL CHECK (size_bytes > 0),
  sha256       text        NOT NULL,
  -- the kind of document (LOINC code, X12 PWK01 report type) as the payer asked for it
  code         text,
  code_system  text,
  sealed       bytea       NOT NULL,
  created_at   timestamptz NOT NULL,
  created_by   text        NOT NULL,
  -- how and when it reached the payer (x12-275, pwk-reference, pas, portal, email)
  sent_at      timestamptz,
  sent_via     text
);
CREATE INDEX case_documents_by_case ON case_documents (case_id, created_at);

-- Appeals of a denial or partial approval: the assembled package (denial reason, the payer's criteria, the evidence
-- checklist), its letter, the review task, and how it went.
--   state: draft → approved → submitted → approved_after_appeal | upheld (or withdrawn)
CREATE TABLE case_appeals (
  id           uuid        PRIMARY KEY,
  tenant_id    text        NOT NULL,
  case_id      uuid        NOT NULL REFERENCES cases (id),
  seq          integer     NOT NULL CHECK (seq >= 1),
  state        text        NOT NULL CHECK (state IN ('draft', 'approved', 'submitted', 'approved_after_appeal',
                                                     'upheld', 'withdrawn')),
  package      jsonb       NOT NULL,
  letter_id    uuid        REFERENCES case_documents (id),
  task_id      uuid        REFERENCES case_tasks (id),
  submitted_via text,
  created_at   timestamptz NOT NULL,
  updated_at   timestamptz NOT NULL,
  submitted_at timestamptz,
  decided_at   timestamptz,
  UNIQUE (case_id, seq)
);
