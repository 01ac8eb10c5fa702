-- Order changes (issue #14 item 4, `resubmitted`; migration number 0016 as assigned, beside
-- 0016_human_touched_actor.sql): a changed order the payer already holds goes to it as an update of the live
-- submission (X12 278 UM02 S, revised), recorded in the submissions log with a purpose of its own.
-- Plain SQL, valid on PostgreSQL 15+ and PGlite.
ALTER TABLE payer_submissions DROP CONSTRAINT payer_submissions_purpose_check;
ALTER TABLE payer_submissions ADD CONSTRAINT payer_submissions_purpose_check
  CHECK (purpose IN ('submit', 'inquire', 'reconcile', 'cancel', 'eligibility', 'attachment', 'appeal', 'update'));
