/**
 * `pagw`, the gateway's command line. Each command loads config once, does one job, and exits with 0 on
 * success, 1 when the input or the data is bad, 2 on a usage or configuration error.
 */
import { readFileSync } from 'node:fs';
import { userInfo } from 'node:os';
import { Command, CommanderError, Option } from 'commander';
import { appendAudit, verifyAuditChain } from '../audit/audit-log.ts';
import { checkAuthorizationRequest } from '../canonical/index.ts';
import { type GatewayConfig, loadConfig } from '../config/load-config.ts';
import { isGatewayError } from '../errors/index.ts';
import { startGateway } from '../gateway.ts';
import { createLogger } from '../log/logger.ts';
import {
  type ApiRole,
  apiRoles,
  createApiToken,
  migrate,
  openDatabase,
  openStore,
  withTransaction,
} from '../store/index.ts';
import { registerMapCommand } from './commands/map.ts';
import { registerX12Commands } from './commands/x12.ts';

function configFrom(
  globals: { config?: string },
  overrides: Partial<GatewayConfig> = {},
): Readonly<GatewayConfig> {
  return loadConfig({ file: globals.config, overrides });
}

async function withStore<T>(
  config: Readonly<GatewayConfig>,
  work: (db: Awaited<ReturnType<typeof openStore>>) => Promise<T>,
): Promise<T> {
  const db = await openStore({ databaseUrl: config.databaseUrl, dataDir: config.dataDir });
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
      const config = configFrom(program.opts(), options.port === undefined ? {} : { port: options.port });
      const logger = createLogger({ level: config.logLevel });
      const gateway = await startGateway(config, logger);
      process.stdout.write(
        `PA Gateway listening on ${gateway.url}\n  database: ${gateway.db.description}\n  bus:      ${gateway.bus}\n`,
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
      const config = configFrom(program.opts());
      const db = await openDatabase({ databaseUrl: config.databaseUrl, dataDir: config.dataDir });
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
    .action((file: string) => {
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
      const config = configFrom(program.opts());
      await withStore(config, async (db) => {
        const result = await verifyAuditChain(db.pool);
        if (result.ok) {
          process.stdout.write(`audit log verified: ${result.rowsChecked} rows, chain intact\n`);
          return;
        }
        for (const failure of result.failures)
          process.stdout.write(`row ${failure.seq}: ${failure.reason}\n`);
        process.stdout.write(
          `audit log BROKEN: ${result.failures.length} problem(s) in ${result.rowsChecked} rows\n`,
        );
        process.exitCode = 1;
      });
    });

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
    .action(async (options: { tenant: string; role: ApiRole[]; label?: string }) => {
      if (!/^[A-Za-z0-9._-]{1,64}$/.test(options.tenant)) {
        process.stderr.write('--tenant must be 1-64 letters, digits, dots, dashes or underscores\n');
        process.exitCode = 2;
        return;
      }
      const config = configFrom(program.opts());
      await withStore(config, async (db) => {
        const at = new Date();
        // The token and its audit row commit together: who made which token for whom is never lost.
        const { token: secret, principal } = await withTransaction(db.pool, async (tx) => {
          const created = await createApiToken(tx, {
            tenant: options.tenant,
            roles: options.role,
            label: options.label,
            at,
          });
          await appendAudit(tx, {
            tenant: options.tenant,
            actor: { id: `cli:${userInfo().username}`, onBehalfOf: `tenant:${options.tenant}` },
            action: 'token.created',
            details: { tokenId: created.principal.tokenId, roles: options.role },
            at,
          });
          return created;
        });
        process.stdout.write(`${secret}\n`);
        process.stderr.write(
          `token ${principal.tokenId} for tenant ${principal.tenant} with roles ${principal.roles.join(', ')}: store it now, it is not shown again\n`,
        );
      });
    });

  registerMapCommand(program);
  registerX12Commands(program);

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
