/**
 * Synthetic cases generated in SQL, deterministic (setseed): 16 weeks before `now` with more cases on weekdays and
 * a rising trend, 6 payers (skewed mix), 12 services, 40 prescribers, 15 % expedited, 85 % decided (72 % approved,
 * 8 % modified, 20 % denied, a third of denials appealed), 20 % touched by a person, 5 % failed, the rest open,
 * SLA due times of 72 h / 7 days. The fact columns of migration 0013 are written directly (no event history
 * beyond receipt and failure), so 100k cases load in seconds. For bench/analytics.ts and the console screenshot.
 * Runs on PostgreSQL and PGlite.
 */
import type { Sql } from '../src/store/index.ts';
import requestJson from '../test/fixtures/canonical/authorization-request.valid.json' with { type: 'json' };

const seedCasesSql = `
WITH base AS (
  SELECT i, random() AS r_age, random() AS r_dow, random() AS r_payer, random() AS r_svc, random() AS r_npi,
         random() AS r_urg, random() AS r_state, random() AS r_out, random() AS r_time, random() AS r_touch,
         random() AS r_appeal, random() AS r_sub
    FROM generate_series(1, $2::int) AS i
), aged AS (
  SELECT *, $3::timestamptz - (112 * (1 - sqrt(r_age))) * interval '1 day' AS created0 FROM base
), dated AS (
  SELECT *,
    created0 - CASE WHEN extract(isodow FROM created0) IN (6, 7) AND r_dow < 0.7
                    THEN (extract(isodow FROM created0) - 5) * interval '1 day' ELSE interval '0' END AS created,
    'payer-' || (1 + floor(r_payer * r_payer * 6))::int AS payer,
    (ARRAY['70553','72148','73721','97110','97161','J0135','J1745','E0601','G0151','81479','93306','27447'])
      [1 + floor(r_svc * 12)::int] AS svc,
    (1000000000 + floor(r_npi * 40)::int)::text AS npi,
    CASE WHEN r_urg < 0.15 THEN 'expedited' ELSE 'standard' END AS urgency
  FROM aged
), timed AS (
  SELECT *,
    created + (0.1 + r_sub * 2) * interval '1 hour' AS submitted,
    CASE WHEN urgency = 'expedited' THEN 70 ELSE 200 END * r_time * r_time * interval '1 hour' AS wait
  FROM dated
), fated AS (
  SELECT *,
    CASE WHEN r_state < 0.85 AND submitted + wait < $3::timestamptz THEN 'delivered'
         WHEN r_state < 0.90 THEN 'failed'
         WHEN r_state < 0.95 THEN 'pended'
         ELSE 'awaiting_review' END AS state,
    CASE WHEN r_out < 0.72 THEN 'approved' WHEN r_out < 0.80 THEN 'modified' ELSE 'denied' END AS first
  FROM timed
)
INSERT INTO cases (id, tenant_id, state, version, idempotency_key, request, decision, payer_id, channel, rule_version,
                   sla_due_at, created_at, updated_at, submitted_at, pended_at, decided_at, first_outcome,
                   human_touched, appealed_at)
SELECT md5($4 || ':' || i)::uuid, $4, state, 6, 'synthetic:' || i,
       jsonb_set(jsonb_set(jsonb_set(jsonb_set($1::jsonb,
         '{serviceLines,0,code,code}', to_jsonb(svc)), '{requestingProvider,npi}', to_jsonb(npi)),
         '{urgency}', to_jsonb(urgency)), '{orderReference,placerOrderNumber}', to_jsonb('ORD-' || i)),
       CASE WHEN state = 'delivered' THEN jsonb_build_object(
         'outcome', CASE WHEN first = 'denied' AND r_appeal < 0.15 THEN 'approved' ELSE first END,
         'payer', jsonb_build_object('id', payer), 'channel', 'x12', 'lines', '[]'::jsonb, 'reasons', '[]'::jsonb,
         'decidedAt', submitted + wait) END,
       payer, 'x12', payer || '-2026.1',
       created + CASE WHEN urgency = 'expedited' THEN interval '72 hours' ELSE interval '7 days' END,
       created, CASE WHEN state = 'delivered' THEN submitted + wait ELSE submitted END,
       CASE WHEN state IN ('delivered', 'pended') THEN submitted END,
       CASE WHEN state = 'pended' OR (state = 'delivered' AND r_time > 0.6) THEN submitted + interval '1 hour' END,
       CASE WHEN state = 'delivered' THEN submitted + wait END,
       CASE WHEN state = 'delivered' THEN first END,
       r_touch < 0.2 OR state = 'awaiting_review',
       CASE WHEN state = 'delivered' AND first = 'denied' AND r_appeal < 0.33 THEN submitted + wait + interval '2 days' END
  FROM fated`;
const seedEventsSql = [
  `INSERT INTO case_events (case_id, tenant_id, seq, event, from_state, to_state, actor, data, at)
   SELECT id, tenant_id, 1, 'received', NULL, 'received', 'bench:ehr', '{}', created_at FROM cases WHERE tenant_id = $1`,
  `INSERT INTO case_events (case_id, tenant_id, seq, event, from_state, to_state, actor, data, at)
   SELECT id, tenant_id, 6, 'failed', 'submitted', 'failed', 'system:workflow',
          '{"reason":"STEP_FAILED","errorCode":"PAGW_X12_TRANSPORT"}', updated_at
     FROM cases WHERE tenant_id = $1 AND state = 'failed'`,
];

/** Seeds `n` synthetic cases for `tenant` ending at `now`. Call on one connection (setseed is per session). */
export async function seedSyntheticCases(
  sql: Sql,
  options: { n: number; now: Date; tenant: string },
): Promise<void> {
  await sql.query('SELECT setseed(0.42)');
  await sql.query(seedCasesSql, [JSON.stringify(requestJson), options.n, options.now, options.tenant]);
  for (const statement of seedEventsSql) await sql.query(statement, [options.tenant]);
}
