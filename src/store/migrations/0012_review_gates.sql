-- Review gates (issue #13): each gate a case passes through, the approvals given at it, the submission key it is
-- bound to, and people behind API tokens. Plain SQL, valid on PostgreSQL 15+ and PGlite. Independent of 0013
-- (databases that applied 0013 before this file existed apply it afterwards).

-- The submission key (src/workflow/review/submission-key.ts) the case was approved or routed with: the step that
-- submits recomputes the key from the case as it stands and refuses to send when they differ.
ALTER TABLE cases ADD COLUMN submission_key text;

-- One row per gate a case reaches (seq 1, 2 … = the gate count). A gate is opened by the workflow (policy,
-- payer rule, rollout mode) or by a reviewer (escalation, request for changes, a refused submission), and is
-- closed once: approved, rejected, changes_requested, escalated, expired or superseded.
CREATE TABLE review_gates (
  case_id            uuid        NOT NULL REFERENCES cases (id),
  seq                integer     NOT NULL CHECK (seq >= 1),
  tenant_id          text        NOT NULL,
  -- why the gate opened: policy | payer_rule | assistive | shadow | escalation | changes | key_mismatch
  reason             text        NOT NULL,
  rollout_mode       text        NOT NULL CHECK (rollout_mode IN ('shadow', 'assistive', 'auto')),
  submission_key     text        NOT NULL,
  case_version       integer     NOT NULL,
  policy_id          text,
  policy_version     text,
  required_role      text        NOT NULL,
  approvals_required smallint    NOT NULL DEFAULT 1 CHECK (approvals_required BETWEEN 1 AND 2),
  severity           text        NOT NULL DEFAULT 'normal',
  expires_at         timestamptz,
  on_expiry          text        CHECK (on_expiry IN ('reject', 'escalate')),
  escalate_to        text,
  facts              jsonb       NOT NULL DEFAULT '{}'::jsonb,
  status             text        NOT NULL DEFAULT 'open'
                     CHECK (status IN ('open', 'approved', 'rejected', 'changes_requested', 'escalated', 'expired',
                                       'superseded', 'handed_off')),
  opened_at          timestamptz NOT NULL,
  closed_at          timestamptz,
  closed_by          text,
  PRIMARY KEY (case_id, seq)
);
-- At most one open gate per case.
CREATE UNIQUE INDEX review_gates_one_open ON review_gates (case_id) WHERE status = 'open';
CREATE INDEX review_gates_open_by_tenant ON review_gates (tenant_id, opened_at) WHERE status = 'open';

-- Approvals at a gate: one per person (a second click by the same person changes nothing), bound to the key.
CREATE TABLE review_approvals (
  case_id        uuid        NOT NULL,
  gate_seq       integer     NOT NULL,
  tenant_id      text        NOT NULL,
  approver       text        NOT NULL,
  role           text        NOT NULL,
  npi            text,
  token_id       uuid,
  submission_key text        NOT NULL,
  at             timestamptz NOT NULL,
  PRIMARY KEY (case_id, gate_seq, approver),
  FOREIGN KEY (case_id, gate_seq) REFERENCES review_gates (case_id, seq)
);

-- Tokens issued to named people: the audit names the person (and their NPI when they sign as a clinician).
ALTER TABLE api_tokens ADD COLUMN user_id text, ADD COLUMN npi text;
