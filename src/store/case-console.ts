/**
 * Reads behind the console: a filtered, keyset-paged case list (fast at 100k cases: each page walks an index in
 * order and stops), a case's payer exchanges and audit rows, its last ClaimResponse, and the failed cases.
 * Everything is scoped to one tenant. Nothing here returns demographics: ids, codes, states and times only,
 * except rawExchange (the raw 278/PAS/portal evidence), which the API gives only to roles allowed to see it.
 */
import { activeCaseStates, type CaseState } from '../workflow/case-state-machine.ts';
import { uuidPattern } from './ids.ts';
import { planEachRun } from './prepared-statements.ts';
import type { Sql } from './sql.ts';

export const slaRisks = ['breached', 'at_risk', 'on_track', 'none'] as const;
export type SlaRisk = (typeof slaRisks)[number];
/** Open and due within this many hours: at risk. */
export const SLA_AT_RISK_WINDOW_HOURS = 24;

export interface CaseSearch {
  state?: CaseState;
  payer?: string;
  service?: string;
  channel?: string;
  urgency?: 'standard' | 'expedited';
  slaRisk?: SlaRisk;
  /** A case id (exact) or an order id (placer order number, exact). */
  term?: string;
  after?: { updatedAt: Date; id: string };
  limit: number;
  now: Date;
}

export interface CaseListItem {
  id: string;
  state: CaseState;
  version: number;
  payerId: string | null;
  channel: string | null;
  serviceCode: string | null;
  urgency: string | null;
  orderNumber: string | null;
  outcome: string | null;
  slaDueAt: Date | null;
  /** The SLA breach flag: when the payer's decision time ran out on the undecided case. */
  slaBreachedAt: Date | null;
  createdAt: Date;
  updatedAt: Date;
  decidedAt: Date | null;
}

const listColumns = `id, state, version, payer_id AS "payerId", channel, service_code AS "serviceCode", urgency,
  order_number AS "orderNumber", outcome, sla_due_at AS "slaDueAt", sla_breached_at AS "slaBreachedAt",
  created_at AS "createdAt",
  updated_at AS "updatedAt", decided_at AS "decidedAt"`;
const openStates = `(${activeCaseStates.map((s) => `'${s}'`).join(', ')})`;

export async function searchCases(sql: Sql, tenant: string, search: CaseSearch): Promise<CaseListItem[]> {
  const params: unknown[] = [tenant];
  const where = ['tenant_id = $1'];
  const add = (clause: (p: string) => string, value: unknown) => {
    params.push(value);
    where.push(clause(`$${params.length}`));
  };
  if (search.term !== undefined) {
    if (uuidPattern.test(search.term)) add((p) => `id = ${p}::uuid`, search.term);
    else add((p) => `order_number = ${p}`, search.term);
  }
  if (search.state) add((p) => `state = ${p}`, search.state);
  if (search.payer) add((p) => `payer_id = ${p}`, search.payer);
  if (search.service) add((p) => `service_code = ${p}`, search.service);
  if (search.channel) add((p) => `channel = ${p}`, search.channel);
  if (search.urgency) add((p) => `urgency = ${p}`, search.urgency);
  if (search.slaRisk === 'none') where.push(`NOT (state IN ${openStates} AND sla_due_at IS NOT NULL)`);
  else if (search.slaRisk) {
    params.push(search.now);
    const now = `$${params.length}::timestamptz`;
    const soon = `${now} + interval '${SLA_AT_RISK_WINDOW_HOURS} hours'`;
    where.push(`state IN ${openStates} AND sla_due_at IS NOT NULL`);
    if (search.slaRisk === 'breached') where.push(`sla_due_at < ${now}`);
    if (search.slaRisk === 'at_risk') where.push(`sla_due_at >= ${now} AND sla_due_at < ${soon}`);
    if (search.slaRisk === 'on_track') where.push(`sla_due_at >= ${soon}`);
  }
  if (search.after) {
    params.push(search.after.updatedAt, search.after.id);
    where.push(`(updated_at, id) < ($${params.length - 1}, $${params.length}::uuid)`);
  }
  params.push(search.limit);
  const { rows } = await sql.query<CaseListItem>(
    `${planEachRun}SELECT ${listColumns} FROM cases WHERE ${where.join(' AND ')}
      ORDER BY updated_at DESC, id DESC LIMIT $${params.length}`,
    params,
  );
  return rows;
}

export interface CaseFactsView {
  serviceCode: string | null;
  urgency: string | null;
  orderNumber: string | null;
  submittedAt: Date | null;
  decidedAt: Date | null;
  firstOutcome: string | null;
  humanTouched: boolean;
  appealedAt: Date | null;
}

export async function getCaseFacts(sql: Sql, tenant: string, caseId: string): Promise<CaseFactsView | null> {
  if (!uuidPattern.test(caseId)) return null;
  const { rows } = await sql.query<CaseFactsView>(
    `SELECT service_code AS "serviceCode", urgency, order_number AS "orderNumber", submitted_at AS "submittedAt",
            decided_at AS "decidedAt", first_outcome AS "firstOutcome", human_touched AS "humanTouched",
            appealed_at AS "appealedAt"
       FROM cases WHERE tenant_id = $1 AND id = $2`,
    [tenant, caseId],
  );
  return rows[0] ?? null;
}

export interface PayerExchange {
  id: string;
  payerId: string;
  channel: string;
  purpose: string;
  traceNumber: string;
  attempt: number;
  status: string;
  interchangeControlNumber: string | null;
  errorCode: string | null;
  outcome: unknown;
  createdAt: Date;
  completedAt: Date | null;
  hasRequest: boolean;
  hasResponse: boolean;
}

/** Every exchange with the payer for a case (from payer_submissions), oldest first, without the raw bytes. */
export async function listPayerExchanges(sql: Sql, tenant: string, caseId: string): Promise<PayerExchange[]> {
  const { rows } = await sql.query<PayerExchange>(
    `SELECT id::text AS id, payer_id AS "payerId", channel, purpose, trace_number AS "traceNumber", attempt, status,
            interchange_control_number AS "interchangeControlNumber", error_code AS "errorCode",
            outcome, created_at AS "createdAt", completed_at AS "completedAt",
            request IS NOT NULL AS "hasRequest", response IS NOT NULL AS "hasResponse"
       FROM payer_submissions WHERE tenant_id = $1 AND case_id = $2 ORDER BY created_at, id`,
    [tenant, caseId],
  );
  return rows;
}

export interface RawExchange {
  id: string;
  channel: string;
  purpose: string;
  request: string | null;
  response: string | null;
}

/** The raw request and response of one exchange (PHI: callers check the role first). */
export async function getRawExchange(
  sql: Sql,
  tenant: string,
  caseId: string,
  exchangeId: string,
): Promise<RawExchange | null> {
  if (!/^\d{1,18}$/.test(exchangeId)) return null;
  const { rows } = await sql.query<RawExchange>(
    `SELECT id::text AS id, channel, purpose, request, response FROM payer_submissions
      WHERE tenant_id = $1 AND case_id = $2 AND id = $3::bigint`,
    [tenant, caseId, exchangeId],
  );
  return rows[0] ?? null;
}

export interface CaseAuditRow {
  seq: number;
  at: Date;
  actor: string;
  onBehalfOf: string | null;
  action: string;
  details: Record<string, unknown>;
  hash: string;
  prevHash: string;
}

export async function listCaseAudit(sql: Sql, tenant: string, caseId: string): Promise<CaseAuditRow[]> {
  const { rows } = await sql.query<CaseAuditRow>(
    `SELECT seq::int AS seq, at, actor, on_behalf_of AS "onBehalfOf", action, details, hash, prev_hash AS "prevHash"
       FROM audit_log WHERE case_id = $2 AND tenant_id = $1 ORDER BY seq`,
    [tenant, caseId],
  );
  return rows;
}

/** The last event the case published on `topic` (its ClaimResponse), parsed; null when there is none. */
export async function lastPublishedJson(
  sql: Sql,
  tenant: string,
  caseId: string,
  topic: string,
): Promise<{ createdAt: Date; value: unknown } | null> {
  const { rows } = await sql.query<{ created_at: Date; value: Buffer }>(
    `SELECT created_at, value FROM outbox WHERE case_id = $2 AND tenant_id = $1 AND topic = $3
      ORDER BY id DESC LIMIT 1`,
    [tenant, caseId, topic],
  );
  const row = rows[0];
  if (!row) return null;
  try {
    return { createdAt: row.created_at, value: JSON.parse(row.value.toString('utf8')) };
  } catch {
    return null;
  }
}

export interface FailedCase {
  id: string;
  version: number;
  payerId: string | null;
  serviceCode: string | null;
  urgency: string | null;
  failedAt: Date;
  /** The failure's data: reason, errorCode, step … (codes only). */
  failure: Record<string, unknown>;
}

/** Cases in state `failed`, newest first, each with the data of the event that failed it. */
export async function listFailedCases(sql: Sql, tenant: string, limit: number): Promise<FailedCase[]> {
  const { rows } = await sql.query<FailedCase>(
    `SELECT c.id, c.version, c.payer_id AS "payerId", c.service_code AS "serviceCode", c.urgency,
            f.at AS "failedAt", f.data AS failure
       FROM cases c
       JOIN LATERAL (SELECT at, data FROM case_events e
                      WHERE e.case_id = c.id AND e.event = 'failed' ORDER BY e.seq DESC LIMIT 1) f ON true
      WHERE c.tenant_id = $1 AND c.state = 'failed'
      ORDER BY c.updated_at DESC, c.id DESC LIMIT $2`,
    [tenant, limit],
  );
  return rows;
}
