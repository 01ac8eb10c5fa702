/**
 * `pagw vault set|list|delete|rotate` as a person runs them (the real CLI, a child process), on this run's
 * database: the value goes in on standard input only, and no command prints it back — on stdout or stderr.
 * Rotation to a new master key, with the old one kept as a previous key, leaves every secret readable.
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { systemClock } from '../../src/clock.ts';
import type { Database } from '../../src/store/index.ts';
import { createVault, masterKeyRingOf } from '../../src/vault/index.ts';
import { type CliResult, cleanEnv, databaseUrlOf, runCli } from '../helpers/cli.ts';
import { openTestDatabase, testDatabaseKind } from '../helpers/database.ts';
import { newMasterKey } from '../helpers/vault.ts';

const value = 'cli-Secret-Value-9f1e';
const seed = 'otpauth://totp/Sim:clinic?secret=MFRGGZDFMZTWQ2LKNNWG23TPOBYXE43U&issuer=Sim';

describe(`pagw vault on ${testDatabaseKind()}`, () => {
  let dataDir: string;
  let db: Database | undefined;
  let env: NodeJS.ProcessEnv;
  const outputs: CliResult[] = [];
  let rotatedKey = '';
  const cli = async (args: string[], input?: string, extraEnv: Record<string, string> = {}) => {
    const result = await runCli(args, {
      env: { ...env, ...extraEnv },
      ...(input === undefined ? {} : { input }),
    });
    outputs.push(result);
    return result;
  };

  beforeAll(async () => {
    dataDir = mkdtempSync(path.join(tmpdir(), 'pagw-vault-cli-'));
    if (process.env.DATABASE_URL) db = await openTestDatabase();
    env = cleanEnv({ DATA_DIR: dataDir, ...(db ? { DATABASE_URL: databaseUrlOf(db) } : {}) });
  });
  afterAll(async () => {
    await db?.close();
    rmSync(dataDir, { recursive: true, force: true });
  });

  it('set reads the value from stdin; the first use creates the key file and says so', async () => {
    const set = await cli(
      ['vault', 'set', '--tenant', 'clinic-a', 'portal/sim-health/password'],
      `${value}\n`,
    );
    expect(set.code).toBe(0);
    expect(set.stdout).toBe('stored portal/sim-health/password v1 (value) for tenant clinic-a\n');
    expect(set.stderr).toMatch(/created master key file .*vault\.key \(mode 0600\)/);
    const again = await cli(['vault', 'set', '--tenant', 'clinic-a', 'portal/sim-health/password'], value);
    expect(again.stdout).toContain('v2');
    const totp = await cli(
      ['vault', 'set', '--tenant', 'clinic-a', '--totp', 'portal/sim-health/totp'],
      seed,
    );
    expect(totp.code).toBe(0);
    expect(totp.stdout).toContain('(totp)');
  });

  it('refuses an empty value, a bad name and a bad tenant without echoing input', async () => {
    expect((await cli(['vault', 'set', '--tenant', 'clinic-a', 'x/y'], '')).code).toBe(1);
    const badName = await cli(['vault', 'set', '--tenant', 'clinic-a', 'Bad Name'], value);
    expect(badName.code).toBe(1);
    expect(badName.stderr).toContain('secret name');
    expect((await cli(['vault', 'set', '--tenant', 'no spaces', 'x/y'], value)).code).toBe(2);
    const badSeed = await cli(['vault', 'set', '--tenant', 'clinic-a', '--totp', 'x/totp'], 'not a seed!');
    expect(badSeed.code).toBe(1);
    expect(badSeed.stderr).not.toContain('not a seed');
  });

  it('list shows names and metadata, never values', async () => {
    const list = await cli(['vault', 'list', '--tenant', 'clinic-a']);
    expect(list.code).toBe(0);
    expect(list.stdout).toMatch(/^portal\/sim-health\/password\tvalue\tv2 \(2 versions\)\t/m);
    expect(list.stdout).toMatch(/^portal\/sim-health\/totp\ttotp\tv1 \(1 version\)\t/m);
    const json = JSON.parse((await cli(['vault', 'list', '--tenant', 'clinic-a', '--json'])).stdout);
    expect(json.map((i: { name: string }) => i.name)).toEqual([
      'portal/sim-health/password',
      'portal/sim-health/totp',
    ]);
    expect((await cli(['vault', 'list', '--tenant', 'clinic-z'])).stdout).toBe(
      'no secrets for tenant clinic-z\n',
    );
  });

  it('rotate re-wraps under a new master key; the secrets stay readable with the new key alone', async () => {
    const oldKey = readFileSync(path.join(dataDir, 'vault.key'), 'utf8')
      .split('\n')
      .find((l) => /^[0-9a-f]{64}$/.test(l))!;
    const newKey = newMasterKey().toString('hex');
    rotatedKey = newKey;
    const rotate = await cli(['vault', 'rotate'], undefined, {
      PAGW_VAULT_MASTER_KEY: newKey,
      PAGW_VAULT_PREVIOUS_MASTER_KEYS: oldKey,
    });
    expect(rotate.code).toBe(0);
    expect(rotate.stdout).toMatch(
      /^re-wrapped 3 secret key\(s\) and 0 tenant data key\(s\) under master key mk-/,
    );
    // Without the new key (the old key file alone) the vault refuses to open: fail closed.
    const stale = await cli(['vault', 'list', '--tenant', 'clinic-a']);
    expect(stale.code).toBe(1);
    expect(stale.stderr).toContain('not configured');
    const list = await cli(['vault', 'list', '--tenant', 'clinic-a'], undefined, {
      PAGW_VAULT_MASTER_KEY: newKey,
    });
    expect(list.code).toBe(0);
    // The connector's read path, with the new key only.
    const check = db ?? (await openDirect(dataDir));
    try {
      const vault = createVault({
        pool: check.pool,
        keys: masterKeyRingOf([Buffer.from(newKey, 'hex')]),
        clock: systemClock,
      });
      expect(await vault.read('portal/sim-health/password', { tenant: 'clinic-a', reader: 'test' })).toBe(
        value,
      );
      expect(await vault.totp('portal/sim-health/totp', { tenant: 'clinic-a', reader: 'test' })).toMatch(
        /^\d{6}$/,
      );
    } finally {
      if (!db) await check.close();
    }
  });

  it('delete removes every version, then says there is none', async () => {
    const keyEnv = { PAGW_VAULT_MASTER_KEY: rotatedKey };
    const gone = await cli(
      ['vault', 'delete', '--tenant', 'clinic-a', 'portal/sim-health/totp'],
      undefined,
      keyEnv,
    );
    expect(gone).toMatchObject({ code: 0, stdout: 'deleted portal/sim-health/totp for tenant clinic-a\n' });
    const again = await cli(
      ['vault', 'delete', '--tenant', 'clinic-a', 'portal/sim-health/totp'],
      undefined,
      keyEnv,
    );
    expect(again.code).toBe(1);
    const list = await cli(['vault', 'list', '--tenant', 'clinic-a', '--json'], undefined, keyEnv);
    expect(JSON.parse(list.stdout).map((i: { name: string }) => i.name)).toEqual([
      'portal/sim-health/password',
    ]);
  });

  it('no command printed a value or a seed, on stdout or stderr', () => {
    expect(outputs.length).toBeGreaterThan(10);
    for (const output of outputs) {
      for (const stream of [output.stdout, output.stderr]) {
        expect(stream).not.toContain(value);
        expect(stream).not.toContain('MFRGGZDFMZTWQ2LKNNWG23TPOBYXE43U');
      }
    }
  });
});

async function openDirect(dataDir: string): Promise<Database> {
  const { openDatabase } = await import('../../src/store/index.ts');
  return openDatabase({ dataDir });
}
