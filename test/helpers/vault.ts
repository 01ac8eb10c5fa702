/**
 * A vault on a test database with a fresh random master key (no key file), and helpers to store test secrets.
 */
import { randomBytes } from 'node:crypto';
import { type Clock, systemClock } from '../../src/clock.ts';
import { readInboundRaw } from '../../src/inbound/accept.ts';
import { type Database, withTransaction } from '../../src/store/index.ts';
import { createVault, masterKeyRingOf, type Vault } from '../../src/vault/index.ts';

export const testVaultActor = { id: 'system:test', onBehalfOf: 'tenant:test' };

export function newMasterKey(): Buffer {
  return randomBytes(32);
}

const vaults = new WeakMap<Database, Vault>();

/**
 * The vault of a test database: one per database (same master key for every caller), so what one part of a test
 * sealed another can open. `keys` or `clock` make a separate vault.
 */
export function testVault(db: Database, options: { clock?: Clock; keys?: Buffer[] } = {}): Vault {
  const shared = !options.keys && !options.clock;
  const existing = shared ? vaults.get(db) : undefined;
  if (existing) return existing;
  const vault = createVault({
    pool: db.pool,
    keys: masterKeyRingOf(options.keys ?? [newMasterKey()]),
    clock: options.clock ?? systemClock,
  });
  if (shared) vaults.set(db, vault);
  return vault;
}

/** Inbound messages of a tenant with their raw bytes opened through the audited path (as the test reader). */
export async function openedInboundMessages(
  db: Database,
  tenant: string,
  where = 'true',
  params: unknown[] = [],
): Promise<Array<{ messageKey: string; outcome: string; format: string; caseIds: string[]; raw: Buffer }>> {
  const { rows } = await db.pool.query<{
    message_key: string;
    outcome: string;
    format: string;
    case_ids: string[];
  }>(
    `SELECT message_key, outcome, format, case_ids FROM inbound_messages WHERE tenant_id = $1 AND (${where}) ORDER BY received_at, message_key`,
    [tenant, ...params],
  );
  const phi = testVault(db).phi;
  const out = [];
  for (const row of rows) {
    const raw = await withTransaction(db.pool, (tx) =>
      readInboundRaw(tx, phi, { tenant, reader: 'system:test' }, row.message_key),
    );
    out.push({
      messageKey: row.message_key,
      outcome: row.outcome,
      format: row.format,
      caseIds: row.case_ids,
      raw: raw!,
    });
  }
  return out;
}

/** Stores `<ref name>/username` and `/password` for a credentials reference. */
export async function storeCredentials(
  vault: Vault,
  tenant: string,
  refName: string,
  credentials: { username: string; password: string },
): Promise<void> {
  await vault.set({
    tenant,
    name: `${refName}/username`,
    value: credentials.username,
    actor: testVaultActor,
  });
  await vault.set({
    tenant,
    name: `${refName}/password`,
    value: credentials.password,
    actor: testVaultActor,
  });
}
