import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { verifyAuditChain } from '../../src/audit/audit-log.ts';
import { type Database, transitionCase, withTransaction } from '../../src/store/index.ts';
import { openTestDatabase, testDatabaseKind } from '../helpers/database.ts';
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
