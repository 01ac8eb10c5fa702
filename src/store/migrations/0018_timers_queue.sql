-- Timers are a queue (issue #17): a timer is deleted when it fires, completes or is cancelled, so the table holds
-- only open timers and the claim index (timers_claim, 0007) never walks past rows kept for history. Remove the
-- fired and cancelled rows kept before.
DELETE FROM timers WHERE fired_at IS NOT NULL OR cancelled_at IS NOT NULL;
