/**
 * The vault: secrets per tenant, envelope-encrypted in the database (vault_secrets), and the audited read path
 * connectors use (SecretReader, src/vault/port.ts). Each secret version gets a fresh AES-256-GCM data key; the data
 * key is wrapped by the master key (master-key.ts), whose id is stored beside it. Associated data binds both the
 * ciphertext and the wrapped key to (tenant, name, version), so a row moved to another name or tenant fails closed.
 *
 * People only write: set, list metadata, delete, rotate. Values leave this module through `read` and `totp` only,
 * each of which appends an audit row (who, which secret, for which case, on whose behalf) in the transaction that
 * read the row. Nothing here logs a value.
 */
import { type Actor, appendAudit } from '../audit/audit-log.ts';
import { type Clock, systemClock } from '../clock.ts';
import type { Logger } from '../log/logger.ts';
import { type Sql, type Tx, withTransaction } from '../store/sql.ts';
import { associatedData, newDataKey, open, seal } from './envelope.ts';
import { VaultError } from './errors.ts';
import type { MasterKey, MasterKeyRing } from './master-key.ts';
import { checkSecretName, checkSecretValue } from './names.ts';
import { createPhiCipher, type PhiCipher } from './phi.ts';
import type { SecretReader, SecretUse } from './port.ts';
import { parseTotpSeed, type TotpSeed, totpCode } from './totp.ts';

export type SecretKind = 'value' | 'totp';

/** What people may see of a secret: never its value. */
export interface SecretMetadata {
  readonly name: string;
  readonly kind: SecretKind;
  /** The current version (a set adds one). */
  readonly version: number;
  readonly versions: number;
  readonly createdAt: Date;
  readonly createdBy: string;
  readonly masterKeyId: string;
}

export interface RotationResult {
  /** Secret versions and tenant data keys re-wrapped under the current master key. */
  readonly secretKeys: number;
  readonly dataKeys: number;
  /** Keys that could not be unwrapped (tampered): `tenant:name:vN` or `tenant:data-key:vN`; left as they were. */
  readonly unreadable: readonly string[];
  readonly masterKeyId: string;
}

export interface Vault extends SecretReader {
  readonly keys: MasterKeyRing;
  /** Seals PHI at rest under the tenant's data keys; opens it only through an audited read. */
  readonly phi: PhiCipher;
  /** Stores a new version of a secret; returns its metadata. Audited (vault.secret_set) with `actor`. */
  set(input: {
    tenant: string;
    name: string;
    value: string;
    kind?: SecretKind;
    actor: Actor;
  }): Promise<SecretMetadata>;
  list(tenant: string): Promise<SecretMetadata[]>;
  /** Deletes every version; false when there was none. Audited (vault.secret_deleted). */
  delete(input: { tenant: string; name: string; actor: Actor }): Promise<boolean>;
  /** Whether the tenant holds the secret (no value is read, nothing is audited). */
  has(tenant: string, name: string): Promise<boolean>;
  /** Which of `names` the tenant does not hold (channel choice: is a channel configured for the case's tenant). */
  missing(tenant: string, names: readonly string[]): Promise<string[]>;
  /** Tenants holding a secret of that name (start-up check of `vault:` references). */
  holders(name: string): Promise<string[]>;
  /**
   * Re-wraps every data key not wrapped under the current master key (after the key changed, with the old key
   * still configured as a previous key). Only data keys are unwrapped: no payload is decrypted.
   */
  rotate(input: { actor: Actor; tenant?: string }): Promise<RotationResult>;
  /**
   * Checks that every wrapped key in the database names a configured master key; a PAGW_VAULT_WRONG_MASTER_KEY
   * error otherwise. Returns how many keys still wait for `rotate` (wrapped under a previous master key).
   */
  verify(): Promise<{ stale: number }>;
}

export interface VaultDeps {
  readonly pool: import('pg').Pool;
  readonly keys: MasterKeyRing;
  /** Times of audit rows and key records. */
  readonly clock: Clock;
  /**
   * The time TOTP codes are generated for: the portal checks them against its own (real) clock, so this is the
   * system clock unless a test says otherwise — never a shifted workflow clock.
   */
  readonly totpClock?: Clock;
  readonly logger?: Logger;
}

interface SecretRow {
  tenant_id: string;
  name: string;
  version: number;
  kind: SecretKind;
  master_key_id: string;
  wrapped_key: Buffer;
  ciphertext: Buffer;
}

const secretKeyAad = (tenant: string, name: string, version: number) =>
  associatedData(['pagw-vault-secret-key', tenant, name, String(version)]);
const secretAad = (tenant: string, name: string, version: number, kind: SecretKind) =>
  associatedData(['pagw-vault-secret', tenant, name, String(version), kind]);

/** The master key that wrapped a data key, or PAGW_VAULT_WRONG_MASTER_KEY. */
export function masterKeyFor(keys: MasterKeyRing, id: string, what: string): MasterKey {
  const key = keys.byId(id);
  if (!key) {
    throw new VaultError(
      'PAGW_VAULT_WRONG_MASTER_KEY',
      `${what} is wrapped under master key ${id}, which is not configured (configured: ${keys.ids.join(', ')})`,
    );
  }
  return key;
}

function actorOfUse(use: SecretUse): Actor {
  return { id: use.reader, onBehalfOf: use.onBehalfOf ?? `tenant:${use.tenant}` };
}

function missing(tenant: string, name: string): never {
  throw new VaultError(
    'PAGW_VAULT_SECRET_MISSING',
    `Secret vault:${name} is not stored for tenant ${tenant} (pagw vault set --tenant ${tenant} ${name})`,
  );
}

export function createVault(deps: VaultDeps): Vault {
  const { pool, keys, clock } = deps;
  const phi = createPhiCipher({ pool, keys, clock });

  async function latestRow(sql: Sql, tenant: string, name: string): Promise<SecretRow | undefined> {
    const { rows } = await sql.query<SecretRow>(
      `SELECT tenant_id, name, version, kind, master_key_id, wrapped_key, ciphertext FROM vault_secrets
        WHERE tenant_id = $1 AND name = $2 ORDER BY version DESC LIMIT 1`,
      [tenant, name],
    );
    return rows[0];
  }

  function openRow(row: SecretRow): string {
    const what = `secret vault:${row.name} v${row.version} of tenant ${row.tenant_id}`;
    const master = masterKeyFor(keys, row.master_key_id, `The data key of ${what}`);
    const dataKey = open(
      master.key,
      row.wrapped_key,
      secretKeyAad(row.tenant_id, row.name, row.version),
      `The data key of ${what}`,
    );
    return open(
      dataKey,
      row.ciphertext,
      secretAad(row.tenant_id, row.name, row.version, row.kind),
      `The value of ${what}`,
    ).toString('utf8');
  }

  /** Reads, checks the kind, audits — in one transaction: a read that cannot be audited does not happen. */
  async function auditedOpen(name: string, use: SecretUse, kind: SecretKind): Promise<string> {
    checkSecretName(name);
    return withTransaction(pool, async (tx) => {
      const row = await latestRow(tx, use.tenant, name);
      if (!row) return missing(use.tenant, name);
      if (row.kind !== kind) {
        throw new VaultError(
          'PAGW_VAULT_WRONG_KIND',
          kind === 'value'
            ? `vault:${name} is a TOTP seed: it yields codes (totp), never its value`
            : `vault:${name} is not a TOTP seed`,
        );
      }
      const value = openRow(row);
      await appendAudit(tx, {
        tenant: use.tenant,
        actor: actorOfUse(use),
        action: kind === 'value' ? 'vault.secret_read' : 'vault.totp_generated',
        ...(use.caseId ? { caseId: use.caseId } : {}),
        details: { name, version: row.version },
        at: clock.now(),
      });
      return value;
    });
  }

  async function insertVersion(
    tx: Tx,
    input: { tenant: string; name: string; value: string; kind: SecretKind; actor: Actor },
  ): Promise<SecretMetadata> {
    const { rows } = await tx.query<{ next: number }>(
      'SELECT coalesce(max(version), 0) + 1 AS next FROM vault_secrets WHERE tenant_id = $1 AND name = $2',
      [input.tenant, input.name],
    );
    const version = Number(rows[0]!.next);
    const dataKey = newDataKey();
    const at = clock.now();
    const wrapped = seal(keys.current.key, dataKey, secretKeyAad(input.tenant, input.name, version));
    const ciphertext = seal(
      dataKey,
      Buffer.from(input.value, 'utf8'),
      secretAad(input.tenant, input.name, version, input.kind),
    );
    dataKey.fill(0);
    await tx.query(
      `INSERT INTO vault_secrets (tenant_id, name, version, kind, master_key_id, wrapped_key, ciphertext, created_at, created_by)
       VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)`,
      [
        input.tenant,
        input.name,
        version,
        input.kind,
        keys.current.id,
        wrapped,
        ciphertext,
        at,
        input.actor.id,
      ],
    );
    await appendAudit(tx, {
      tenant: input.tenant,
      actor: input.actor,
      action: 'vault.secret_set',
      details: { name: input.name, version, kind: input.kind },
      at,
    });
    return {
      name: input.name,
      kind: input.kind,
      version,
      versions: version,
      createdAt: at,
      createdBy: input.actor.id,
      masterKeyId: keys.current.id,
    };
  }

  return {
    keys,
    phi,

    async read(name, use) {
      return auditedOpen(name, use, 'value');
    },

    async totp(name, use) {
      const seed = JSON.parse(await auditedOpen(name, use, 'totp')) as TotpSeed;
      return totpCode(seed, (deps.totpClock ?? systemClock).now());
    },

    async set(input) {
      const name = checkSecretName(input.name);
      const kind = input.kind ?? 'value';
      checkSecretValue(input.value);
      // A TOTP seed is stored normalized (base32 + parameters), whatever form it came in.
      const value = kind === 'totp' ? JSON.stringify(parseTotpSeed(input.value)) : input.value;
      for (let attempt = 1; ; attempt++) {
        try {
          return await withTransaction(pool, (tx) =>
            insertVersion(tx, { tenant: input.tenant, name, value, kind, actor: input.actor }),
          );
        } catch (error) {
          // Two writers raced for the same version number: take the next one.
          if ((error as { code?: string }).code !== '23505' || attempt >= 5) throw error;
        }
      }
    },

    async list(tenant) {
      const { rows } = await pool.query<{
        name: string;
        kind: SecretKind;
        version: number;
        versions: number;
        created_at: Date;
        created_by: string;
        master_key_id: string;
      }>(
        `SELECT DISTINCT ON (name) name, kind, version, count(*) OVER (PARTITION BY name)::int AS versions,
                created_at, created_by, master_key_id
           FROM vault_secrets WHERE tenant_id = $1 ORDER BY name, version DESC`,
        [tenant],
      );
      return rows.map((r) => ({
        name: r.name,
        kind: r.kind,
        version: r.version,
        versions: r.versions,
        createdAt: r.created_at,
        createdBy: r.created_by,
        masterKeyId: r.master_key_id,
      }));
    },

    async delete(input) {
      const name = checkSecretName(input.name);
      return withTransaction(pool, async (tx) => {
        const deleted = await tx.query('DELETE FROM vault_secrets WHERE tenant_id = $1 AND name = $2', [
          input.tenant,
          name,
        ]);
        if ((deleted.rowCount ?? 0) === 0) return false;
        await appendAudit(tx, {
          tenant: input.tenant,
          actor: input.actor,
          action: 'vault.secret_deleted',
          details: { name, versions: deleted.rowCount },
          at: clock.now(),
        });
        return true;
      });
    },

    async has(tenant, name) {
      const { rows } = await pool.query(
        'SELECT 1 FROM vault_secrets WHERE tenant_id = $1 AND name = $2 LIMIT 1',
        [tenant, name],
      );
      return rows.length > 0;
    },

    async missing(tenant, names) {
      if (names.length === 0) return [];
      const { rows } = await pool.query<{ name: string }>(
        'SELECT DISTINCT name FROM vault_secrets WHERE tenant_id = $1 AND name = ANY($2::text[])',
        [tenant, [...names]],
      );
      const held = new Set(rows.map((r) => r.name));
      return names.filter((n) => !held.has(n));
    },

    async holders(name) {
      const { rows } = await pool.query<{ tenant_id: string }>(
        'SELECT DISTINCT tenant_id FROM vault_secrets WHERE name = $1 ORDER BY tenant_id',
        [name],
      );
      return rows.map((r) => r.tenant_id);
    },

    async rotate(input) {
      const current = keys.current;
      let secretKeys = 0;
      const unreadable: string[] = [];
      let after: [string, string, number] = ['', '', 0];
      const tenantFilter = input.tenant ? ' AND tenant_id = $5' : '';
      // Keyset batches, each in its own transaction: a long rotation never holds one big transaction, and a row
      // that cannot be unwrapped (tampered) is reported and skipped instead of stopping the others.
      for (;;) {
        const batch = await withTransaction(pool, async (tx) => {
          const { rows } = await tx.query<SecretRow>(
            `SELECT tenant_id, name, version, kind, master_key_id, wrapped_key, ciphertext FROM vault_secrets
              WHERE master_key_id <> $1 AND (tenant_id, name, version) > ($2, $3, $4)${tenantFilter}
              ORDER BY tenant_id, name, version LIMIT 100 FOR UPDATE`,
            [current.id, ...after, ...(input.tenant ? [input.tenant] : [])],
          );
          let done = 0;
          for (const row of rows) {
            const aad = secretKeyAad(row.tenant_id, row.name, row.version);
            const what = `The data key of secret vault:${row.name} v${row.version} of tenant ${row.tenant_id}`;
            let dataKey: Buffer;
            try {
              dataKey = open(masterKeyFor(keys, row.master_key_id, what).key, row.wrapped_key, aad, what);
            } catch (error) {
              if ((error as { code?: string }).code !== 'PAGW_VAULT_TAMPERED') throw error;
              unreadable.push(`${row.tenant_id}:${row.name}:v${row.version}`);
              continue;
            }
            await tx.query(
              `UPDATE vault_secrets SET wrapped_key = $4, master_key_id = $5, rewrapped_at = $6
                WHERE tenant_id = $1 AND name = $2 AND version = $3`,
              [
                row.tenant_id,
                row.name,
                row.version,
                seal(current.key, dataKey, aad),
                current.id,
                clock.now(),
              ],
            );
            dataKey.fill(0);
            done++;
          }
          const last = rows.at(-1);
          return {
            seen: rows.length,
            done,
            last: last ? ([last.tenant_id, last.name, last.version] as const) : undefined,
          };
        });
        secretKeys += batch.done;
        if (!batch.last) break;
        after = [...batch.last];
      }
      const data = await phi.rewrap(input.tenant);
      unreadable.push(...data.unreadable);
      await withTransaction(pool, (tx) =>
        appendAudit(tx, {
          tenant: input.tenant ?? 'system',
          actor: input.actor,
          action: 'vault.master_key_rotated',
          details: { masterKeyId: current.id, secretKeys, dataKeys: data.count, unreadable },
          at: clock.now(),
        }),
      );
      deps.logger?.info(
        { masterKeyId: current.id, secretKeys, dataKeys: data.count, unreadable: unreadable.length },
        'vault data keys re-wrapped',
      );
      return { secretKeys, dataKeys: data.count, unreadable, masterKeyId: current.id };
    },

    async verify() {
      const { rows } = await pool.query<{ master_key_id: string; n: number }>(
        `SELECT master_key_id, count(*)::int AS n FROM (
           SELECT master_key_id FROM vault_secrets UNION ALL SELECT master_key_id FROM vault_data_keys) k
          GROUP BY master_key_id`,
      );
      const unknown = rows.filter((r) => !keys.byId(r.master_key_id));
      if (unknown.length > 0) {
        throw new VaultError(
          'PAGW_VAULT_WRONG_MASTER_KEY',
          `The vault's data keys are wrapped under master key ${unknown.map((r) => r.master_key_id).join(', ')}, which is not configured (configured: ${keys.ids.join(', ')}); set the master key the vault was written with`,
        );
      }
      return {
        stale: rows.filter((r) => r.master_key_id !== keys.current.id).reduce((sum, r) => sum + r.n, 0),
      };
    },
  };
}
