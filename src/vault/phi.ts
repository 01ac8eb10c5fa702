/**
 * PHI at rest: the raw inbound message bytes, the payloads exchanged with payers and the portal robot's evidence are
 * sealed (AES-256-GCM) under the tenant's data key before they are written, with the row they belong to bound as
 * associated data. Tenant data keys are envelope-encrypted like secrets (vault_data_keys, wrapped by the master
 * key). Opening is possible only through `open`, which appends an audit row (who read what, for which case, on
 * whose behalf) in the caller's transaction — the audited read path.
 *
 * Layouts: bytes `PGV1 | key version (uint32 BE) | iv | tag | ciphertext`; text columns hold `pgv1:` + base64 of
 * the same bytes. Rows written before sealing existed (no prefix) are returned as they are.
 */
import type pg from 'pg';
import { type Actor, appendAudit } from '../audit/audit-log.ts';
import type { Clock } from '../clock.ts';
import { type Sql, type Tx, withTransaction } from '../store/sql.ts';
import { associatedData, newDataKey, open, seal } from './envelope.ts';
import { VaultError } from './errors.ts';
import type { MasterKeyRing } from './master-key.ts';

const MAGIC = Buffer.from('PGV1', 'ascii');
const TEXT_PREFIX = 'pgv1:';

/** Why PHI is opened, for the audit row. Codes and ids only. */
export interface PhiUse {
  readonly tenant: string;
  /** Who reads: `token:<id>` for a person through the API, `connector:portal`, `cli:<user>` … */
  readonly reader: string;
  readonly onBehalfOf?: string;
  readonly caseId?: string;
  /** What is opened: `inbound_messages.raw`, `payer_submissions.request`, `portal_evidence.image` … */
  readonly what: string;
  /** The row: message key, submission id, evidence id. */
  readonly ref?: string;
}

export interface PhiCipher {
  /** Seals bytes for `tenant`, bound to `binding` (the row). Call outside any transaction (it may create the key). */
  seal(tenant: string, binding: readonly string[], plaintext: Buffer): Promise<Buffer>;
  sealText(tenant: string, binding: readonly string[], plaintext: string): Promise<string>;
  /** Opens sealed bytes inside `tx`, appending the audit row there. Unsealed (legacy) bytes come back as they are. */
  open(tx: Tx, use: PhiUse, binding: readonly string[], stored: Buffer): Promise<Buffer>;
  openText(tx: Tx, use: PhiUse, binding: readonly string[], stored: string): Promise<string>;
  /** Re-wraps tenant data keys under the current master key; how many, and which could not be unwrapped. */
  rewrap(tenant?: string): Promise<{ count: number; unreadable: string[] }>;
}

export function isSealed(stored: Buffer | string): boolean {
  return typeof stored === 'string'
    ? stored.startsWith(TEXT_PREFIX)
    : stored.length > 8 && stored.subarray(0, 4).equals(MAGIC);
}

const dataKeyAad = (tenant: string, version: number) =>
  associatedData(['pagw-vault-data-key', tenant, String(version)]);
const phiAad = (tenant: string, binding: readonly string[]) =>
  associatedData(['pagw-phi', tenant, ...binding]);

export function createPhiCipher(deps: { pool: pg.Pool; keys: MasterKeyRing; clock: Clock }): PhiCipher {
  const { pool, keys, clock } = deps;
  /** Unwrapped tenant data keys by `tenant\0version`, and each tenant's current version. */
  const cache = new Map<string, Buffer>();
  const currentVersion = new Map<string, number>();

  function unwrap(row: {
    tenant_id: string;
    version: number;
    master_key_id: string;
    wrapped_key: Buffer;
  }): Buffer {
    const what = `The data key v${row.version} of tenant ${row.tenant_id}`;
    const master = keys.byId(row.master_key_id);
    if (!master) {
      throw new VaultError(
        'PAGW_VAULT_WRONG_MASTER_KEY',
        `${what} is wrapped under master key ${row.master_key_id}, which is not configured`,
      );
    }
    return open(master.key, row.wrapped_key, dataKeyAad(row.tenant_id, row.version), what);
  }

  async function dataKey(sql: Sql, tenant: string, version: number): Promise<Buffer> {
    const cached = cache.get(`${tenant}\0${version}`);
    if (cached) return cached;
    const { rows } = await sql.query<{
      tenant_id: string;
      version: number;
      master_key_id: string;
      wrapped_key: Buffer;
    }>(
      'SELECT tenant_id, version, master_key_id, wrapped_key FROM vault_data_keys WHERE tenant_id = $1 AND version = $2',
      [tenant, version],
    );
    if (!rows[0]) {
      throw new VaultError(
        'PAGW_VAULT_TAMPERED',
        `Sealed data names data key v${version} of tenant ${tenant}, which does not exist`,
      );
    }
    const key = unwrap(rows[0]);
    cache.set(`${tenant}\0${version}`, key);
    return key;
  }

  /** The tenant's current data key, created (in its own committed transaction) on first use. */
  async function currentKey(tenant: string): Promise<{ version: number; key: Buffer }> {
    const known = currentVersion.get(tenant);
    if (known !== undefined) return { version: known, key: await dataKey(pool, tenant, known) };
    const latest = await pool.query<{ version: number }>(
      'SELECT max(version) AS version FROM vault_data_keys WHERE tenant_id = $1',
      [tenant],
    );
    let version = latest.rows[0]?.version ?? null;
    if (version === null) {
      const fresh = newDataKey();
      await withTransaction(pool, (tx) =>
        tx.query(
          `INSERT INTO vault_data_keys (tenant_id, version, master_key_id, wrapped_key, created_at)
           VALUES ($1, 1, $2, $3, $4) ON CONFLICT (tenant_id, version) DO NOTHING`,
          [tenant, keys.current.id, seal(keys.current.key, fresh, dataKeyAad(tenant, 1)), clock.now()],
        ),
      );
      version = 1; // ours, or the one another process created first: read back below either way
    }
    currentVersion.set(tenant, version);
    return { version, key: await dataKey(pool, tenant, version) };
  }

  async function sealBytes(tenant: string, binding: readonly string[], plaintext: Buffer): Promise<Buffer> {
    const { version, key } = await currentKey(tenant);
    const header = Buffer.alloc(8);
    MAGIC.copy(header, 0);
    header.writeUInt32BE(version, 4);
    return Buffer.concat([header, seal(key, plaintext, phiAad(tenant, binding))]);
  }

  async function openBytes(tx: Tx, use: PhiUse, binding: readonly string[], stored: Buffer): Promise<Buffer> {
    const actor: Actor = { id: use.reader, onBehalfOf: use.onBehalfOf ?? `tenant:${use.tenant}` };
    await appendAudit(tx, {
      tenant: use.tenant,
      actor,
      action: 'phi.read',
      ...(use.caseId ? { caseId: use.caseId } : {}),
      details: { what: use.what, ...(use.ref ? { ref: use.ref } : {}) },
      at: clock.now(),
    });
    if (!isSealed(stored)) return stored;
    const version = stored.readUInt32BE(4);
    const key = await dataKey(tx, use.tenant, version);
    return open(
      key,
      stored.subarray(8),
      phiAad(use.tenant, binding),
      `${use.what}${use.ref ? ` ${use.ref}` : ''}`,
    );
  }

  return {
    seal: sealBytes,
    async sealText(tenant, binding, plaintext) {
      const sealed = await sealBytes(tenant, binding, Buffer.from(plaintext, 'utf8'));
      return `${TEXT_PREFIX}${sealed.toString('base64')}`;
    },
    open: openBytes,
    async openText(tx, use, binding, stored) {
      if (!stored.startsWith(TEXT_PREFIX)) {
        await openBytes(tx, use, binding, Buffer.alloc(0)); // audit the read all the same
        return stored;
      }
      const bytes = Buffer.from(stored.slice(TEXT_PREFIX.length), 'base64');
      if (!isSealed(bytes)) throw new VaultError('PAGW_VAULT_TAMPERED', `${use.what} is not a sealed value`);
      return (await openBytes(tx, use, binding, bytes)).toString('utf8');
    },
    async rewrap(tenant) {
      let count = 0;
      const unreadable: string[] = [];
      let after: [string, number] = ['', 0];
      for (;;) {
        const batch = await withTransaction(pool, async (tx) => {
          const { rows } = await tx.query<{
            tenant_id: string;
            version: number;
            master_key_id: string;
            wrapped_key: Buffer;
          }>(
            `SELECT tenant_id, version, master_key_id, wrapped_key FROM vault_data_keys
              WHERE master_key_id <> $1 AND (tenant_id, version) > ($2, $3)${tenant ? ' AND tenant_id = $4' : ''}
              ORDER BY tenant_id, version LIMIT 100 FOR UPDATE`,
            [keys.current.id, ...after, ...(tenant ? [tenant] : [])],
          );
          let done = 0;
          for (const row of rows) {
            let key: Buffer;
            try {
              key = unwrap(row);
            } catch (error) {
              if ((error as { code?: string }).code !== 'PAGW_VAULT_TAMPERED') throw error;
              unreadable.push(`${row.tenant_id}:data-key:v${row.version}`);
              continue;
            }
            await tx.query(
              `UPDATE vault_data_keys SET wrapped_key = $3, master_key_id = $4, rewrapped_at = $5
                WHERE tenant_id = $1 AND version = $2`,
              [
                row.tenant_id,
                row.version,
                seal(keys.current.key, key, dataKeyAad(row.tenant_id, row.version)),
                keys.current.id,
                clock.now(),
              ],
            );
            done++;
          }
          const last = rows.at(-1);
          return { done, last: last ? ([last.tenant_id, last.version] as const) : undefined };
        });
        count += batch.done;
        if (!batch.last) return { count, unreadable };
        after = [...batch.last];
      }
    },
  };
}
