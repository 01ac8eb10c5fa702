/**
 * Migration 0019 (issue #17): the audit chain moved from "each transaction locks the head and chains its own rows"
 * to "transactions write rows unchained; one chainer links them". A database chained the old way must still
 * verify afterwards, and new rows must chain on from its head.
 */
import { createHash } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { appendAudit, chainAllAudit, verifyAuditChain } from '../../src/audit/audit-log.ts';
import { canonicalJson } from '../../src/audit/canonical-json.ts';
import { type Database, migrate, readMigrations, withTransaction } from '../../src/store/index.ts';
import { openTestDatabase, testDatabaseKind } from '../helpers/database.ts';

const at = new Date('2026-03-02T10:00:00Z');

/** How rows were written before 0019: numbered and hashed in the writing transaction (the on-disk format). */
async function appendTheOldWay(db: Database, actions: string[]): Promise<void> {
  await withTransaction(db.pool, async (tx) => {
    const head = await tx.query('SELECT seq, hash FROM audit_head WHERE id = 1 FOR UPDATE');
    let { seq, hash } = head.rows[0];
    for (const action of actions) {
      seq++;
      const content = canonicalJson({
        seq,
        at: at.toISOString(),
        tenant: 'clinic-a',
        actor: 'system:workflow',
        onBehalfOf: null,
        action,
        caseId: null,
        details: { old: true },
      });
      const next = createHash('sha256').update(hash).update('\n').update(content).digest('hex');
      await tx.query(
        `INSERT INTO audit_log (seq, at, tenant_id, actor, on_behalf_of, action, case_id, details, prev_hash, hash)
         VALUES ($1, $2, 'clinic-a', 'system:workflow', NULL, $3, NULL, '{"old": true}', $4, $5)`,
        [seq, at, action, hash, next],
      );
      hash = next;
    }
    await tx.query('UPDATE audit_head SET seq = $1, hash = $2 WHERE id = 1', [seq, hash]);
  });
}

describe(`audit chain after migration 0019 (${testDatabaseKind()})`, () => {
  let db: Database;
  const all = readMigrations();

  beforeAll(async () => {
    db = await openTestDatabase({ migrate: false });
    await migrate(
      db.pool,
      all.filter((m) => m.version < '0019'),
    );
  });
  afterAll(() => db?.close());

  it('keeps the rows chained before it verifiable, and chains new rows on from the old head', async () => {
    await appendTheOldWay(db, ['old.one', 'old.two', 'old.three']);
    expect((await migrate(db.pool, all)).applied).toContain('0019_audit_chainer');
    expect(await verifyAuditChain(db.pool)).toEqual({ ok: true, rowsChecked: 3, unchained: 0, failures: [] });

    await withTransaction(db.pool, (tx) =>
      appendAudit(tx, { tenant: 'clinic-a', actor: { id: 'system:workflow' }, action: 'new.one', at }),
    );
    expect(await chainAllAudit(db.pool)).toBe(1);
    const { rows } = await db.pool.query(`SELECT action, seq, chain_pos FROM audit_log ORDER BY chain_pos`);
    expect(rows).toEqual([
      { action: 'old.one', seq: 1, chain_pos: 1 },
      { action: 'old.two', seq: 2, chain_pos: 2 },
      { action: 'old.three', seq: 3, chain_pos: 3 },
      { action: 'new.one', seq: 4, chain_pos: 4 },
    ]);
    expect(await verifyAuditChain(db.pool)).toEqual({ ok: true, rowsChecked: 4, unchained: 0, failures: [] });

    // An old row edited afterwards is still caught.
    await db.pool.query('ALTER TABLE audit_log DISABLE TRIGGER audit_log_append_only');
    await db.pool.query(`UPDATE audit_log SET action = 'old.forged' WHERE seq = 2`);
    await db.pool.query('ALTER TABLE audit_log ENABLE TRIGGER audit_log_append_only');
    expect((await verifyAuditChain(db.pool)).failures).toContainEqual({
      position: 2,
      reason: 'row content does not match its hash (edited)',
    });
  });
});
