-- Console and analytics: facts about each case that the case list, the dashboards and the business metrics
-- filter and aggregate on, as plain columns of `cases`, so a query over 100k cases reads no JSON and joins no
-- event log. Plain SQL, valid on PostgreSQL 15+ and PGlite.

-- Generated from the request and decision JSON: always in step with them, no code writes them.
--   urgency         standard | expedited
--   service_code    the primary (first) service line's code: the "service" of the dashboards
--   prescriber_npi  the requesting provider's NPI (a public provider id, not PHI)
--   order_number    the placer order number, for search by order id (never put in a URL)
--   outcome         the current decision's outcome
ALTER TABLE cases
  ADD COLUMN urgency        text GENERATED ALWAYS AS (request ->> 'urgency') STORED,
  ADD COLUMN service_code   text GENERATED ALWAYS AS (request #>> '{serviceLines,0,code,code}') STORED,
  ADD COLUMN prescriber_npi text GENERATED ALWAYS AS (request #>> '{requestingProvider,npi}') STORED,
  ADD COLUMN order_number   text GENERATED ALWAYS AS (request #>> '{orderReference,placerOrderNumber}') STORED,
  ADD COLUMN outcome        text GENERATED ALWAYS AS (decision ->> 'outcome') STORED;

-- Kept by the trigger below from the case's events (the event log stays the source of truth; the migration
-- backfills them for cases that exist already):
--   submitted_at   first submission to the payer (the CMS-0057-F decision clock starts here)
--   pended_at      first time the payer pended the case (its review timeframe was extended)
--   decided_at     the payer's first decision (event `decided`)
--   first_outcome  that first decision's outcome (an appeal may change `outcome` later, never this)
--   human_touched  some event after receipt was made by a person (a token, a reviewer), not by `system:*`
--   appealed_at    first event named for an appeal (`appeal…`; appeals arrive with issue #14)
ALTER TABLE cases
  ADD COLUMN submitted_at  timestamptz,
  ADD COLUMN pended_at     timestamptz,
  ADD COLUMN decided_at    timestamptz,
  ADD COLUMN first_outcome text,
  ADD COLUMN human_touched boolean NOT NULL DEFAULT false,
  ADD COLUMN appealed_at   timestamptz;

CREATE FUNCTION pagw_case_facts_from_event() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  UPDATE cases SET
    submitted_at  = CASE WHEN submitted_at IS NULL AND NEW.event IN ('submitted', 'resubmitted')
                         THEN NEW.at ELSE submitted_at END,
    pended_at     = CASE WHEN pended_at IS NULL AND NEW.event = 'pended' THEN NEW.at ELSE pended_at END,
    first_outcome = CASE WHEN decided_at IS NULL AND NEW.event = 'decided'
                         THEN NEW.data ->> 'outcome' ELSE first_outcome END,
    decided_at    = CASE WHEN decided_at IS NULL AND NEW.event = 'decided' THEN NEW.at ELSE decided_at END,
    human_touched = human_touched OR (NEW.seq > 1 AND NEW.actor NOT LIKE 'system:%'),
    appealed_at   = CASE WHEN appealed_at IS NULL AND NEW.event LIKE 'appeal%' THEN NEW.at ELSE appealed_at END
  WHERE id = NEW.case_id;
  RETURN NULL;
END;
$$;
-- Only the few events that change a fact fire it (two or three per case), so an ordinary step pays nothing.
CREATE TRIGGER case_events_case_facts AFTER INSERT ON case_events
  FOR EACH ROW
  WHEN (NEW.event IN ('submitted', 'resubmitted', 'pended', 'decided') OR NEW.event LIKE 'appeal%'
        OR (NEW.seq > 1 AND NEW.actor NOT LIKE 'system:%'))
  EXECUTE FUNCTION pagw_case_facts_from_event();

-- Backfill from the events already recorded.
UPDATE cases c SET submitted_at = e.at
  FROM (SELECT case_id, min(at) AS at FROM case_events WHERE event IN ('submitted', 'resubmitted') GROUP BY case_id) e
 WHERE e.case_id = c.id;
UPDATE cases c SET pended_at = e.at
  FROM (SELECT case_id, min(at) AS at FROM case_events WHERE event = 'pended' GROUP BY case_id) e
 WHERE e.case_id = c.id;
UPDATE cases c SET decided_at = e.at, first_outcome = e.data ->> 'outcome'
  FROM (SELECT DISTINCT ON (case_id) case_id, at, data FROM case_events WHERE event = 'decided'
         ORDER BY case_id, seq) e
 WHERE e.case_id = c.id;
UPDATE cases c SET human_touched = true
 WHERE EXISTS (SELECT 1 FROM case_events e WHERE e.case_id = c.id AND e.seq > 1 AND e.actor NOT LIKE 'system:%');
UPDATE cases c SET appealed_at = e.at
  FROM (SELECT case_id, min(at) AS at FROM case_events WHERE event LIKE 'appeal%' GROUP BY case_id) e
 WHERE e.case_id = c.id;

-- The case list pages by (updated_at, id) newest first, filtered by tenant and optionally by one facet: these
-- indexes let the common filters walk in order and stop after one page instead of sorting the tenant's cases.
CREATE INDEX cases_by_tenant_updated ON cases (tenant_id, updated_at DESC, id DESC);
CREATE INDEX cases_by_tenant_payer ON cases (tenant_id, payer_id, updated_at DESC, id DESC);
-- Search by order id (exact match).
CREATE INDEX cases_by_tenant_order ON cases (tenant_id, order_number) WHERE order_number IS NOT NULL;
-- Dashboards: every figure is over a range of creation dates, and reads only fact columns. The heap rows are
-- wide (the request JSON), so the index carries the facts (INCLUDE): dashboard queries and the business metrics
-- are index-only scans of a narrow index instead of reads of the whole table (bench/analytics.ts).
CREATE INDEX cases_by_tenant_created ON cases (tenant_id, created_at)
  INCLUDE (payer_id, service_code, prescriber_npi, urgency, channel, state, sla_due_at, submitted_at, pended_at,
           decided_at, first_outcome, outcome, human_touched, appealed_at);
-- SLA risk and the at-risk gauges: open cases with a due time.
CREATE INDEX cases_open_by_sla ON cases (tenant_id, sla_due_at) INCLUDE (payer_id, state, decided_at)
  WHERE sla_due_at IS NOT NULL
    AND state IN ('received', 'validated', 'eligibility_checked', 'awaiting_review', 'submitted', 'pended', 'failed');
-- Exceptions: the failed cases, newest first.
CREATE INDEX case_events_failed ON case_events (case_id, seq DESC) WHERE event = 'failed';
-- Case detail: the last ClaimResponse a case published (the relay's indexes cover only unpublished rows).
CREATE INDEX outbox_by_case ON outbox (case_id, id) WHERE case_id IS NOT NULL;
