/**
 * `pagw`, the gateway's command line. Each command loads config once, does one job, and exits with 0 on
 * success, 1 when the input or the data is bad, 2 on a usage or configuration error.
 *
 * Start-up cost: this file imports only commander and type declarations. Each command loads what it needs
 * when it runs (`await import(…)`), so `pagw --help`, `--version` and the offline commands never load the
 * gateway, the database drivers, Kafka or express (bench/cli-start.ts measures it).
 */
import { readFileSync } from 'node:fs';
import { userInfo } from 'node:os';
import { Command, CommanderError, Option } from 'commander';
import type { GatewayConfig } from '../config/load-config.ts';
import { isGatewayError } from '../errors/index.ts';
import type { openStore } from '../store/index.ts';
// tokens.ts, not the store's index: the role list without the database drivers.
import { type ApiRole, apiRoles, isValidNpi, userIdPattern } from '../store/tokens.ts';
import { registerAuditShow } from './commands/audit-show.ts';
import { registerMapCommand } from './commands/map.ts';
import { registerVaultCommands } from './commands/vault.ts';
import { registerX12Commands } from './commands/x12.ts';

/** Who runs the CLI, for the audit (os is a built-in: importing it costs nothing). */
function osUserName(): string {
  return userInfo().username;
}

/** The version in package.json, read only when the program is built (a few bytes, no module graph). */
function packageVersion(): string {
  const pkg = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as {
    version: string;
  };
  return pkg.version;
}

async function configFrom(
  globals: { config?: string },
  overrides: Partial<GatewayConfig> = {},
): Promise<Readonly<GatewayConfig>> {
  const { loadConfig } = await import('../config/load-config.ts');
  return loadConfig({ file: globals.config, overrides });
}

async function withStore<T>(
  config: Readonly<GatewayConfig>,
  work: (db: Awaited<ReturnType<typeof openStore>>) => Promise<T>,
): Promise<T> {
  const { openStore } = await import('../store/index.ts');
  const db = await openStore({
    databaseUrl: config.databaseUrl,
    dataDir: config.dataDir,
    preparedStatements: config.databasePreparedStatements,
  });
  try {
    return await work(db);
  } finally {
    await db.close();
  }
}

export function buildCli(): Command {
  const program = new Command('pagw')
    .description('PA Gateway: prior authorization between EHRs and payers (HL7v2, FHIR, X12, Da Vinci PAS).')
    .option('-c, --config <file>', 'JSON config file (also env PAGW_CONFIG)')
    .version(packageVersion(), '-V, --version', 'print the version of pagw')
    .showHelpAfterError()
    .exitOverride();

  program
    .command('start')
    .description(
      'Run the HTTP API and workers (embedded database and bus unless DATABASE_URL / KAFKA_BROKERS are set)',
    )
    .addOption(
      new Option('-p, --port <port>', 'HTTP port (env PORT, default 8080)').argParser((v) =>
        Number.parseInt(v, 10),
      ),
    )
    .action(async (options: { port?: number }) => {
      const config = await configFrom(
        program.opts(),
        options.port === undefined ? {} : { port: options.port },
      );
      const [{ createLogger }, { startGateway }] = await Promise.all([
        import('../log/logger.ts'),
        import('../gateway.ts'),
      ]);
      const logger = createLogger({ level: config.logLevel });
      const gateway = await startGateway(config, logger);
      process.stdout.write(
        `PA Gateway listening on ${gateway.url}\n  database: ${gateway.db.description}\n  bus:      ${gateway.bus}\n  vault:    ${gateway.vaultDescription}\n`,
      );
      logger.info({ url: gateway.url, database: gateway.db.kind }, 'gateway started');
      await new Promise<void>((resolve) => {
        const shutdown = (signal: string) => {
          process.stdout.write(`${signal} received, stopping…\n`);
          gateway.stop().then(resolve, (error) => {
            logger.error({ error: String(error) }, 'stop failed');
            resolve();
          });
        };
        process.once('SIGTERM', () => shutdown('SIGTERM'));
        process.once('SIGINT', () => shutdown('SIGINT'));
      });
      process.stdout.write('stopped\n');
    });

  program
    .command('migrate')
    .description('Apply database migrations (also done by `pagw start`)')
    .action(async () => {
      const config = await configFrom(program.opts());
      const { migrate, openDatabase } = await import('../store/index.ts');
      const db = await openDatabase({
        databaseUrl: config.databaseUrl,
        dataDir: config.dataDir,
        preparedStatements: config.databasePreparedStatements,
      });
      try {
        const result = await migrate(db.pool);
        process.stdout.write(
          result.applied.length === 0
            ? `Schema up to date (${result.alreadyApplied.length} migrations applied earlier) on ${db.description}\n`
            : `Applied ${result.applied.join(', ')} on ${db.description}\n`,
        );
      } finally {
        await db.close();
      }
    });

  program
    .command('validate')
    .description('Check a canonical AuthorizationRequest (JSON): prints each problem, or "valid"')
    .argument('<file>', 'JSON file holding one canonical request')
    .action(async (file: string) => {
      const { checkAuthorizationRequest } = await import('../canonical/index.ts');
      let candidate: unknown;
      try {
        candidate = JSON.parse(readFileSync(file, 'utf8'));
      } catch (error) {
        process.stderr.write(`${file}: cannot read JSON: ${(error as Error).message}\n`);
        process.exitCode = 1;
        return;
      }
      const result = checkAuthorizationRequest(candidate);
      if (result.ok) {
        process.stdout.write('valid\n');
        return;
      }
      for (const problem of result.problems)
        process.stdout.write(`${problem.location}: ${problem.message}\n`);
      process.exitCode = 1;
    });

  const audit = program.command('audit').description('Audit log commands');
  audit
    .command('verify')
    .description('Check the audit log hash chain: reports every edited, deleted or inserted row')
    .action(async () => {
      const config = await configFrom(program.opts());
      const { chainAllAudit, verifyAuditChain } = await import('../audit/audit-log.ts');
      await withStore(config, async (db) => {
        // Rows written since the gateway's chainer last ran are chained first, so all of them are checked.
        await chainAllAudit(db.pool);
        const result = await verifyAuditChain(db.pool);
        if (result.ok) {
          process.stdout.write(`audit log verified: ${result.rowsChecked} rows, chain intact\n`);
          return;
        }
        for (const failure of result.failures)
          process.stdout.write(`row ${failure.position}: ${failure.reason}\n`);
        process.stdout.write(
          `audit log BROKEN: ${result.failures.length} problem(s) in ${result.rowsChecked} rows\n`,
        );
        process.exitCode = 1;
      });
    });

  registerAuditShow(
    audit,
    async (work) => withStore(await configFrom(program.opts()), work),
    () => ({ id: `cli:${osUserName()}` }),
  );

  const token = program.command('token').description('API token commands');
  token
    .command('create')
    .description('Create an API token for a tenant; the token is printed once and stored only as a hash')
    .requiredOption('-t, --tenant <tenant>', 'tenant (clinic) the token acts for')
    .addOption(
      new Option('-r, --role <role...>', 'role(s) the token holds')
        .choices([...apiRoles])
        .makeOptionMandatory(),
    )
    .option('-l, --label <label>', 'a note saying who or what uses the token')
    .option('-u, --user <user-id>', 'the named person the token is issued to (the audit names them)')
    .option('--npi <npi>', 'the person’s NPI, when they sign as a licensed clinician')
    .action(
      async (options: { tenant: string; role: ApiRole[]; label?: string; user?: string; npi?: string }) => {
        if (!/^[A-Za-z0-9._-]{1,64}$/.test(options.tenant)) {
          process.stderr.write('--tenant must be 1-64 letters, digits, dots, dashes or underscores\n');
          process.exitCode = 2;
          return;
        }
        if (options.user !== undefined && !userIdPattern.test(options.user)) {
          process.stderr.write(
            '--user must be 1-128 letters, digits or . _ @ + - (an e-mail or directory name)\n',
          );
          process.exitCode = 2;
          return;
        }
        if (options.npi !== undefined && !isValidNpi(options.npi)) {
          process.stderr.write('--npi must be a valid 10-digit NPI (check digit included)\n');
          process.exitCode = 2;
          return;
        }
        if (options.npi !== undefined && options.user === undefined) {
          process.stderr.write('--npi needs --user: an NPI belongs to a named person\n');
          process.exitCode = 2;
          return;
        }
        const config = await configFrom(program.opts());
        const [{ appendAudit }, { createApiToken, withTransaction }, { userInfo }] = await Promise.all([
          import('../audit/audit-log.ts'),
          import('../store/index.ts'),
          import('node:os'),
        ]);
        await withStore(config, async (db) => {
          const at = new Date();
          // The token and its audit row commit together: who made which token for whom is never lost.
          const { token: secret, principal } = await withTransaction(db.pool, async (tx) => {
            const created = await createApiToken(tx, {
              tenant: options.tenant,
              roles: options.role,
              label: options.label,
              ...(options.user ? { userId: options.user } : {}),
              ...(options.npi ? { npi: options.npi } : {}),
              at,
            });
            await appendAudit(tx, {
              tenant: options.tenant,
              actor: { id: `cli:${userInfo().username}`, onBehalfOf: `tenant:${options.tenant}` },
              action: 'token.created',
              details: {
                tokenId: created.principal.tokenId,
                roles: options.role,
                ...(options.user ? { userId: options.user } : {}),
                ...(options.npi ? { npi: options.npi } : {}),
              },
              at,
            });
            return created;
          });
          process.stdout.write(`${secret}\n`);
          process.stderr.write(
            `token ${principal.tokenId} for tenant ${principal.tenant}${principal.userId ? `, issued to ${principal.userId}` : ''} with roles ${principal.roles.join(', ')}: store it now, it is not shown again\n`,
          );
        });
      },
    );

  registerMapCommand(program);
  registerX12Commands(program);
  registerVaultCommands(program);

  return program;
}

export async function runCli(argv: string[]): Promise<number> {
  const program = buildCli();
  try {
    await program.parseAsync(argv, { from: 'user' });
    return typeof process.exitCode === 'number' ? process.exitCode : 0;
  } catch (error) {
    if (error instanceof CommanderError) {
      return error.exitCode === 0 ? 0 : 2; // help and version exit 0; usage errors were printed by commander
    }
    if (isGatewayError(error)) {
      process.stderr.write(`${error.message}\n`);
      return error.code === 'PAGW_CONFIG_INVALID' ? 2 : 1;
    }
    process.stderr.write(`pagw: ${(error as Error)?.stack ?? String(error)}\n`);
    return 1;
  }
}
