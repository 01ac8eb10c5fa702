/**
 * `pagw map FILE [--format hl7v2|fhir] [--sender PROFILE]`: maps one order file (HL7 v2 ER7, or FHIR R4 JSON)
 * to canonical AuthorizationRequests, offline (no database). Prints the requests as one JSON array on stdout
 * and exits 0, or prints each problem on stderr and exits 1. Warnings (repairs made while reading) go to
 * stderr either way. It never hangs or crashes on any input: only regular files are read, up to a size limit.
 */
import { readFileSync, statSync } from 'node:fs';
import { type Command, Option } from 'commander';
import type { InboundFormat } from '../../mapping/index.ts';

/** Larger than any real order; a file over it is refused unread. */
export const maxMapFileBytes = 20 * 1024 * 1024;

export interface MapCommandOptions {
  format?: InboundFormat;
  sender?: string;
  tenant: string;
}

function fail(lines: string[]): void {
  process.stderr.write(`${lines.join('\n')}\n`);
  process.exitCode = 1;
}

export function registerMapCommand(program: Command): void {
  program
    .command('map')
    .description(
      'Map an order file (HL7 v2 ORM/OMG/OML, FHIR ServiceRequest/DeviceRequest/MedicationRequest or Bundle, Da Vinci PAS request) to canonical requests: a JSON array on stdout',
    )
    .argument('<file>', 'the order file (ER7 text or FHIR JSON)')
    .addOption(
      new Option('-f, --format <format>', 'input format (detected when absent)').choices(['hl7v2', 'fhir']),
    )
    .option('-s, --sender <profile>', 'sender profile from mappings/senders (e.g. example-epic-mrn-pid2)')
    .option('-t, --tenant <tenant>', 'tenant the requests belong to', 'default')
    .action(async (file: string, options: MapCommandOptions) => {
      if (!/^[A-Za-z0-9._-]{1,64}$/.test(options.tenant)) {
        process.stderr.write('--tenant must be 1-64 letters, digits, dots, dashes or underscores\n');
        process.exitCode = 2;
        return;
      }
      let raw: Buffer;
      try {
        const stat = statSync(file);
        if (!stat.isFile()) return fail([`${file}: not a regular file`]);
        if (stat.size > maxMapFileBytes) return fail([`${file}: larger than ${maxMapFileBytes} bytes`]);
        raw = readFileSync(file);
      } catch (error) {
        return fail([
          `${file}: cannot read: ${(error as NodeJS.ErrnoException).code ?? (error as Error).message}`,
        ]);
      }
      // Loaded here, so that only `map` pays for the mapping engine (hl7v2 and its dictionaries, ajv, FHIRPath).
      const { mapOrder } = await import('../../mapping/index.ts');
      const outcome = mapOrder({
        raw,
        format: options.format,
        tenant: options.tenant,
        sender: 'cli',
        profile: options.sender,
      });
      const warnings = outcome.warnings.map((w) => `warning ${w.code} ${w.location}: ${w.message}`);
      if (outcome.ok) {
        if (warnings.length > 0) process.stderr.write(`${warnings.join('\n')}\n`);
        process.stdout.write(`${JSON.stringify(outcome.requests, null, 2)}\n`);
        return;
      }
      const problems = outcome.error.problems.map(
        (p) => `error ${(p as { code?: string }).code ?? outcome.error.code} ${p.location}: ${p.message}`,
      );
      fail([...problems, ...warnings]);
    });
}
