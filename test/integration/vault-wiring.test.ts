/**
 * `vault:` references wired to their users: the X12 clearinghouse logs in with the case tenant's secrets (read and
 * audited per exchange), a missing secret is an error naming the payer and the reference before anything is sent,
 * and at start the payer directory's references are checked (a warning, or with PAGW_VAULT_REQUIRE_SECRETS an
 * error naming payer and reference); a missing SMTP login stops the start naming its setting.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadPayerDirectory } from '../../connectors/payer-directory.ts';
import { loadConfig } from '../../src/config/load-config.ts';
import { startGateway } from '../../src/gateway.ts';
import { createLogger } from '../../src/log/logger.ts';
import type { Vault } from '../../src/vault/index.ts';
import { checkVaultReferences } from '../../src/wiring/vault-references.ts';
import type { X12Channel } from '../../src/workflow/rules/types.generated.ts';
import { databaseUrlOf } from '../helpers/cli.ts';
import { openTestDatabase, testDatabaseKind } from '../helpers/database.ts';
import { storeCredentials, testVault } from '../helpers/vault.ts';
import { type Harness, openHarness } from './clearinghouse-harness.ts';

const login = { username: 'pagw-clinic-a', password: 'ch-Pass-31337' };
let h: Harness;
let vault: Vault;

beforeAll(async () => {
  h = await openHarness({ slowMs: 100, login });
  vault = testVault(h.db);
  await storeCredentials(vault, 'clinic-a', 'clearinghouse/sim', login);
  await storeCredentials(vault, 'clinic-wrong', 'clearinghouse/sim', { ...login, password: 'not-it' });
});
afterAll(async () => {
  await h?.close();
});

const withRef = (): Partial<X12Channel> => {
  const channel = h.payer.channels.find((c) => c.type === 'x12') as X12Channel;
  return { clearinghouse: { ...channel.clearinghouse, credentialsRef: 'vault:clearinghouse/sim' } };
};

describe(`clearinghouse login from the vault (${testDatabaseKind()})`, () => {
  it('sends the tenant’s CORE UserName/Password, read (audited) for the case', async () => {
    const ctx = h.context(h.payer, withRef());
    const outcome = await h.connector({ secrets: vault }).submit(h.request('W200'), ctx);
    expect(outcome.kind).toBe('decided');
    const { rows } = await h.db.pool.query<{ actor: string; case_id: string; details: { name: string } }>(
      `SELECT actor, case_id, details FROM audit_log WHERE action = 'vault.secret_read' AND case_id = $1 ORDER BY seq`,
      [ctx.caseId],
    );
    expect(rows.map((r) => [r.actor, r.details.name])).toEqual([
      ['connector:x12', 'clearinghouse/sim/username'],
      ['connector:x12', 'clearinghouse/sim/password'],
    ]);
  });

  it('a tenant without the secret gets an error naming payer and reference; nothing is recorded or sent', async () => {
    const before = (await h.sim.received()).length;
    const ctx = { ...h.context(h.payer, withRef()), tenant: 'clinic-nokey' };
    const error = await h
      .connector({ secrets: vault })
      .submit(h.request('W201'), ctx)
      .catch((e) => e);
    expect(error.code).toBe('PAGW_VAULT_SECRET_MISSING');
    expect(error.retriable).toBe(false);
    expect(error.message).toContain('payer example-health-plan');
    expect(error.message).toContain('vault:clearinghouse/sim');
    expect(await h.store.forCase(ctx.caseId)).toEqual([]);
    expect((await h.sim.received()).length).toBe(before);
  });

  it('a connector without a vault never calls anonymously when the payer names credentials', async () => {
    const error = await h
      .connector()
      .submit(h.request('W202'), h.context(h.payer, withRef()))
      .catch((e) => e);
    expect(error.code).toBe('PAGW_VAULT_SECRET_MISSING');
  });

  it('a wrong stored password is the clearinghouse’s refusal (CORE UnAuthorized), not retried', async () => {
    const ctx = { ...h.context(h.payer, withRef()), tenant: 'clinic-wrong' };
    const error = await h
      .connector({ secrets: vault })
      .submit(h.request('W203'), ctx)
      .catch((e) => e);
    expect(error.code).toBe('PAGW_X12_CORE_ERROR');
    expect(error.message).toContain('UnAuthorized');
  });
});

describe('start-up check of vault references', () => {
  it('names payer, channel and reference of every secret no tenant holds; strict mode refuses to start', async () => {
    const payers = loadPayerDirectory(undefined);
    const missing = await checkVaultReferences({ payers, vault, channels: ['x12', 'portal'], strict: false });
    expect(missing).toContainEqual({
      payerId: 'lansing-health-care',
      channel: 'portal',
      ref: 'vault:portal/lansing-health-care',
      name: 'portal/lansing-health-care/password',
    });
    const strict = await checkVaultReferences({ payers, vault, channels: ['portal'], strict: true }).catch(
      (e) => e,
    );
    expect(strict.code).toBe('PAGW_VAULT_SECRET_MISSING');
    expect(strict.message).toContain(
      'payer lansing-health-care (portal) refers to vault:portal/lansing-health-care',
    );
    // Channels without a connector do not count.
    expect(await checkVaultReferences({ payers, vault, channels: ['x12'], strict: true })).toEqual([]);
  });

  it('a gateway whose SMTP login is not in the vault does not start, and says which setting and reference', async () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'pagw-smtp-'));
    const schemaDb = process.env.DATABASE_URL ? await openTestDatabase({ migrate: false }) : undefined;
    try {
      const config = loadConfig({
        env: {
          DATA_DIR: dir,
          PORT: '0',
          ...(schemaDb ? { DATABASE_URL: databaseUrlOf(schemaDb) } : {}),
          SMTP_HOST: '127.0.0.1',
          SMTP_CREDENTIALS_REF: 'vault:smtp/nowhere',
        },
      });
      const error = await startGateway(config, createLogger({ level: 'silent' })).catch((e) => e);
      expect(error.code).toBe('PAGW_VAULT_SECRET_MISSING');
      expect(error.message).toContain('smtp.credentialsRef refers to vault:smtp/nowhere');
    } finally {
      await schemaDb?.close();
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
