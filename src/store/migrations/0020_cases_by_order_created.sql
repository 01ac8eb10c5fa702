-- An order's cases, oldest first, straight from one index (issue #17). Intake asks for every order whether an
-- earlier case of the same order number is held for missing data (src/exceptions/held-orders.ts:
-- `tenant_id = $1 AND order_number = $2 … ORDER BY created_at, id LIMIT 1`). With the index on
-- (tenant_id, order_number) alone, a generic plan of that prepared statement (src/store/prepared-statements.ts)
-- preferred walking the tenant's cases in creation order (cases_by_tenant_created), a read that grows with the
-- table. With created_at and id in this index, the lookup reads the order's few rows already in order, whatever
-- the plan.
DROP INDEX cases_by_tenant_order;
CREATE INDEX cases_by_tenant_order ON cases (tenant_id, order_number, created_at, id) WHERE order_number IS NOT NULL;
