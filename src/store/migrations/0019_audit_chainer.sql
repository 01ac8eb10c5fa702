-- The audit chain without a lock per transaction (issue #17). Before, every audited transaction locked the chain
-- head (audit_head) to number and hash its rows, so all audited commits ran one after another, each holding the
-- head through its COMMIT. Now a transaction only inserts its rows, unchained: `seq` comes from a sequence (the
-- order rows were written in; gaps where a transaction rolled back) and prev_hash/hash/chain_pos stay NULL. One
-- chainer at a time (whoever holds the head row's lock; see src/audit/audit-log.ts `chainAudit`) links the
-- committed unchained rows into the hash chain in batches: chain_pos is gap-free, in the order rows became
-- visible, and each hash covers the row, its position and the previous hash. `pagw audit verify` walks chain_pos.
CREATE SEQUENCE audit_log_seq OWNED BY audit_log.seq;
SELECT setval('audit_log_seq', COALESCE((SELECT max(seq) FROM audit_log), 0) + 1, false);
ALTER TABLE audit_log ALTER COLUMN seq SET DEFAULT nextval('audit_log_seq');
ALTER TABLE audit_log ALTER COLUMN prev_hash DROP NOT NULL;
ALTER TABLE audit_log ALTER COLUMN hash DROP NOT NULL;
ALTER TABLE audit_log ADD COLUMN chain_pos bigint;

-- Rows chained before this migration keep their hashes: their position is their sequence number.
ALTER TABLE audit_log DISABLE TRIGGER audit_log_append_only;
UPDATE audit_log SET chain_pos = seq;
ALTER TABLE audit_log ENABLE TRIGGER audit_log_append_only;

CREATE UNIQUE INDEX audit_log_chain ON audit_log (chain_pos);
-- What the chainer looks for; empty most of the time.
CREATE INDEX audit_log_unchained ON audit_log (seq) WHERE hash IS NULL;
ALTER TABLE audit_log ADD CONSTRAINT audit_log_chained_whole
  CHECK ((chain_pos IS NULL AND prev_hash IS NULL AND hash IS NULL)
      OR (chain_pos IS NOT NULL AND prev_hash IS NOT NULL AND hash IS NOT NULL));

-- Still append-only, with one exception: the chainer links an unchained row once, changing nothing else.
CREATE FUNCTION pagw_audit_link_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  IF TG_OP = 'UPDATE' AND OLD.hash IS NULL AND NEW.hash IS NOT NULL
     AND (NEW.seq, NEW.at, NEW.tenant_id, NEW.actor, NEW.on_behalf_of, NEW.action, NEW.case_id, NEW.details)
         IS NOT DISTINCT FROM
         (OLD.seq, OLD.at, OLD.tenant_id, OLD.actor, OLD.on_behalf_of, OLD.action, OLD.case_id, OLD.details) THEN
    RETURN NEW;
  END IF;
  RAISE EXCEPTION 'table % is append-only', TG_TABLE_NAME USING ERRCODE = 'insufficient_privilege';
END;
$$;
DROP TRIGGER audit_log_append_only ON audit_log;
CREATE TRIGGER audit_log_append_only BEFORE UPDATE OR DELETE ON audit_log
  FOR EACH ROW EXECUTE FUNCTION pagw_audit_link_only();
