/**
 * `pagw vault set|list|delete|rotate`: the vault's write-only face on the command line. `set` reads the value from
 * standard input — never from an argument, which would land in shell history and `ps` — and no command ever
 * prints a value: list shows names and metadata. Each change is audited as `cli:<os user>` on behalf of the tenant.
 * Works beside a running gateway on the embedded database (through its socket) and on PostgreSQL.
 */
import { userInfo } from 'node:os';
import { createInterface } from 'node:readline';
import { Writable } from 'node:stream';
import type { Command } from 'commander';
import { systemClock } from '../../clock.ts';
import { loadConfig } from '../../config/load-config.ts';
import { openStore } from '../../store/index.ts';
import { openVault, type Vault } from '../../vault/index.ts';
import { checkSecretName, checkSecretValue } from '../../vault/names.ts';
import { parseTotpSeed } from '../../vault/totp.ts';

const tenantPattern = /^[A-Za-z0-9._-]{1,64}$/;

async function withVault<T>(program: Command, work: (vault: Vault) => Promise<T>): Promise<T> {
  const config = loadConfig({ file: (program.opts() as { config?: string }).config });
  const db = await openStore({
    databaseUrl: config.databaseUrl,
    dataDir: config.dataDir,
    preparedStatements: config.databasePreparedStatements,
  });
  try {
    const vault = await openVault({ config, db, clock: systemClock });
    if (vault.keys.created)
      process.stderr.write(`vault: created master key file ${vault.keys.source} (mode 0600): back it up\n`);
    return await work(vault);
  } finally {
    await db.close();
  }
}

function checkTenant(tenant: string): boolean {
  if (tenantPattern.test(tenant)) return true;
  process.stderr.write('--tenant must be 1-64 letters, digits, dots, dashes or underscores\n');
  process.exitCode = 2;
  return false;
}

/** All of standard input; on a terminal, one line typed without echo. One trailing newline is dropped. */
async function readValue(name: string): Promise<string> {
  if (process.stdin.isTTY) {
    process.stderr.write(`value of ${name} (not shown): `);
    const muted = new Writable({ write: (_chunk, _enc, done) => done() });
    const rl = createInterface({ input: process.stdin, output: muted, terminal: true });
    const line = await new Promise<string>((resolve) => rl.once('line', resolve));
    rl.close();
    process.stderr.write('\n');
    return line;
  }
  const chunks: Buffer[] = [];
  for await (const chunk of process.stdin) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks)
    .toString('utf8')
    .replace(/\r?\n$/, '');
}

const cliActor = (tenant?: string) => ({
  id: `cli:${userInfo().username}`,
  ...(tenant ? { onBehalfOf: `tenant:${tenant}` } : {}),
});

export function registerVaultCommands(program: Command): void {
  const vault = program
    .command('vault')
    .description(
      'Secrets of a tenant (portal logins, TOTP seeds, clearinghouse and PAS credentials): write-only',
    );

  vault
    .command('set')
    .description(
      'Store a new version of a secret; the value is read from standard input, never from arguments',
    )
    .requiredOption('-t, --tenant <tenant>', 'tenant (clinic) the secret belongs to')
    .option('--totp', 'the value is a TOTP seed (base32 or otpauth:// URI): the vault only ever yields codes')
    .argument('<name>', 'secret name, e.g. portal/sim-health/password')
    .action(async (name: string, options: { tenant: string; totp?: boolean }) => {
      if (!checkTenant(options.tenant)) return;
      checkSecretName(name);
      const value = await readValue(name);
      // Checked before the database is opened: a typo fails at once.
      checkSecretValue(value);
      if (options.totp) parseTotpSeed(value);
      await withVault(program, async (v) => {
        const meta = await v.set({
          tenant: options.tenant,
          name,
          value,
          kind: options.totp ? 'totp' : 'value',
          actor: cliActor(options.tenant),
        });
        process.stdout.write(
          `stored ${meta.name} v${meta.version} (${meta.kind}) for tenant ${options.tenant}\n`,
        );
      });
    });

  vault
    .command('list')
    .description("List a tenant's secrets: names and metadata, never values")
    .requiredOption('-t, --tenant <tenant>', 'tenant (clinic)')
    .option('--json', 'print JSON')
    .action(async (options: { tenant: string; json?: boolean }) => {
      if (!checkTenant(options.tenant)) return;
      await withVault(program, async (v) => {
        const items = await v.list(options.tenant);
        if (options.json) {
          process.stdout.write(`${JSON.stringify(items, null, 2)}\n`);
          return;
        }
        if (items.length === 0) process.stdout.write(`no secrets for tenant ${options.tenant}\n`);
        for (const item of items) {
          process.stdout.write(
            `${item.name}\t${item.kind}\tv${item.version} (${item.versions} version${item.versions === 1 ? '' : 's'})\t${item.createdAt.toISOString()}\t${item.createdBy}\t${item.masterKeyId}\n`,
          );
        }
      });
    });

  vault
    .command('delete')
    .description('Delete a secret (every version)')
    .requiredOption('-t, --tenant <tenant>', 'tenant (clinic)')
    .argument('<name>', 'secret name')
    .action(async (name: string, options: { tenant: string }) => {
      if (!checkTenant(options.tenant)) return;
      await withVault(program, async (v) => {
        const deleted = await v.delete({ tenant: options.tenant, name, actor: cliActor(options.tenant) });
        if (deleted) {
          process.stdout.write(`deleted ${name} for tenant ${options.tenant}\n`);
          return;
        }
        process.stderr.write(`no secret ${name} for tenant ${options.tenant}\n`);
        process.exitCode = 1;
      });
    });

  vault
    .command('rotate')
    .description(
      'Re-wrap every data key under the current master key (set the new key, keep the old one in PAGW_VAULT_PREVIOUS_MASTER_KEYS or the key file, run this, then drop the old key)',
    )
    .option('-t, --tenant <tenant>', 'only this tenant')
    .action(async (options: { tenant?: string }) => {
      if (options.tenant !== undefined && !checkTenant(options.tenant)) return;
      await withVault(program, async (v) => {
        const result = await v.rotate({
          actor: cliActor(options.tenant),
          ...(options.tenant ? { tenant: options.tenant } : {}),
        });
        process.stdout.write(
          `re-wrapped ${result.secretKeys} secret key(s) and ${result.dataKeys} tenant data key(s) under master key ${result.masterKeyId}\n`,
        );
      });
    });
}
