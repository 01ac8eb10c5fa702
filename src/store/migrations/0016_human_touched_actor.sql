-- human_touched (0013) counted the intake as a person's touch: a case's first two events, `received` and the
-- `validated` (or `rejected`) that leaves `received`, are written by the inbound transport's actor (`token:…`
-- for HTTP, `mllp:…`, `bus:…`), not `system:*`, so every inbound case was marked touched and the
-- straight-through rate was 0. The intake is the sender's, whoever it is: a person's touch is an event by a
-- non-system actor AFTER it — a reviewer's decision, a console action.
-- It follows 0013 (it replaces 0013's function and trigger), hence its number (0005 would run before 0013 on a
-- new database, where the function does not exist yet).

CREATE OR REPLACE FUNCTION pagw_case_facts_from_event() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  UPDATE cases SET
    submitted_at  = CASE WHEN submitted_at IS NULL AND NEW.event IN ('submitted', 'resubmitted')
                         THEN NEW.at ELSE submitted_at END,
    pended_at     = CASE WHEN pended_at IS NULL AND NEW.event = 'pended' THEN NEW.at ELSE pended_at END,
    first_outcome = CASE WHEN decided_at IS NULL AND NEW.event = 'decided'
                         THEN NEW.data ->> 'outcome' ELSE first_outcome END,
    decided_at    = CASE WHEN decided_at IS NULL AND NEW.event = 'decided' THEN NEW.at ELSE decided_at END,
    human_touched = human_touched
                    OR (NEW.actor NOT LIKE 'system:%' AND coalesce(NEW.from_state, 'received') <> 'received'),
    appealed_at   = CASE WHEN appealed_at IS NULL AND NEW.event LIKE 'appeal%' THEN NEW.at ELSE appealed_at END
  WHERE id = NEW.case_id;
  RETURN NULL;
END;
$$;

DROP TRIGGER case_events_case_facts ON case_events;
CREATE TRIGGER case_events_case_facts AFTER INSERT ON case_events
  FOR EACH ROW
  WHEN (NEW.event IN ('submitted', 'resubmitted', 'pended', 'decided') OR NEW.event LIKE 'appeal%'
        OR (NEW.actor NOT LIKE 'system:%' AND coalesce(NEW.from_state, 'received') <> 'received'))
  EXECUTE FUNCTION pagw_case_facts_from_event();

-- Recompute for the cases that exist; only rows whose value changes are written.
UPDATE cases c SET human_touched = t.touched
  FROM (SELECT c2.id,
               EXISTS (SELECT 1 FROM case_events e
                        WHERE e.case_id = c2.id AND e.actor NOT LIKE 'system:%'
                          AND coalesce(e.from_state, 'received') <> 'received') AS touched
          FROM cases c2) t
 WHERE t.id = c.id AND c.human_touched IS DISTINCT FROM t.touched;
