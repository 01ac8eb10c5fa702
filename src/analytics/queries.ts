/**
 * The SQL behind the dashboards: one aggregate query per figure, over the fact columns of `cases`
 * (migration 0013), so a dashboard query reads no JSON and joins no event log. Every query is scoped to one
 * tenant and to the filter's range of creation days, counted in the viewer's time zone.
 */
import type pg from 'pg';
import { planEachRun, type Sql, withTransaction } from '../store/index.ts';
import { activeCaseStates } from '../workflow/case-state-machine.ts';
import {
  type OutcomeCounts,
  type ScorecardRow,
  SLA_AT_RISK_HOURS,
  type SlaCounts,
  type TurnaroundRow,
  type VolumeDay,
} from './figures.ts';
import type { AnalyticsFilter } from './filters.ts';

const approvedOutcomes = `('approved', 'modified')`;
const openStates = `(${activeCaseStates.map((s) => `'${s}'`).join(', ')})`;

/** WHERE clause and parameters for a tenant and filter; `extra` parameters are appended after them. */
function scope(tenant: string, filter: AnalyticsFilter): { where: string; params: unknown[] } {
  const params: unknown[] = [tenant, filter.from, filter.to, filter.timeZone];
  const where = [
    'tenant_id = $1',
    'created_at >= ($2::date::timestamp AT TIME ZONE $4)',
    'created_at < (($3::date + 1)::timestamp AT TIME ZONE $4)',
  ];
  for (const [column, value] of [
    ['payer_id', filter.payer],
    ['service_code', filter.service],
    ['prescriber_npi', filter.prescriber],
  ] as const) {
    if (value === undefined) continue;
    params.push(value);
    where.push(`${column} = $${params.length}`);
  }
  return { where: where.join(' AND '), params };
}

/**
 * Runs analytics queries in one short read-only transaction with more sort memory: the percentiles sort every
 * decided case of the range by group, and the default work_mem (4 MB) makes a 100k-case range spill to disk.
 */
export async function inAnalyticsSession<T>(pool: pg.Pool, work: (sql: Sql) => Promise<T>): Promise<T> {
  return withTransaction(pool, async (tx) => {
    await tx.query(`SET TRANSACTION READ ONLY`);
    await tx.query(`SET LOCAL work_mem = '32MB'`);
    return work(tx);
  });
}

const seconds = (from: string, to: string) => `date_part('epoch', ${to} - ${from})`;

export async function queryTurnaround(
  sql: Sql,
  tenant: string,
  filter: AnalyticsFilter,
  by: 'payer' | 'service',
): Promise<TurnaroundRow[]> {
  const { where, params } = scope(tenant, filter);
  const key = by === 'payer' ? 'payer_id' : 'service_code';
  // One ordered-set aggregate for both percentiles: one sort per group instead of two.
  const { rows } = await sql.query<{ key: string | null; decided: number; p: [number, number] | null }>(
    `${planEachRun}SELECT ${key} AS "key", count(*)::int AS decided,
            percentile_cont(ARRAY[0.5, 0.9]) WITHIN GROUP (ORDER BY ${seconds('created_at', 'decided_at')}) AS p
       FROM cases WHERE ${where} AND decided_at IS NOT NULL
      GROUP BY ${key}`,
    params,
  );
  return rows.map((r) => ({
    key: r.key,
    decided: r.decided,
    p50Seconds: r.p?.[0] ?? null,
    p90Seconds: r.p?.[1] ?? null,
  }));
}

export async function queryOutcomes(
  sql: Sql,
  tenant: string,
  filter: AnalyticsFilter,
): Promise<OutcomeCounts[]> {
  const { where, params } = scope(tenant, filter);
  const decided = 'decided_at IS NOT NULL';
  const { rows } = await sql.query<OutcomeCounts>(
    `${planEachRun}SELECT payer_id AS payer, count(*)::int AS cases,
            count(*) FILTER (WHERE ${decided})::int AS decided,
            count(*) FILTER (WHERE ${decided} AND first_outcome IN ${approvedOutcomes})::int AS approved,
            count(*) FILTER (WHERE ${decided} AND first_outcome = 'denied')::int AS denied,
            count(*) FILTER (WHERE ${decided} AND NOT human_touched)::int AS "straightThrough",
            count(*) FILTER (WHERE ${decided} AND appealed_at IS NOT NULL)::int AS appealed,
            count(*) FILTER (WHERE ${decided} AND appealed_at IS NOT NULL AND outcome IN ${approvedOutcomes})::int
              AS "approvedAfterAppeal"
       FROM cases WHERE ${where}
      GROUP BY payer_id`,
    params,
  );
  return rows;
}

export async function querySla(
  sql: Sql,
  tenant: string,
  filter: AnalyticsFilter,
  now: Date,
): Promise<SlaCounts[]> {
  const { where, params } = scope(tenant, filter);
  params.push(now);
  const at = `$${params.length}::timestamptz`;
  const open = `decided_at IS NULL AND state IN ${openStates}`;
  const { rows } = await sql.query<SlaCounts>(
    `${planEachRun}SELECT payer_id AS payer, count(*)::int AS "withSla",
            count(*) FILTER (WHERE decided_at > sla_due_at OR (${open} AND sla_due_at < ${at}))::int AS breached,
            count(*) FILTER (WHERE ${open} AND sla_due_at >= ${at}
                               AND sla_due_at < ${at} + interval '${SLA_AT_RISK_HOURS} hours')::int AS "atRisk"
       FROM cases WHERE ${where} AND sla_due_at IS NOT NULL
      GROUP BY payer_id`,
    params,
  );
  return rows;
}

export async function queryVolume(sql: Sql, tenant: string, filter: AnalyticsFilter): Promise<VolumeDay[]> {
  const { where, params } = scope(tenant, filter);
  const { rows } = await sql.query<VolumeDay>(
    `${planEachRun}SELECT (created_at AT TIME ZONE $4)::date::text AS day, count(*)::int AS count
       FROM cases WHERE ${where}
      GROUP BY 1`,
    params,
  );
  return rows;
}

export async function queryScorecard(
  sql: Sql,
  tenant: string,
  filter: AnalyticsFilter,
): Promise<ScorecardRow[]> {
  const { where, params } = scope(tenant, filter);
  // The inner query computes each case's flags and decision time once (OFFSET 0 keeps the planner from folding
  // it into the aggregates, which would compute the time twice per case).
  const { rows } = await sql.query<ScorecardRow>(
    `${planEachRun}SELECT payer, urgency, count(*)::int AS decided,
            count(*) FILTER (WHERE approved)::int AS approved,
            count(*) FILTER (WHERE denied)::int AS denied,
            count(*) FILTER (WHERE appealed AND approved_now)::int AS "approvedAfterAppeal",
            count(*) FILTER (WHERE extended AND approved)::int AS "extendedThenApproved",
            avg(s) AS "meanDecisionSeconds",
            percentile_cont(0.5) WITHIN GROUP (ORDER BY s) AS "medianDecisionSeconds"
       FROM (SELECT payer_id AS payer, urgency,
                    first_outcome IN ${approvedOutcomes} AS approved, first_outcome = 'denied' AS denied,
                    outcome IN ${approvedOutcomes} AS approved_now, appealed_at IS NOT NULL AS appealed,
                    pended_at IS NOT NULL AS extended,
                    ${seconds('coalesce(submitted_at, created_at)', 'decided_at')} AS s
               FROM cases WHERE ${where} AND decided_at IS NOT NULL AND urgency IN ('standard', 'expedited')
             OFFSET 0) t
      GROUP BY payer, urgency`,
    params,
  );
  return rows;
}

export interface Facets {
  readonly payers: string[];
  readonly services: string[];
  readonly prescribers: string[];
}

/** The payers, services and prescribers present in the range, for the filter menus. */
export async function queryFacets(sql: Sql, tenant: string, filter: AnalyticsFilter): Promise<Facets> {
  const { where, params } = scope(tenant, { from: filter.from, to: filter.to, timeZone: filter.timeZone });
  // One pass over the range: a grouping set per menu.
  const { rows } = await sql.query<{
    payer: string | null;
    service: string | null;
    prescriber: string | null;
  }>(
    `${planEachRun}SELECT payer_id AS payer, service_code AS service, prescriber_npi AS prescriber
       FROM cases WHERE ${where}
      GROUP BY GROUPING SETS ((payer_id), (service_code), (prescriber_npi))`,
    params,
  );
  const facets: Facets = { payers: [], services: [], prescribers: [] };
  for (const row of rows) {
    if (row.payer !== null) facets.payers.push(row.payer);
    if (row.service !== null) facets.services.push(row.service);
    if (row.prescriber !== null) facets.prescribers.push(row.prescriber);
  }
  for (const list of Object.values(facets)) list.sort();
  return facets;
}
