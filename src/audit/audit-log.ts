/**
 * The append-only, hash-chained audit log: who did what, on whose behalf, to which case, when.
 * Each row's hash covers its content and the previous row's hash, so editing, deleting or inserting a row
 * breaks the chain from that point; the head row (audit_head) catches a deleted tail.
 */
import { createHash } from 'node:crypto';
import type pg from 'pg';
import { insertRows, insertStatement, rowsPerStatement } from '../store/bulk-insert.ts';
import type { Sql, Tx } from '../store/sql.ts';
import { canonicalJson } from './canonical-json.ts';

/** Who acts, and for whom: a token acting for a clinic, a reviewer for a tenant, the gateway for itself. */
export interface Actor {
  /** e.g. `token:3f2a…`, `user:reviewer@clinic`, `system:workflow`. */
  readonly id: string;
  /** e.g. `tenant:clinic-a`, `ehr:epic-prod`, or the user a reviewer acts for. */
  readonly onBehalfOf?: string;
}

export interface AuditEntry {
  readonly tenant: string;
  readonly actor: Actor;
  readonly action: string;
  readonly caseId?: string;
  /** Codes and ids only: never PHI. */
  readonly details?: Record<string, unknown>;
  readonly at: Date;
}

interface AuditRow {
  seq: number;
  at: Date;
  tenant_id: string;
  actor: string;
  on_behalf_of: string | null;
  action: string;
  case_id: string | null;
  details: Record<string, unknown>;
  prev_hash: string;
  hash: string;
}

function hashRow(row: Omit<AuditRow, 'hash'>): string {
  const content = canonicalJson({
    seq: row.seq,
    at: row.at.toISOString(),
    tenant: row.tenant_id,
    actor: row.actor,
    onBehalfOf: row.on_behalf_of,
    action: row.action,
    caseId: row.case_id,
    details: row.details,
  });
  return createHash('sha256').update(row.prev_hash).update('\n').update(content).digest('hex');
}

/** Appends one audit row inside the caller's transaction (the row commits or rolls back with the action). */
export async function appendAudit(tx: Tx, entry: AuditEntry): Promise<{ seq: number; hash: string }> {
  return appendAuditEntries(tx, [entry]);
}

const auditColumns = [
  'seq',
  'at',
  'tenant_id',
  'actor',
  'on_behalf_of',
  'action',
  'case_id',
  'details',
  'prev_hash',
  'hash',
] as const;

/**
 * Appends audit rows, in order, inside the caller's transaction. Appending locks the chain head until the
 * transaction ends, so transactions that write several things collect their entries (see `auditTo` on
 * createCase/transitionCase) and append them here as their LAST step: the head is then held for two
 * statements instead of the whole transaction, and concurrent transactions barely wait on it.
 */
export async function appendAuditEntries(
  tx: Tx,
  entries: readonly AuditEntry[],
): Promise<{ seq: number; hash: string }> {
  const head = await tx.query<{ seq: number; hash: string }>(
    'SELECT seq, hash FROM audit_head WHERE id = 1 FOR UPDATE',
  );
  let { seq, hash } = head.rows[0]!;
  if (entries.length === 0) return { seq, hash };
  const rows: unknown[][] = [];
  for (const entry of entries) {
    const row: Omit<AuditRow, 'hash'> = {
      seq: seq + 1,
      at: entry.at,
      tenant_id: entry.tenant,
      actor: entry.actor.id,
      on_behalf_of: entry.actor.onBehalfOf ?? null,
      action: entry.action,
      case_id: entry.caseId ?? null,
      details: entry.details ?? {},
      prev_hash: hash,
    };
    seq = row.seq;
    hash = hashRow(row);
    rows.push([
      row.seq,
      row.at,
      row.tenant_id,
      row.actor,
      row.on_behalf_of,
      row.action,
      row.case_id,
      row.details,
      row.prev_hash,
      hash,
    ]);
  }
  if (rows.length <= rowsPerStatement(auditColumns)) {
    // The usual case (a step's few rows): rows and the new head in ONE statement, so the head is locked for two
    // round trips (read it, write everything), not three (issue #17).
    const insert = insertStatement('audit_log', auditColumns, rows);
    const n = insert.values.length;
    await tx.query(
      `WITH appended AS (${insert.text}) UPDATE audit_head SET seq = $${n + 1}, hash = $${n + 2} WHERE id = 1`,
      [...insert.values, seq, hash],
    );
    return { seq, hash };
  }
  // In chunks: a message of many order groups appends thousands of rows, more than one statement's
  // 65,535 bind parameters (issue #10 item 7: that INSERT failed after holding the database for a minute).
  await insertRows(tx, 'audit_log', auditColumns, rows);
  await tx.query('UPDATE audit_head SET seq = $1, hash = $2 WHERE id = 1', [seq, hash]);
  return { seq, hash };
}

export interface AuditVerification {
  ok: boolean;
  rowsChecked: number;
  /** Each break in the chain, with the sequence number where it shows. */
  failures: Array<{ seq: number; reason: string }>;
}

/** Walks the whole chain in sequence order (in pages, so memory stays flat) and reports every break. */
export async function verifyAuditChain(pool: pg.Pool | Sql, pageSize = 5000): Promise<AuditVerification> {
  const failures: AuditVerification['failures'] = [];
  let expectedSeq = 1;
  let previousHash = 'genesis';
  let rowsChecked = 0;
  for (;;) {
    const { rows } = await pool.query<AuditRow>(
      `SELECT seq, at, tenant_id, actor, on_behalf_of, action, case_id, details, prev_hash, hash
         FROM audit_log WHERE seq >= $1 ORDER BY seq LIMIT $2`,
      [expectedSeq, pageSize],
    );
    for (const row of rows) {
      rowsChecked++;
      if (row.seq !== expectedSeq) {
        failures.push({
          seq: expectedSeq,
          reason: `rows ${expectedSeq}..${row.seq - 1} are missing (deleted)`,
        });
      }
      if (row.prev_hash !== previousHash) {
        failures.push({ seq: row.seq, reason: 'prev_hash does not match the hash of the row before it' });
      }
      if (hashRow(row) !== row.hash) {
        failures.push({ seq: row.seq, reason: 'row content does not match its hash (edited)' });
      }
      expectedSeq = row.seq + 1;
      previousHash = row.hash;
    }
    if (rows.length < pageSize) break;
  }
  const head = await pool.query<{ seq: number; hash: string }>(
    'SELECT seq, hash FROM audit_head WHERE id = 1',
  );
  const { seq: headSeq, hash: headHash } = head.rows[0] ?? { seq: 0, hash: 'genesis' };
  if (headSeq !== expectedSeq - 1) {
    failures.push({
      seq: headSeq,
      reason: `the head says ${headSeq} rows but the log ends at ${expectedSeq - 1} (tail deleted or added)`,
    });
  } else if (headHash !== previousHash) {
    failures.push({ seq: headSeq, reason: 'the head hash does not match the last row' });
  }
  return { ok: failures.length === 0, rowsChecked, failures };
}
