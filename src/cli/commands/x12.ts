/**
 * `pagw x12 build FILE.json --type 270|278|278-inquiry` prints the X12 interchange the gateway would send for a
 * canonical AuthorizationRequest (validated against the TR3 before it is printed); `pagw x12 parse FILE` prints
 * what the gateway reads in an X12 file — a 278 decision, 271 eligibility, 999/TA1 acknowledgment, 270 or 278
 * request — as JSON, with the lenient reader's diagnostics. Both work offline (no database, no network);
 * a bad input gets a specific error on stderr and exit code 1.
 */
import { createHash } from 'node:crypto';
import { readFileSync, statSync } from 'node:fs';
import { type Command, Option } from 'commander';
import type { BuildOptions } from '../../../connectors/x12/build-parts.ts';
import { X12ParseError } from '../../../connectors/x12/errors.ts';
import type { ParsedTransaction } from '../../../connectors/x12/parse.ts';
import { isGatewayError } from '../../errors/index.ts';

const maxFileBytes = 20 * 1024 * 1024;

function fail(lines: string[]): void {
  process.stderr.write(`${lines.join('\n')}\n`);
  process.exitCode = 1;
}

function readInput(file: string): Buffer | undefined {
  try {
    const stat = statSync(file);
    if (!stat.isFile()) {
      fail([`${file}: not a regular file`]);
      return undefined;
    }
    if (stat.size > maxFileBytes) {
      fail([`${file}: larger than ${maxFileBytes} bytes`]);
      return undefined;
    }
    return readFileSync(file);
  } catch (error) {
    fail([`${file}: cannot read: ${(error as NodeJS.ErrnoException).code ?? (error as Error).message}`]);
    return undefined;
  }
}

/**
 * `error CODE position: message`, then every problem the reader noted, indented. A bad file never gets a stack
 * trace: anything that is not a GatewayError is a reader bug, reported on one line as PAGW_INTERNAL.
 */
function reportError(file: string, error: unknown): void {
  if (!isGatewayError(error)) {
    const { name, message } = error instanceof Error ? error : { name: 'Error', message: String(error) };
    fail([
      `error PAGW_INTERNAL ${file}: the reader failed (${name}: ${message}); please report it with the file`,
    ]);
    return;
  }
  const where = error instanceof X12ParseError ? error.location : (error.problems[0]?.location ?? file);
  fail([
    `error ${error.code} ${where}: ${error.message}`,
    ...error.problems.map((p) => `  ${p.location}: ${p.message}`),
  ]);
}

/** What `parse` prints for one transaction: 278 responses get their canonical decision. */
async function printable(results: readonly ParsedTransaction[]): Promise<unknown[]> {
  const { toAuthorizationDecision } = await import('../../../connectors/x12/005010X217/read-278.ts');
  return results.map((result) =>
    result.kind === '278-response'
      ? { kind: result.kind, decision: toAuthorizationDecision(result) ?? null, review: result }
      : result,
  );
}

interface BuildCommandOptions {
  type: '270' | '278' | '278-inquiry';
  payersDir?: string;
  controlNumber: string;
  senderId: string;
  trace?: string;
  at?: string;
  pretty?: boolean;
}

export function registerX12Commands(program: Command): void {
  const x12 = program.command('x12').description('X12 270/271, 278, 999 and TA1: build and read, offline');

  x12
    .command('build')
    .description(
      'Build the X12 interchange for a canonical AuthorizationRequest (TR3-validated) and print it',
    )
    .argument('<file>', 'JSON file holding one canonical AuthorizationRequest')
    .addOption(
      new Option('-t, --type <type>', 'what to build').choices(['270', '278', '278-inquiry']).default('278'),
    )
    .option('--payers-dir <dir>', 'payer directory to resolve coverage.payerId in (default payers/)')
    .option('--control-number <n>', 'ISA13 and GS06 to use', '1')
    .option('--sender-id <id>', 'ISA06/GS02 sender id', 'PAGATEWAY')
    .option('--trace <trace>', 'TRN02 trace number (default: derived from the idempotency key)')
    .option('--at <iso>', 'interchange date and time (default: now)')
    .option('--pretty', 'one segment per line')
    .action(async (file: string, options: BuildCommandOptions) => {
      const raw = readInput(file);
      if (!raw) return;
      // Loaded here: `pagw --help` and the other commands do not pay for the X12 builders and the TR3 tables.
      const [
        { loadPayerDirectory },
        { buildInquiry },
        { build278 },
        { build270 },
        { assertAuthorizationRequest },
        { x12Channel },
      ] = await Promise.all([
        import('../../../connectors/payer-directory.ts'),
        import('../../../connectors/x12/005010X215/build-inquiry.ts'),
        import('../../../connectors/x12/005010X217/build-278.ts'),
        import('../../../connectors/x12/005010X279A1/build-270.ts'),
        import('../../canonical/validate.ts'),
        import('../../workflow/rules/payer-directory.ts'),
      ]);
      try {
        let candidate: unknown;
        try {
          candidate = JSON.parse(raw.toString('utf8'));
        } catch (error) {
          fail([`${file}: PAGW_INPUT_UNREADABLE: not JSON (${(error as Error).message})`]);
          return;
        }
        const request = assertAuthorizationRequest(candidate);
        const directory = loadPayerDirectory(options.payersDir);
        const payer = directory.find(request.coverage);
        const channel = payer ? x12Channel(payer) : undefined;
        const control = Number.parseInt(options.controlNumber, 10);
        if (!Number.isInteger(control) || control < 1 || control > 999_999_999) {
          process.stderr.write('--control-number must be 1…999999999\n');
          process.exitCode = 2;
          return;
        }
        const at = options.at ? new Date(options.at) : new Date();
        if (Number.isNaN(at.getTime())) {
          process.stderr.write('--at must be an ISO 8601 date-time\n');
          process.exitCode = 2;
          return;
        }
        const digest = createHash('sha256')
          .update(`${request.tenant}\u0000${request.idempotencyKey}`)
          .digest('hex');
        const buildOptions: BuildOptions = {
          envelope: {
            sender: { qualifier: 'ZZ', id: options.senderId },
            receiver: {
              qualifier: channel?.interchange.receiverQualifier ?? 'ZZ',
              id: channel?.interchange.receiverId ?? 'CLEARINGHOUSE',
            },
            usage: channel?.interchange.usage ?? 'T',
            interchangeControlNumber: control,
            groupControlNumber: control,
            at,
          },
          payer: {
            name: payer?.name ?? request.coverage.payerName ?? request.coverage.payerId,
            id: payer?.identifiers.x12PayerId ?? request.coverage.payerId,
          },
          traceNumber: options.trace ?? `PAGW${digest.slice(0, 16).toUpperCase()}`,
          traceOriginator: '9PAGATEWAY',
          submitterReference: digest.slice(0, 20),
        };
        const text =
          options.type === '270'
            ? build270(request, buildOptions)
            : options.type === '278-inquiry'
              ? buildInquiry(request, buildOptions)
              : build278(request, buildOptions);
        process.stdout.write(options.pretty ? `${text.replace(/~/g, '~\n')}` : `${text}\n`);
      } catch (error) {
        reportError(file, error);
      }
    });

  x12
    .command('parse')
    .description(
      'Read an X12 file (278 response or request, 271, 270, 999, TA1) and print the result as JSON',
    )
    .argument('<file>', 'the X12 file')
    .action(async (file: string) => {
      const raw = readInput(file);
      if (!raw) return;
      const { parseX12 } = await import('../../../connectors/x12/parse.ts');
      try {
        const parsed = parseX12(raw);
        const results = await printable(parsed.results);
        process.stdout.write(
          `${JSON.stringify({ ...(results.length === 1 ? { result: results[0] } : { results }), diagnostics: parsed.diagnostics }, null, 2)}\n`,
        );
      } catch (error) {
        reportError(file, error);
      }
    });
}
