-- Exceptions, second part (issue #14, still migration number 0014; 0014_exceptions.sql is applied as it was): payer
-- exchanges that send documents a payer asked for (X12 275) and appeals (278 reconsideration) are recorded in the
-- submissions log like every other exchange, with their own purposes. Plain SQL, valid on PostgreSQL 15+ and PGlite.
ALTER TABLE payer_submissions DROP CONSTRAINT payer_submissions_purpose_check;
ALTER TABLE payer_submissions ADD CONSTRAINT payer_submissions_purpose_check
  CHECK (purpose IN ('submit', 'inquire', 'reconcile', 'cancel', 'eligibility', 'attachment', 'appeal'));
