-- The portal robot's evidence (connectors/portal): screenshots of the key pages of every run — the filled form,
-- the confirmation, each status page, and the page a failure stopped on — with credential fields masked. The image
-- holds PHI: it is sealed under the tenant's data key (src/vault/phi.ts), bound to its row id, and opened only
-- through the audited read. Plain SQL, valid on PostgreSQL 15+ and PGlite.
CREATE TABLE portal_evidence (
  id            bigserial   PRIMARY KEY,
  tenant_id     text        NOT NULL,
  case_id       uuid        NOT NULL,
  payer_id      text        NOT NULL,
  -- The payer_submissions row of the run (submit, inquire, reconcile), when the run had one.
  submission_id bigint,
  recipe        text        NOT NULL,
  flow          text        NOT NULL,
  -- 1-based step of the flow, or NULL for a screenshot not tied to a step.
  step          integer,
  name          text        NOT NULL,
  content_type  text        NOT NULL,
  -- What was masked (labels, roles: never values).
  masked        jsonb       NOT NULL DEFAULT '[]'::jsonb,
  image         bytea       NOT NULL,
  created_at    timestamptz NOT NULL
);
CREATE INDEX portal_evidence_by_case ON portal_evidence (case_id, id);
