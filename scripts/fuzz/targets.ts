/**
 * What `npm run fuzz` feeds and into what: each target is seed documents from test/fixtures and an arbitrary
 * producing mutated bytes (`loadTarget`), and a runner calling the gateway's real parser entry the way a
 * transport does (`loadRunner`). The runner returns whether the input was accepted or refused with a typed error; anything else it throws (a
 * TypeError, a RangeError, an invariant broken on an accepted input) is a crash.
 */
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import fc from 'fast-check';
import type { InboundFormat } from '../../src/mapping/index.ts';
import { hl7Format, jsonFormat, mutatedHl7Fields, mutatedJson, mutatedText, x12Format } from './mutate.ts';

export type Verdict = 'accepted' | 'refused';

export interface FuzzTarget {
  readonly name: TargetName;
  readonly describe: string;
  /** Seed files, relative to the repository root. */
  readonly seedFiles: readonly string[];
  readonly arbitrary: fc.Arbitrary<Uint8Array>;
}

export const targetNames = ['hl7', 'fhir', 'x12', 'pas'] as const;
export type TargetName = (typeof targetNames)[number];

const repoRoot = path.resolve(import.meta.dirname, '..', '..');

/** An accepted input that breaks what the gateway promises about it: a crash, though nothing was thrown. */
export class InvariantBroken extends Error {
  override name = 'InvariantBroken';
}

function files(dir: string, keep: (name: string) => boolean): string[] {
  return readdirSync(path.join(repoRoot, dir))
    .filter(keep)
    .sort()
    .map((f) => path.join(dir, f));
}

function read(file: string): string {
  return readFileSync(path.join(repoRoot, file), 'utf8');
}

const mappingJson = (name: string) => name.endsWith('.json') && !name.endsWith('.expected.json');

/** mapOrder as the inbound transports call it; the outcome must be requests that validate or a MappingError. */
async function mappingRunner(format: InboundFormat): Promise<(input: Uint8Array) => Verdict> {
  // Loaded here, not at the top: a worker loads only the parser of its own target.
  const { MappingError, mapOrder } = await import('../../src/mapping/index.ts');
  const { checkAuthorizationRequest } = await import('../../src/canonical/validate.ts');
  return (input) => {
    const outcome = mapOrder({ raw: input, tenant: 'fuzz', sender: 'fuzz', format });
    if (outcome.ok) {
      if (outcome.requests.length === 0) throw new InvariantBroken('accepted with no request');
      for (const request of outcome.requests) {
        const check = checkAuthorizationRequest(request);
        if (!check.ok) {
          throw new InvariantBroken(
            `accepted request fails the schema: ${check.problems[0]?.location} ${check.problems[0]?.message}`,
          );
        }
      }
      return 'accepted';
    }
    if (!(outcome.error instanceof MappingError) || outcome.error.problems.length === 0) {
      throw new InvariantBroken(`refused without a MappingError naming a problem (${outcome.error.code})`);
    }
    if (outcome.message.key.length === 0)
      throw new InvariantBroken('refused message without an idempotency key');
    return 'refused';
  };
}

/** Random bytes now and then: the parser must also survive what is not its format at all. */
const noise = fc.uint8Array({ maxLength: 512 });

function hl7Target(): FuzzTarget {
  const seedFiles = files('test/fixtures/hl7v2', (f) => f.endsWith('.hl7'));
  const seeds = seedFiles.map(read);
  return {
    name: 'hl7',
    describe: 'HL7 v2 order → mapOrder (parse, map, validate) as the HTTP, MLLP and bus transports call it',
    seedFiles,
    arbitrary: fc.oneof(
      { weight: 5, arbitrary: mutatedText(seeds, hl7Format) },
      { weight: 4, arbitrary: mutatedHl7Fields(seeds) },
      { weight: 1, arbitrary: noise },
    ),
  };
}

function fhirTarget(name: 'fhir' | 'pas', dir: string, describe: string): FuzzTarget {
  const seedFiles = files(dir, mappingJson);
  const seeds = seedFiles.map(read);
  return {
    name,
    describe,
    seedFiles,
    arbitrary: fc.oneof(
      { weight: 8, arbitrary: mutatedJson(seeds) },
      { weight: 1, arbitrary: mutatedText(seeds, jsonFormat) },
      { weight: 1, arbitrary: noise },
    ),
  };
}

function x12Target(): FuzzTarget {
  const seedFiles = ['corpus', 'handmade', 'broken'].flatMap((d) =>
    files(`test/fixtures/x12/${d}`, (f) => f.endsWith('.x12') || f.endsWith('.edi')),
  );
  const seeds = seedFiles.map((f) => readFileSync(path.join(repoRoot, f)).toString('utf8'));
  return {
    name: 'x12',
    describe: 'X12 270/271/278/999/TA1 → parseX12, 278 responses → toAuthorizationDecision (schema-checked)',
    seedFiles,
    arbitrary: fc.oneof(
      { weight: 9, arbitrary: mutatedText(seeds, x12Format) },
      { weight: 1, arbitrary: noise },
    ),
  };
}

/** parseX12 as the connector calls it on a clearinghouse answer, then the decision it would record. */
async function x12Runner(): Promise<(input: Uint8Array) => Verdict> {
  const { parseX12 } = await import('../../connectors/x12/parse.ts');
  const { toAuthorizationDecision } = await import('../../connectors/x12/005010X217/read-278.ts');
  const { checkAuthorizationDecision } = await import('../../src/canonical/validate.ts');
  const { isGatewayError } = await import('../../src/errors/index.ts');
  return (input) => {
    try {
      const parsed = parseX12(input);
      for (const result of parsed.results) {
        if (result.kind !== '278-response') continue;
        const decision = toAuthorizationDecision(result);
        if (!decision) continue;
        const check = checkAuthorizationDecision(decision);
        if (!check.ok) {
          throw new InvariantBroken(
            `decision fails the schema: ${check.problems[0]?.location} ${check.problems[0]?.message}`,
          );
        }
      }
      return 'accepted';
    } catch (error) {
      if (isGatewayError(error) && error.code.startsWith('PAGW_X12_')) return 'refused';
      throw error;
    }
  };
}

/** Seeds and mutations of a target (cheap: no parser loaded). */
export function loadTarget(name: TargetName): FuzzTarget {
  switch (name) {
    case 'hl7':
      return hl7Target();
    case 'fhir':
      return fhirTarget(
        'fhir',
        'test/fixtures/fhir',
        'FHIR R4 order (resource or Bundle) → mapOrder, format fhir',
      );
    case 'pas':
      return fhirTarget(
        'pas',
        'test/fixtures/pas',
        'Da Vinci PAS bundles → mapOrder (the inbound PAS mapping: bundle reading, payload rejections, validation)',
      );
    case 'x12':
      return x12Target();
  }
}

/** The parser entry of a target, loaded on demand (in the worker only). */
export function loadRunner(name: TargetName): Promise<(input: Uint8Array) => Verdict> {
  return name === 'x12' ? x12Runner() : mappingRunner(name === 'hl7' ? 'hl7v2' : 'fhir');
}
