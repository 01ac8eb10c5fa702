-- A case's open timers are found by timers_open_by_case (0007); nothing else should read that index (issue #17).
-- It holds every open timer of every lane (the SLA clocks of all open cases among them), and its predicate matched
-- the step claim's and the backlog count's (`fired_at IS NULL AND cancelled_at IS NULL`), so the planner could read
-- it whole, as a bitmap, for them. It chose to when the statistics said the table was small: at 50 orders/s on
-- PostgreSQL each order read ~2,700 entries of this index, most of them left by deleted timers (a bitmap scan never
-- marks such entries dead; only vacuum removes them). With `case_id IS NOT NULL` in the predicate only a query that
-- names a case can use it (`case_id = $1` and `case_id = ANY($1)` imply it), and the claim and the count read
-- timers_claim, bounded to their lane's due timers.
DROP INDEX timers_open_by_case;
CREATE INDEX timers_open_by_case ON timers (case_id)
  WHERE case_id IS NOT NULL AND fired_at IS NULL AND cancelled_at IS NULL;
