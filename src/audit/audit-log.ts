/**
 * The append-only, hash-chained audit log: who did what, on whose behalf, to which case, when.
 * Each row's hash covers its content, its chain position and the previous row's hash, so editing, deleting or
 * inserting a row breaks the chain from that point; the head row (audit_head) catches a deleted tail.
 * Transactions write their rows unchained (no lock); a single chainer links them in batches (migration 0019).
 */
import { createHash } from 'node:crypto';
import type pg from 'pg';
import { insertStatement, rowsPerStatement } from '../store/bulk-insert.ts';
import { queryMaybeLast, type Sql, type Tx, withTransaction } from '../store/sql.ts';
import type { Statement } from '../store/together.ts';
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
  /** Order of writing (a sequence; gaps where a transaction rolled back). */
  seq: number;
  at: Date;
  tenant_id: string;
  actor: string;
  on_behalf_of: string | null;
  action: string;
  case_id: string | null;
  details: Record<string, unknown>;
}

interface ChainedAuditRow extends AuditRow {
  /** Position in the hash chain: 1, 2, 3 … with no gaps. */
  chain_pos: number;
  prev_hash: string;
  hash: string;
}

function hashRow(row: AuditRow, position: number, prevHash: string): string {
  const content = canonicalJson({
    // Rows chained before migration 0019 have position = seq and were hashed with `seq` alone: unchanged.
    seq: position,
    ...(row.seq === position ? {} : { row: row.seq }),
    at: row.at.toISOString(),
    tenant: row.tenant_id,
    actor: row.actor,
    onBehalfOf: row.on_behalf_of,
    action: row.action,
    caseId: row.case_id,
    details: row.details,
  });
  return createHash('sha256').update(prevHash).update('\n').update(content).digest('hex');
}

/** Appends one audit row inside the caller's transaction (the row commits or rolls back with the action). */
export async function appendAudit(tx: Tx, entry: AuditEntry): Promise<void> {
  await appendAuditEntries(tx, [entry]);
}

const auditColumns = ['at', 'tenant_id', 'actor', 'on_behalf_of', 'action', 'case_id', 'details'] as const;

/**
 * Appends audit rows, in order, inside the caller's transaction. They are written unchained and take no lock,
 * so audited transactions never wait for each other (issue #17); `chainAudit` links them into the hash chain
 * once committed. Transactions that write several things still collect their entries (see `auditTo` on
 * createCase/transitionCase) and append them here in one statement.
 */
export async function appendAuditEntries(
  tx: Tx,
  entries: readonly AuditEntry[],
  options: { thenCommit?: boolean } = {},
): Promise<void> {
  const statements = auditInsertStatements(entries);
  // thenCommit: the rows are the transaction's last writes, and its COMMIT goes with the last chunk (store/sql.ts).
  for (const [i, statement] of statements.entries())
    await queryMaybeLast(tx, statement.text, [...statement.values], {
      thenCommit: options.thenCommit === true && i === statements.length - 1,
    });
}

/**
 * appendAuditEntries as statements (one per chunk; none for no entries), for a caller that sends them with its
 * other writes in one round trip (src/store/together.ts).
 */
export function auditInsertStatements(entries: readonly AuditEntry[]): Statement[] {
  const rows = entries.map((entry) => [
    entry.at,
    entry.tenant,
    entry.actor.id,
    entry.actor.onBehalfOf ?? null,
    entry.action,
    entry.caseId ?? null,
    entry.details ?? {},
  ]);
  // In chunks: a message of many order groups appends thousands of rows, more than one statement's
  // 65,535 bind parameters (issue #10 item 7).
  const perStatement = rowsPerStatement(auditColumns);
  const statements: Statement[] = [];
  for (let start = 0; start < rows.length; start += perStatement)
    statements.push(insertStatement('audit_log', auditColumns, rows.slice(start, start + perStatement)));
  return statements;
}

/**
 * Links committed unchained audit rows into the hash chain, oldest written first, up to `batchSize` of them in
 * one transaction; returns how many. One chainer at a time holds the head row's lock: with `wait: false` another
 * chainer at work means this call does nothing (the gateway's chainer loop); with `wait: true` it waits its turn
 * (`pagw audit verify`). A row whose transaction commits after later-written rows were chained is chained after
 * them: the chain is in the order rows became visible, and nothing is ever inserted before a chained row.
 */
export const defaultChainBatchSize = 2000;

export async function chainAudit(
  pool: pg.Pool,
  options: { batchSize?: number; wait?: boolean } = {},
): Promise<number> {
  const batchSize = options.batchSize ?? defaultChainBatchSize;
  // The common case, idle: one index probe, no transaction.
  const probe = await pool.query('SELECT 1 FROM audit_log WHERE hash IS NULL LIMIT 1');
  if (probe.rows.length === 0) return 0;
  return withTransaction(pool, async (tx) => {
    const head = await tx.query<{ seq: number; hash: string }>(
      `SELECT seq, hash FROM audit_head WHERE id = 1 FOR UPDATE${options.wait ? '' : ' SKIP LOCKED'}`,
    );
    if (!head.rows[0]) return 0;
    let { seq: position, hash } = head.rows[0];
    const { rows } = await tx.query<AuditRow>(
      `SELECT seq, at, tenant_id, actor, on_behalf_of, action, case_id, details FROM audit_log
        WHERE hash IS NULL ORDER BY seq LIMIT $1`,
      [batchSize],
    );
    if (rows.length === 0) return 0;
    const seqs: number[] = [];
    const positions: number[] = [];
    const prevHashes: string[] = [];
    const hashes: string[] = [];
    for (const row of rows) {
      position++;
      seqs.push(row.seq);
      positions.push(position);
      prevHashes.push(hash);
      hash = hashRow(row, position, hash);
      hashes.push(hash);
    }
    await tx.query(
      `WITH linked AS (
         UPDATE audit_log a SET chain_pos = v.pos, prev_hash = v.prev, hash = v.hash
           FROM unnest($1::bigint[], $2::bigint[], $3::text[], $4::text[]) AS v(seq, pos, prev, hash)
          WHERE a.seq = v.seq)
       UPDATE audit_head SET seq = $5, hash = $6 WHERE id = 1`,
      [seqs, positions, prevHashes, hashes, position, hash],
    );
    return rows.length;
  });
}

/** Chains every audit row committed so far (waiting for another chainer if need be); returns how many. */
export async function chainAllAudit(pool: pg.Pool): Promise<number> {
  let total = 0;
  for (;;) {
    const chained = await chainAudit(pool, { wait: true });
    total += chained;
    if (chained === 0) return total;
  }
}

export interface AuditVerification {
  ok: boolean;
  rowsChecked: number;
  /** Rows written but not chained yet (the gateway's chainer links them within a second); not checked. */
  unchained: number;
  /** Each break in the chain, with the chain position where it shows. */
  failures: Array<{ position: number; reason: string }>;
}

/** Walks the whole chain in position order (in pages, so memory stays flat) and reports every break. */
export async function verifyAuditChain(pool: pg.Pool | Sql, pageSize = 5000): Promise<AuditVerification> {
  const failures: AuditVerification['failures'] = [];
  let expected = 1;
  let previousHash = 'genesis';
  let rowsChecked = 0;
  for (;;) {
    const { rows } = await pool.query<ChainedAuditRow>(
      `SELECT seq, chain_pos, at, tenant_id, actor, on_behalf_of, action, case_id, details, prev_hash, hash
         FROM audit_log WHERE chain_pos >= $1 ORDER BY chain_pos LIMIT $2`,
      [expected, pageSize],
    );
    for (const row of rows) {
      rowsChecked++;
      if (row.chain_pos !== expected) {
        failures.push({
          position: expected,
          reason: `rows ${expected}..${row.chain_pos - 1} are missing (deleted)`,
        });
      }
      if (row.prev_hash !== previousHash) {
        failures.push({
          position: row.chain_pos,
          reason: 'prev_hash does not match the hash of the row before it',
        });
      }
      if (hashRow(row, row.chain_pos, row.prev_hash) !== row.hash) {
        failures.push({ position: row.chain_pos, reason: 'row content does not match its hash (edited)' });
      }
      expected = row.chain_pos + 1;
      previousHash = row.hash;
    }
    if (rows.length < pageSize) break;
  }
  const head = await pool.query<{ seq: number; hash: string }>(
    'SELECT seq, hash FROM audit_head WHERE id = 1',
  );
  const { seq: headPosition, hash: headHash } = head.rows[0] ?? { seq: 0, hash: 'genesis' };
  if (headPosition !== expected - 1) {
    failures.push({
      position: headPosition,
      reason: `the head says ${headPosition} rows but the log ends at ${expected - 1} (tail deleted or added)`,
    });
  } else if (headHash !== previousHash) {
    failures.push({ position: headPosition, reason: 'the head hash does not match the last row' });
  }
  const pending = await pool.query<{ n: number }>(
    'SELECT count(*)::int AS n FROM audit_log WHERE hash IS NULL',
  );
  return { ok: failures.length === 0, rowsChecked, unchained: pending.rows[0]!.n, failures };
}
