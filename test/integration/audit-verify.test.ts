import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import {
  type AuditEntry,
  appendAudit,
  appendAuditEntries,
  chainAllAudit,
  chainAudit,
  verifyAuditChain,
} from '../../src/audit/audit-log.ts';
import { createCase, type Database, transitionCase, withTransaction } from '../../src/store/index.ts';
import { itOnPostgres, openTestDatabase, testDatabaseKind } from '../helpers/database.ts';
import { sampleRequest } from '../helpers/fixtures.ts';
import { insertSampleCase, testActor } from '../helpers/store.ts';

describe(`audit log hash chain on ${testDatabaseKind()}`, () => {
  let db: Database;
  beforeEach(async () => {
    db = await openTestDatabase();
    for (let i = 0; i < 4; i++) {
      const record = await insertSampleCase(db.pool);
      await withTransaction(db.pool, (tx) =>
        transitionCase(tx, {
          tenant: record.tenant,
          caseId: record.id,
          event: 'validated',
          actor: testActor,
          at: new Date('2026-03-01T10:00:00Z'),
          data: { n: i },
        }),
      );
    }
    expect(await chainAllAudit(db.pool)).toBe(8);
  });
  afterEach(() => db?.close());

  /** A DBA with table rights can switch the append-only trigger off; verify must still catch the edit. */
  async function tamper(sql: string, params: unknown[] = []): Promise<void> {
    await db.pool.query('ALTER TABLE audit_log DISABLE TRIGGER audit_log_append_only');
    await db.pool.query(sql, params);
    await db.pool.query('ALTER TABLE audit_log ENABLE TRIGGER audit_log_append_only');
  }

  it('verifies an untouched chain', async () => {
    expect(await verifyAuditChain(db.pool)).toEqual({ ok: true, rowsChecked: 8, unchained: 0, failures: [] });
  });

  it('entries collected during a transaction and appended at its end chain like single appends', async () => {
    const at = new Date('2026-03-01T11:00:00Z');
    const before = await verifyAuditChain(db.pool);
    await withTransaction(db.pool, async (tx) => {
      const audit: AuditEntry[] = [];
      const created = await createCase(tx, {
        request: sampleRequest({ idempotencyKey: 'collected-1' }),
        actor: testActor,
        at,
        auditTo: audit,
      });
      await transitionCase(tx, {
        tenant: created.case.tenant,
        caseId: created.case.id,
        event: 'validated',
        actor: testActor,
        at,
        auditTo: audit,
      });
      audit.push({
        tenant: 'clinic-a',
        actor: testActor,
        action: 'inbound.accepted',
        details: { caseIds: [created.case.id] },
        at,
      });
      // Nothing appended yet (asked through the transaction: PGlite runs one transaction at a time).
      expect((await tx.query('SELECT count(*)::int AS n FROM audit_log')).rows[0].n).toBe(before.rowsChecked);
      await appendAuditEntries(tx, audit);
    });
    expect(await chainAllAudit(db.pool)).toBe(3);
    const after = await verifyAuditChain(db.pool);
    expect(after).toMatchObject({ ok: true, rowsChecked: before.rowsChecked + 3 });
    const actions = await db.pool.query('SELECT action FROM audit_log ORDER BY seq DESC LIMIT 3');
    expect(actions.rows.map((r) => r.action).reverse()).toEqual([
      'case.received',
      'case.validated',
      'inbound.accepted',
    ]);
  });

  it('refuses UPDATE and DELETE on the audit log', async () => {
    await expect(db.pool.query(`UPDATE audit_log SET actor = 'x' WHERE seq = 1`)).rejects.toThrow(
      /append-only/,
    );
    await expect(db.pool.query('DELETE FROM audit_log WHERE seq = 1')).rejects.toThrow(/append-only/);
  });

  it('catches an edited row', async () => {
    await tamper(`UPDATE audit_log SET actor = 'user:someone-else' WHERE seq = 3`);
    const result = await verifyAuditChain(db.pool);
    expect(result.ok).toBe(false);
    expect(result.failures).toContainEqual({
      position: 3,
      reason: 'row content does not match its hash (edited)',
    });
  });

  it('catches an edited detail inside the jsonb column', async () => {
    await tamper(`UPDATE audit_log SET details = jsonb_set(details, '{n}', '99') WHERE seq = 4`);
    expect((await verifyAuditChain(db.pool)).failures.map((f) => f.position)).toContain(4);
  });

  it('catches a deleted row in the middle', async () => {
    await tamper('DELETE FROM audit_log WHERE seq = 5');
    const result = await verifyAuditChain(db.pool);
    expect(result.ok).toBe(false);
    expect(result.failures).toContainEqual({ position: 5, reason: 'rows 5..5 are missing (deleted)' });
    expect(result.failures).toContainEqual({
      position: 6,
      reason: 'prev_hash does not match the hash of the row before it',
    });
  });

  it('catches a deleted last row', async () => {
    await tamper('DELETE FROM audit_log WHERE seq = 8');
    const result = await verifyAuditChain(db.pool);
    expect(result.ok).toBe(false);
    expect(result.failures[0]?.reason).toMatch(/head says 8 rows but the log ends at 7/);
  });

  it('catches a row whose hash was recomputed but whose successor still points at the old one', async () => {
    await tamper(`UPDATE audit_log SET actor = 'user:forger', hash = repeat('0', 64) WHERE seq = 2`);
    const result = await verifyAuditChain(db.pool);
    expect(result.failures.map((f) => f.position)).toEqual(expect.arrayContaining([2, 3]));
  });

  const entry = (action: string): AuditEntry => ({
    tenant: 'clinic-a',
    actor: testActor,
    action,
    at: new Date('2026-03-01T12:00:00Z'),
  });

  it('a written row is unchained until the chainer links it; verify counts it and then checks it', async () => {
    await withTransaction(db.pool, (tx) => appendAudit(tx, entry('test.later')));
    const written = await db.pool.query(
      `SELECT seq, chain_pos, hash FROM audit_log WHERE action = 'test.later'`,
    );
    expect(written.rows).toEqual([{ seq: expect.any(Number), chain_pos: null, hash: null }]);
    expect(await verifyAuditChain(db.pool)).toEqual({ ok: true, rowsChecked: 8, unchained: 1, failures: [] });
    expect(await chainAudit(db.pool)).toBe(1);
    expect(await verifyAuditChain(db.pool)).toEqual({ ok: true, rowsChecked: 9, unchained: 0, failures: [] });
    const head = await db.pool.query('SELECT seq FROM audit_head');
    expect(head.rows[0].seq).toBe(9);
  });

  it('lets the chainer link an unchained row once and nothing else: no content change, no re-linking', async () => {
    await withTransaction(db.pool, (tx) => appendAudit(tx, entry('test.unlinked')));
    await expect(
      db.pool.query(`UPDATE audit_log SET actor = 'user:forger' WHERE action = 'test.unlinked'`),
    ).rejects.toThrow(/append-only/);
    await expect(
      db.pool.query(
        `UPDATE audit_log SET actor = 'user:forger', chain_pos = 99, prev_hash = 'x', hash = 'y' WHERE action = 'test.unlinked'`,
      ),
    ).rejects.toThrow(/append-only/);
    await expect(db.pool.query(`UPDATE audit_log SET hash = repeat('0', 64) WHERE seq = 1`)).rejects.toThrow(
      /append-only/,
    );
    await expect(db.pool.query(`DELETE FROM audit_log WHERE action = 'test.unlinked'`)).rejects.toThrow(
      /append-only/,
    );
    expect(await chainAudit(db.pool)).toBe(1);
    expect((await verifyAuditChain(db.pool)).ok).toBe(true);
  });

  it('chains in batches and in the order rows were written, the hash binding row and position', async () => {
    await withTransaction(db.pool, (tx) =>
      appendAuditEntries(tx, ['test.a', 'test.b', 'test.c', 'test.d', 'test.e'].map(entry)),
    );
    expect(await chainAudit(db.pool, { batchSize: 2 })).toBe(2);
    expect(await chainAudit(db.pool, { batchSize: 2 })).toBe(2);
    expect((await verifyAuditChain(db.pool)).unchained).toBe(1);
    expect(await chainAudit(db.pool, { batchSize: 2 })).toBe(1);
    expect(await chainAudit(db.pool, { batchSize: 2 })).toBe(0);
    const { rows } = await db.pool.query(
      `SELECT action, chain_pos FROM audit_log WHERE action LIKE 'test.%' ORDER BY chain_pos`,
    );
    expect(rows).toEqual(
      ['test.a', 'test.b', 'test.c', 'test.d', 'test.e'].map((action, i) => ({ action, chain_pos: 9 + i })),
    );
    expect(await verifyAuditChain(db.pool)).toMatchObject({ ok: true, rowsChecked: 13, unchained: 0 });
    // Moving a chained row to another position (with the trigger off) breaks its hash.
    await tamper(`UPDATE audit_log SET chain_pos = 100 WHERE chain_pos = 13`);
    await tamper(`UPDATE audit_log SET chain_pos = 13 WHERE chain_pos = 12`);
    await tamper(`UPDATE audit_log SET chain_pos = 12 WHERE chain_pos = 100`);
    const swapped = await verifyAuditChain(db.pool);
    expect(swapped.failures).toContainEqual({
      position: 12,
      reason: 'row content does not match its hash (edited)',
    });
  });

  // Concurrent transactions exist only on PostgreSQL (PGlite runs one at a time).
  itOnPostgres(
    'audited transactions do not wait for each other; a late commit is chained after what came before',
    async () => {
      const slow = await db.pool.connect();
      try {
        await slow.query('BEGIN');
        await appendAudit(slow, entry('test.slow'));
        // While `slow` is open with its row written, another transaction appends and commits without waiting,
        // and the chainer links that one (it cannot see `slow`'s row yet).
        await withTransaction(db.pool, (tx) => appendAudit(tx, entry('test.fast')));
        expect(await chainAudit(db.pool)).toBe(1);
        await slow.query('COMMIT');
      } finally {
        slow.release();
      }
      expect(await chainAudit(db.pool)).toBe(1);
      const { rows } = await db.pool.query(
        `SELECT action, seq, chain_pos FROM audit_log WHERE action IN ('test.slow', 'test.fast') ORDER BY chain_pos`,
      );
      expect(rows.map((r) => r.action)).toEqual(['test.fast', 'test.slow']);
      // Written first (lower seq), chained second: the chain follows visibility, not writing order.
      expect(rows[1].seq).toBeLessThan(rows[0].seq);
      expect(await verifyAuditChain(db.pool)).toMatchObject({ ok: true, rowsChecked: 10, unchained: 0 });
    },
  );

  itOnPostgres('two chainers take turns: every row chained once, the chain intact', async () => {
    await withTransaction(db.pool, (tx) =>
      appendAuditEntries(
        tx,
        Array.from({ length: 50 }, (_, i) => entry(`test.turn-${i}`)),
      ),
    );
    const counts = await Promise.all([
      chainAudit(db.pool, { batchSize: 7, wait: true }),
      chainAudit(db.pool, { batchSize: 7, wait: true }),
      chainAllAudit(db.pool),
    ]);
    expect(counts.reduce((a, b) => a + b, 0)).toBe(50);
    expect(await verifyAuditChain(db.pool)).toMatchObject({ ok: true, rowsChecked: 58, unchained: 0 });
  });
});
