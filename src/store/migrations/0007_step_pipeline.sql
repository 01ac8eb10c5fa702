-- The step pipeline (issue #17) and short, renewed step leases (issue #10 item 11).
--
-- Timers are claimed by lane: 'timer' (fired inside a transaction by the timer worker: SLA checks), 'payer' (a
-- workflow step that may call a payer) and 'local' (a step that only writes the database), so database-only steps
-- never queue behind payer calls. A lane is claimed oldest first, ORDER BY due_at, id; the index below has exactly
-- that order, so a claim reads the rows it takes instead of fetching and sorting every due timer (the old index on
-- due_at alone made each claim fetch ~1,700 tuples under a 2,000-order backlog).
ALTER TABLE timers ADD COLUMN lane text NOT NULL DEFAULT 'timer';
UPDATE timers SET lane = 'payer' WHERE kind = 'workflow.advance';
DROP INDEX timers_due;
CREATE INDEX timers_claim ON timers (lane, due_at, id) WHERE fired_at IS NULL AND cancelled_at IS NULL;

-- A case's open timers: cancelling them, and waking the step that waits for the case's events to be published.
CREATE INDEX timers_open_by_case ON timers (case_id) WHERE fired_at IS NULL AND cancelled_at IS NULL;

-- A queue table: every row is claimed and fired within seconds of its insert. Vacuum it early and often (on
-- PostgreSQL; the embedded database has no autovacuum and is vacuumed by the gateway), so dead rows do not build up
-- under the claim index.
ALTER TABLE timers SET (
  autovacuum_vacuum_scale_factor = 0.0,
  autovacuum_vacuum_threshold = 1000,
  autovacuum_vacuum_insert_scale_factor = 0.0,
  autovacuum_vacuum_insert_threshold = 5000,
  autovacuum_analyze_scale_factor = 0.02
);
