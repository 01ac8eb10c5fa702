/**
 * Review gates and their approvals (migration 0012). A gate row is written in the same transaction as the
 * case's `review_requested` (or escalation / changes) event; an approval row in the same transaction as the
 * decision it contributes to. The case row lock (transitionCase, lockCase) serializes everything on one case.
 */
import type { GateSpec, RolloutMode } from '../workflow/review/gate.ts';
import type { Sql, Tx } from './sql.ts';
import { scheduleTimer } from './timers.ts';

export type { GateSpec, RolloutMode } from '../workflow/review/gate.ts';

export type GateStatus =
  | 'open'
  | 'approved'
  | 'rejected'
  | 'changes_requested'
  | 'escalated'
  | 'expired'
  | 'superseded'
  | 'handed_off';

export interface GateRecord extends GateSpec {
  readonly caseId: string;
  readonly tenant: string;
  readonly seq: number;
  readonly caseVersion: number;
  readonly status: GateStatus;
  readonly openedAt: Date;
  readonly closedAt: Date | null;
  readonly closedBy: string | null;
}

export interface ApprovalRecord {
  readonly caseId: string;
  readonly gateSeq: number;
  readonly approver: string;
  readonly role: string;
  readonly npi: string | null;
  readonly tokenId: string | null;
  readonly submissionKey: string;
  readonly at: Date;
}

interface GateRow {
  case_id: string;
  tenant_id: string;
  seq: number;
  reason: string;
  rollout_mode: RolloutMode;
  submission_key: string;
  case_version: number;
  policy_id: string | null;
  policy_version: string | null;
  required_role: string;
  approvals_required: number;
  severity: string;
  expires_at: Date | null;
  on_expiry: 'reject' | 'escalate' | null;
  escalate_to: string | null;
  facts: Record<string, unknown>;
  status: GateStatus;
  opened_at: Date;
  closed_at: Date | null;
  closed_by: string | null;
}

function toGate(row: GateRow): GateRecord {
  return {
    caseId: row.case_id,
    tenant: row.tenant_id,
    seq: row.seq,
    reason: row.reason as GateSpec['reason'],
    rolloutMode: row.rollout_mode,
    submissionKey: row.submission_key,
    caseVersion: row.case_version,
    policyId: row.policy_id,
    policyVersion: row.policy_version,
    requiredRole: row.required_role,
    approvalsRequired: row.approvals_required === 2 ? 2 : 1,
    severity: row.severity,
    expiresAt: row.expires_at,
    onExpiry: row.on_expiry,
    escalateTo: row.escalate_to,
    facts: row.facts,
    status: row.status,
    openedAt: row.opened_at,
    closedAt: row.closed_at,
    closedBy: row.closed_by,
  };
}

const gateColumns =
  'case_id, tenant_id, seq, reason, rollout_mode, submission_key, case_version, policy_id, policy_version, required_role, approvals_required, severity, expires_at, on_expiry, escalate_to, facts, status, opened_at, closed_at, closed_by';

/**
 * A case's gates ($1 tenant, $2 case id), oldest first, as one JSON array: a sub-select, so that a caller reading
 * them with other things (the retry context, the submit step's approvers) needs one round trip, not one per table.
 */
export const caseGatesJsonSql = `(SELECT coalesce(json_agg(g ORDER BY g.seq), '[]'::json)
    FROM (SELECT ${gateColumns} FROM review_gates WHERE tenant_id = $1 AND case_id = $2) g)`;

/** JSON has no dates: the timestamps come back as ISO strings. */
const toDate = (value: unknown): Date | null =>
  value === null || value === undefined ? null : new Date(value as string);

/** The rows of caseGatesJsonSql as records, the same as listGates returns. */
export function gatesFromJson(rows: ReadonlyArray<Record<string, unknown>>): GateRecord[] {
  return rows.map((row) =>
    toGate({
      ...(row as unknown as GateRow),
      expires_at: toDate(row.expires_at),
      opened_at: toDate(row.opened_at)!,
      closed_at: toDate(row.closed_at),
    }),
  );
}

/** Timer kind that fires when a gate with an expiry is still open (src/workers/review-expiry.ts). */
export const REVIEW_EXPIRE = 'review.expire';

/**
 * Opens the case's next gate (seq = previous + 1), closing an open one as `superseded` first. Call inside the
 * transaction that moves the case to awaiting_review, after the transition (`caseVersion` = the case's new
 * version: the one a reviewer's screen must show). A gate with an expiry gets its `review.expire` timer.
 */
export async function openGate(
  tx: Tx,
  input: { tenant: string; caseId: string; caseVersion: number; at: Date; spec: GateSpec; closedBy?: string },
): Promise<GateRecord> {
  await tx.query(
    `UPDATE review_gates SET status = 'superseded', closed_at = $2, closed_by = $3
      WHERE case_id = $1 AND status = 'open'`,
    [input.caseId, input.at, input.closedBy ?? 'system:workflow'],
  );
  const s = input.spec;
  const { rows } = await tx.query<GateRow>(
    `INSERT INTO review_gates (case_id, tenant_id, seq, reason, rollout_mode, submission_key, case_version, policy_id,
        policy_version, required_role, approvals_required, severity, expires_at, on_expiry, escalate_to, facts,
        opened_at)
     SELECT $1, $2, coalesce(max(seq), 0) + 1, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16
       FROM review_gates WHERE case_id = $1
     RETURNING ${gateColumns}`,
    [
      input.caseId,
      input.tenant,
      s.reason,
      s.rolloutMode,
      s.submissionKey,
      input.caseVersion,
      s.policyId ?? null,
      s.policyVersion ?? null,
      s.requiredRole,
      s.approvalsRequired,
      s.severity,
      s.expiresAt ?? null,
      s.onExpiry ?? null,
      s.escalateTo ?? null,
      s.facts ?? {},
      input.at,
    ],
  );
  const gate = toGate(rows[0]!);
  if (gate.expiresAt) {
    await scheduleTimer(
      tx,
      {
        tenant: input.tenant,
        caseId: input.caseId,
        kind: REVIEW_EXPIRE,
        dueAt: gate.expiresAt,
        payload: { gateSeq: gate.seq },
      },
      input.at,
    );
  }
  return gate;
}

export async function closeGate(
  tx: Tx,
  input: { caseId: string; seq: number; status: Exclude<GateStatus, 'open'>; at: Date; by: string },
): Promise<void> {
  await tx.query(
    `UPDATE review_gates SET status = $3, closed_at = $4, closed_by = $5
      WHERE case_id = $1 AND seq = $2 AND status = 'open'`,
    [input.caseId, input.seq, input.status, input.at, input.by],
  );
}

export async function openGateOf(sql: Sql, tenant: string, caseId: string): Promise<GateRecord | null> {
  const { rows } = await sql.query<GateRow>(
    `SELECT ${gateColumns} FROM review_gates WHERE tenant_id = $1 AND case_id = $2 AND status = 'open'`,
    [tenant, caseId],
  );
  return rows[0] ? toGate(rows[0]) : null;
}

export async function listGates(sql: Sql, tenant: string, caseId: string): Promise<GateRecord[]> {
  const { rows } = await sql.query<GateRow>(
    `SELECT ${gateColumns} FROM review_gates WHERE tenant_id = $1 AND case_id = $2 ORDER BY seq`,
    [tenant, caseId],
  );
  return rows.map(toGate);
}

/** Open gates of several cases at once (the review queue). */
export async function openGatesOf(
  sql: Sql,
  tenant: string,
  caseIds: readonly string[],
): Promise<GateRecord[]> {
  if (caseIds.length === 0) return [];
  const { rows } = await sql.query<GateRow>(
    `SELECT ${gateColumns} FROM review_gates WHERE tenant_id = $1 AND case_id = ANY($2) AND status = 'open'`,
    [tenant, caseIds],
  );
  return rows.map(toGate);
}

interface ApprovalRow {
  case_id: string;
  gate_seq: number;
  approver: string;
  role: string;
  npi: string | null;
  token_id: string | null;
  submission_key: string;
  at: Date;
}

function toApproval(row: ApprovalRow): ApprovalRecord {
  return {
    caseId: row.case_id,
    gateSeq: row.gate_seq,
    approver: row.approver,
    role: row.role,
    npi: row.npi,
    tokenId: row.token_id,
    submissionKey: row.submission_key,
    at: row.at,
  };
}

/** Records one person's approval; false when that person had already approved this gate (a double click). */
export async function recordApproval(
  tx: Tx,
  input: {
    tenant: string;
    caseId: string;
    gateSeq: number;
    approver: string;
    role: string;
    npi?: string | null;
    tokenId?: string | null;
    submissionKey: string;
    at: Date;
  },
): Promise<boolean> {
  const result = await tx.query(
    `INSERT INTO review_approvals (case_id, gate_seq, tenant_id, approver, role, npi, token_id, submission_key, at)
     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)
     ON CONFLICT (case_id, gate_seq, approver) DO NOTHING`,
    [
      input.caseId,
      input.gateSeq,
      input.tenant,
      input.approver,
      input.role,
      input.npi ?? null,
      input.tokenId ?? null,
      input.submissionKey,
      input.at,
    ],
  );
  return (result.rowCount ?? 0) > 0;
}

const approvalColumns = 'case_id, gate_seq, approver, role, npi, token_id, submission_key, at';

export async function listApprovals(sql: Sql, tenant: string, caseId: string): Promise<ApprovalRecord[]> {
  const { rows } = await sql.query<ApprovalRow>(
    `SELECT ${approvalColumns} FROM review_approvals WHERE tenant_id = $1 AND case_id = $2 ORDER BY at, approver`,
    [tenant, caseId],
  );
  return rows.map(toApproval);
}

/** A case's approvals ($1 tenant, $2 case id) in listApprovals' order, as one JSON array (see caseGatesJsonSql). */
export const caseApprovalsJsonSql = `(SELECT coalesce(json_agg(a ORDER BY a.at, a.approver), '[]'::json)
    FROM (SELECT ${approvalColumns} FROM review_approvals WHERE tenant_id = $1 AND case_id = $2) a)`;

/** The rows of caseApprovalsJsonSql as records, the same as listApprovals returns. */
export function approvalsFromJson(rows: ReadonlyArray<Record<string, unknown>>): ApprovalRecord[] {
  return rows.map((row) => toApproval({ ...(row as unknown as ApprovalRow), at: toDate(row.at)! }));
}

/** A case's gates and approvals in one round trip. */
export async function listReviewHistory(
  sql: Sql,
  tenant: string,
  caseId: string,
): Promise<{ gates: GateRecord[]; approvals: ApprovalRecord[] }> {
  const { rows } = await sql.query<{
    gates: Record<string, unknown>[];
    approvals: Record<string, unknown>[];
  }>(`SELECT ${caseGatesJsonSql} AS gates, ${caseApprovalsJsonSql} AS approvals`, [tenant, caseId]);
  return { gates: gatesFromJson(rows[0]!.gates), approvals: approvalsFromJson(rows[0]!.approvals) };
}
