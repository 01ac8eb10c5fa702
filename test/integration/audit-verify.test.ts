import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { type AuditEntry, appendAuditEntries, verifyAuditChain } from '../../src/audit/audit-log.ts';
import { createCase, type Database, transitionCase, withTransaction } from '../../src/store/index.ts';
import { openTestDatabase, testDatabaseKind } from '../helpers/database.ts';
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
  });
  afterEach(() => db?.close());

  /** A DBA with table rights can switch the append-only trigger off; verify must still catch the edit. */
  async function tamper(sql: string, params: unknown[] = []): Promise<void> {
    await db.pool.query('ALTER TABLE audit_log DISABLE TRIGGER audit_log_append_only');
    await db.pool.query(sql, params);
    await db.pool.query('ALTER TABLE audit_log ENABLE TRIGGER audit_log_append_only');
  }

  it('verifies an untouched chain', async () => {
    expect(await verifyAuditChain(db.pool)).toEqual({ ok: true, rowsChecked: 8, failures: [] });
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
      seq: 3,
      reason: 'row content does not match its hash (edited)',
    });
  });

  it('catches an edited detail inside the jsonb column', async () => {
    await tamper(`UPDATE audit_log SET details = jsonb_set(details, '{n}', '99') WHERE seq = 4`);
    expect((await verifyAuditChain(db.pool)).failures.map((f) => f.seq)).toContain(4);
  });

  it('catches a deleted row in the middle', async () => {
    await tamper('DELETE FROM audit_log WHERE seq = 5');
    const result = await verifyAuditChain(db.pool);
    expect(result.ok).toBe(false);
    expect(result.failures).toContainEqual({ seq: 5, reason: 'rows 5..5 are missing (deleted)' });
    expect(result.failures).toContainEqual({
      seq: 6,
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
    expect(result.failures.map((f) => f.seq)).toEqual(expect.arrayContaining([2, 3]));
  });
});
