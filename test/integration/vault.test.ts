/**
 * The vault on a real database (PGlite, or PostgreSQL with DATABASE_URL): envelope round trip, fail-closed
 * opening (tampered, moved to another row or tenant, wrong master key), master-key rotation, TOTP inside the vault,
 * PHI sealing, and audit rows that name the read but never hold a value.
 */
import { chmodSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { generate } from 'otplib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ManualClock } from '../../src/clock.ts';
import { type Database, withTransaction } from '../../src/store/index.ts';
import { loadMasterKeyRing, masterKeyRingOf, type Vault } from '../../src/vault/index.ts';
import { createVault } from '../../src/vault/vault.ts';
import { openTestDatabase } from '../helpers/database.ts';
import { newMasterKey, testVaultActor } from '../helpers/vault.ts';

let db: Database;
const clock = new ManualClock('2026-04-01T12:00:00.000Z');
const masterKey = newMasterKey();
let vault: Vault;
const use = { tenant: 'clinic-v', reader: 'connector:test', caseId: '5b0c8f0e-8a55-4a39-8f0e-2c1b7c9d1a01' };
const seed = 'JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP';

async function code(promise: Promise<unknown>): Promise<string | undefined> {
  try {
    await promise;
    return undefined;
  } catch (error) {
    return (error as { code?: string }).code;
  }
}

beforeAll(async () => {
  db = await openTestDatabase();
  vault = createVault({ pool: db.pool, keys: masterKeyRingOf([masterKey]), clock, totpClock: clock });
});
afterAll(async () => {
  await db?.close();
});

describe('vault secrets', () => {
  it('round-trips a value; a new version replaces it; list shows metadata only', async () => {
    await vault.set({
      tenant: 'clinic-v',
      name: 'portal/acme/password',
      value: 'hunter2-first',
      actor: testVaultActor,
    });
    const second = await vault.set({
      tenant: 'clinic-v',
      name: 'portal/acme/password',
      value: 'hunter2-second',
      actor: testVaultActor,
    });
    expect(second.version).toBe(2);
    expect(await vault.read('portal/acme/password', use)).toBe('hunter2-second');
    const listed = await vault.list('clinic-v');
    expect(listed).toEqual([
      expect.objectContaining({ name: 'portal/acme/password', kind: 'value', version: 2, versions: 2 }),
    ]);
    expect(JSON.stringify(listed)).not.toContain('hunter2');
    // Stored rows hold no clear text.
    const { rows } = await db.pool.query<{ ciphertext: Buffer; wrapped_key: Buffer }>(
      'SELECT ciphertext, wrapped_key FROM vault_secrets WHERE tenant_id = $1',
      ['clinic-v'],
    );
    for (const row of rows) {
      expect(row.ciphertext.toString('latin1')).not.toContain('hunter2');
      expect(row.wrapped_key.toString('hex')).not.toContain(masterKey.toString('hex'));
    }
  });

  it('a missing secret is a typed error naming the secret and the tenant', async () => {
    const error = await vault.read('portal/none/password', use).catch((e) => e);
    expect(error.code).toBe('PAGW_VAULT_SECRET_MISSING');
    expect(error.message).toContain('portal/none/password');
    expect(error.message).toContain('clinic-v');
  });

  it('refuses invalid names and empty values', async () => {
    expect(await code(vault.set({ tenant: 't', name: '../etc', value: 'x', actor: testVaultActor }))).toBe(
      'PAGW_VAULT_NAME_INVALID',
    );
    expect(await code(vault.set({ tenant: 't', name: 'ok/name', value: '', actor: testVaultActor }))).toBe(
      'PAGW_VAULT_VALUE_INVALID',
    );
  });

  it('fails closed on a tampered ciphertext and a tampered wrapped key', async () => {
    await vault.set({ tenant: 'clinic-v', name: 'tamper/a', value: 'secret-a', actor: testVaultActor });
    await db.pool.query(
      `UPDATE vault_secrets SET ciphertext = set_byte(ciphertext, 30, (get_byte(ciphertext, 30) + 1) % 256)
        WHERE tenant_id = 'clinic-v' AND name = 'tamper/a'`,
    );
    expect(await code(vault.read('tamper/a', use))).toBe('PAGW_VAULT_TAMPERED');
    await vault.set({ tenant: 'clinic-v', name: 'tamper/b', value: 'secret-b', actor: testVaultActor });
    await db.pool.query(
      `UPDATE vault_secrets SET wrapped_key = set_byte(wrapped_key, 20, (get_byte(wrapped_key, 20) + 1) % 256)
        WHERE tenant_id = 'clinic-v' AND name = 'tamper/b'`,
    );
    expect(await code(vault.read('tamper/b', use))).toBe('PAGW_VAULT_TAMPERED');
  });

  it('fails closed on a ciphertext moved to another row, version or tenant', async () => {
    await vault.set({ tenant: 'clinic-v', name: 'move/source', value: 'the-source', actor: testVaultActor });
    await vault.set({ tenant: 'clinic-v', name: 'move/target', value: 'the-target', actor: testVaultActor });
    // Another name, same tenant.
    await db.pool.query(
      `UPDATE vault_secrets t SET ciphertext = s.ciphertext, wrapped_key = s.wrapped_key
         FROM vault_secrets s
        WHERE s.tenant_id = 'clinic-v' AND s.name = 'move/source' AND t.tenant_id = 'clinic-v' AND t.name = 'move/target'`,
    );
    expect(await code(vault.read('move/target', use))).toBe('PAGW_VAULT_TAMPERED');
    // Same name, another tenant.
    await db.pool.query(
      `INSERT INTO vault_secrets (tenant_id, name, version, kind, master_key_id, wrapped_key, ciphertext, created_at, created_by)
       SELECT 'clinic-other', name, version, kind, master_key_id, wrapped_key, ciphertext, created_at, created_by
         FROM vault_secrets WHERE tenant_id = 'clinic-v' AND name = 'move/source'`,
    );
    expect(await code(vault.read('move/source', { ...use, tenant: 'clinic-other' }))).toBe(
      'PAGW_VAULT_TAMPERED',
    );
    // Same name and tenant, another version.
    await db.pool.query(
      `INSERT INTO vault_secrets (tenant_id, name, version, kind, master_key_id, wrapped_key, ciphertext, created_at, created_by)
       SELECT tenant_id, name, version + 1, kind, master_key_id, wrapped_key, ciphertext, created_at, created_by
         FROM vault_secrets WHERE tenant_id = 'clinic-v' AND name = 'move/source'`,
    );
    expect(await code(vault.read('move/source', use))).toBe('PAGW_VAULT_TAMPERED');
  });

  it('a wrong master key fails closed, at start (verify) and at read', async () => {
    const wrong = createVault({ pool: db.pool, keys: masterKeyRingOf([newMasterKey()]), clock });
    expect(await code(wrong.verify())).toBe('PAGW_VAULT_WRONG_MASTER_KEY');
    expect(await code(wrong.read('portal/acme/password', use))).toBe('PAGW_VAULT_WRONG_MASTER_KEY');
  });
});

describe('TOTP', () => {
  it('generates the RFC 6238 code inside the vault; the seed is never read out', async () => {
    await vault.set({
      tenant: 'clinic-v',
      name: 'portal/acme/totp',
      value: `otpauth://totp/Acme:clinic?secret=${seed}&issuer=Acme`,
      kind: 'totp',
      actor: testVaultActor,
    });
    const expected = await generate({ secret: seed, epoch: Math.floor(clock.now().getTime() / 1000) });
    expect(await vault.totp('portal/acme/totp', use)).toBe(expected);
    expect(await code(vault.read('portal/acme/totp', use))).toBe('PAGW_VAULT_WRONG_KIND');
    expect(await code(vault.totp('portal/acme/password', use))).toBe('PAGW_VAULT_WRONG_KIND');
    expect(
      await code(
        vault.set({
          tenant: 'clinic-v',
          name: 'bad/totp',
          value: 'not base32!',
          kind: 'totp',
          actor: testVaultActor,
        }),
      ),
    ).toBe('PAGW_VAULT_VALUE_INVALID');
  });
});

describe('audited reads', () => {
  it('audits who read which secret, for which case, on whose behalf — and never the value or a code', async () => {
    const totpCode = await vault.totp('portal/acme/totp', { ...use, onBehalfOf: 'tenant:clinic-v' });
    await vault.read('portal/acme/password', use);
    const { rows } = await db.pool.query<{
      actor: string;
      on_behalf_of: string;
      action: string;
      case_id: string;
      details: unknown;
    }>(
      `SELECT actor, on_behalf_of, action, case_id, details FROM audit_log WHERE tenant_id = 'clinic-v' ORDER BY seq`,
    );
    const reads = rows.filter((r) => r.action === 'vault.secret_read' || r.action === 'vault.totp_generated');
    expect(reads.at(-1)).toMatchObject({
      actor: 'connector:test',
      on_behalf_of: 'tenant:clinic-v',
      action: 'vault.secret_read',
      case_id: use.caseId,
      details: { name: 'portal/acme/password', version: 2 },
    });
    expect(reads.some((r) => r.action === 'vault.totp_generated')).toBe(true);
    const all = JSON.stringify(rows);
    for (const value of ['hunter2', 'the-source', seed, totpCode]) expect(all).not.toContain(value);
  });
});

describe('PHI sealing', () => {
  it('seals under the tenant data key, opens only through the audited read, and fails closed when moved', async () => {
    const sealed = await vault.phi.seal(
      'clinic-v',
      ['inbound_messages', 'fp-1'],
      Buffer.from('PID|||DOE^JANE'),
    );
    expect(sealed.toString('latin1')).not.toContain('DOE^JANE');
    const opened = await withTransaction(db.pool, (tx) =>
      vault.phi.open(
        tx,
        { tenant: 'clinic-v', reader: 'test', what: 'inbound_messages.raw', ref: 'fp-1' },
        ['inbound_messages', 'fp-1'],
        sealed,
      ),
    );
    expect(opened.toString()).toBe('PID|||DOE^JANE');
    const moved = withTransaction(db.pool, (tx) =>
      vault.phi.open(
        tx,
        { tenant: 'clinic-v', reader: 'test', what: 'inbound_messages.raw' },
        ['inbound_messages', 'fp-2'],
        sealed,
      ),
    );
    expect(await code(moved)).toBe('PAGW_VAULT_TAMPERED');
    const otherTenant = withTransaction(db.pool, (tx) =>
      vault.phi.open(
        tx,
        { tenant: 'clinic-w', reader: 'test', what: 'inbound_messages.raw' },
        ['inbound_messages', 'fp-1'],
        sealed,
      ),
    );
    expect(await code(otherTenant)).toBe('PAGW_VAULT_TAMPERED');
    const text = await vault.phi.sealText('clinic-v', ['payer_submissions', 'x'], 'NM1*IL*1*DOE*JANE');
    expect(text).toMatch(/^pgv1:/);
    expect(
      await withTransaction(db.pool, (tx) =>
        vault.phi.openText(
          tx,
          { tenant: 'clinic-v', reader: 'test', what: 'payer_submissions.request' },
          ['payer_submissions', 'x'],
          text,
        ),
      ),
    ).toBe('NM1*IL*1*DOE*JANE');
    const audited = await db.pool.query(
      `SELECT count(*)::int AS n FROM audit_log WHERE action = 'phi.read' AND tenant_id = 'clinic-v'`,
    );
    expect(audited.rows[0].n).toBeGreaterThanOrEqual(2);
  });
});

describe('master-key rotation', () => {
  it('re-wraps every data key under the new key; the old key can then go, and everything still opens', async () => {
    const sealed = await vault.phi.seal('clinic-v', ['rotation'], Buffer.from('before rotation'));
    const next = newMasterKey();
    const both = createVault({ pool: db.pool, keys: masterKeyRingOf([next, masterKey]), clock });
    expect((await both.verify()).stale).toBeGreaterThan(0);
    const result = await both.rotate({ actor: testVaultActor });
    expect(result.secretKeys).toBeGreaterThan(0);
    expect(result.dataKeys).toBeGreaterThan(0);
    // The rows tampered with above cannot be unwrapped: reported, skipped, left as they were.
    expect(result.unreadable).toEqual(expect.arrayContaining(['clinic-v:tamper/b:v1']));
    const onlyNew = createVault({ pool: db.pool, keys: masterKeyRingOf([next]), clock });
    expect((await onlyNew.verify().catch((e) => e)).code).toBe('PAGW_VAULT_WRONG_MASTER_KEY'); // the tampered rows
    await db.pool.query(`DELETE FROM vault_secrets WHERE name LIKE 'tamper/%' OR name LIKE 'move/%'`);
    expect(await onlyNew.verify()).toEqual({ stale: 0 });
    expect(await onlyNew.read('portal/acme/password', use)).toBe('hunter2-second');
    expect(await onlyNew.totp('portal/acme/totp', use)).toMatch(/^\d{6}$/);
    const reopened = await withTransaction(db.pool, (tx) =>
      onlyNew.phi.open(tx, { tenant: 'clinic-v', reader: 'test', what: 'x' }, ['rotation'], sealed),
    );
    expect(reopened.toString()).toBe('before rotation');
    // The old key alone no longer opens anything.
    const onlyOld = createVault({ pool: db.pool, keys: masterKeyRingOf([masterKey]), clock });
    expect(await code(onlyOld.read('portal/acme/password', use))).toBe('PAGW_VAULT_WRONG_MASTER_KEY');
  });
});

describe('master key sources', () => {
  it('creates the default key file once with mode 0600, then reuses it; refuses one others can read', () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'pagw-vault-'));
    try {
      const first = loadMasterKeyRing({ dataDir: dir });
      expect(first.created).toBe(true);
      const file = path.join(dir, 'vault.key');
      expect(statSync(file).mode & 0o777).toBe(0o600);
      const second = loadMasterKeyRing({ dataDir: dir });
      expect(second.created).toBe(false);
      expect(second.current.id).toBe(first.current.id);
      expect(readFileSync(file, 'utf8')).toContain('Back it up');
      chmodSync(file, 0o644);
      expect(() => loadMasterKeyRing({ dataDir: dir })).toThrow(
        expect.objectContaining({ code: 'PAGW_VAULT_KEY_FILE_UNSAFE' }),
      );
      const envKey = newMasterKey().toString('hex');
      expect(loadMasterKeyRing({ masterKey: envKey, dataDir: dir }).source).toBe('PAGW_VAULT_MASTER_KEY');
      const keyFile = path.join(dir, 'other.key');
      writeFileSync(keyFile, `${envKey}\n`, { mode: 0o600 });
      expect(loadMasterKeyRing({ keyFile }).current.id).toBe(
        loadMasterKeyRing({ masterKey: envKey }).current.id,
      );
      expect(() => loadMasterKeyRing({})).toThrow(
        expect.objectContaining({ code: 'PAGW_VAULT_NO_MASTER_KEY' }),
      );
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
