/**
 * bench/x12: 278 build+validate and 278-response parse, per second on one core, each with its ratio to
 * node-x12's bare (non-strict) parse of the same interchange measured in the same run.
 *
 *   npx tsx bench/x12.ts [--seconds 1.5] [--rounds 5] [--lines 3]
 *
 * - build+validate: canonical request → 278 interchange (node-x12 assembly, persisted-style control numbers)
 *   → the strict validator (our reader, node-x12 strict parse, the TR3 table walk). Baseline: node-x12 bare
 *   parse of the 278 it built.
 * - response parse: lenient reader → 278 reader → canonical AuthorizationDecision. Baseline: node-x12 bare
 *   parse of the same response.
 * Rounds alternate the measured and the baseline work; the median of each is reported.
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { X12Parser } from 'node-x12';
import { build278 } from '../connectors/x12/005010X217/build-278.ts';
import { read278, toAuthorizationDecision } from '../connectors/x12/005010X217/read-278.ts';
import type { BuildOptions } from '../connectors/x12/build-parts.ts';
import { readX12, transactionSets } from '../connectors/x12/reader.ts';
import type { AuthorizationRequest } from '../src/canonical/index.ts';
import requestJson from '../test/fixtures/canonical/authorization-request.valid.json' with { type: 'json' };

const { values } = parseArgs({
  options: {
    seconds: { type: 'string', default: '1.5' },
    rounds: { type: 'string', default: '5' },
    lines: { type: 'string', default: '3' },
  },
});
const seconds = Number(values.seconds);
const rounds = Number(values.rounds);
const lineCount = Math.max(1, Math.min(99, Number(values.lines)));

const base = requestJson as AuthorizationRequest;
const request: AuthorizationRequest = {
  ...base,
  serviceLines: Array.from({ length: lineCount }, (_, i) => ({
    sequence: i + 1,
    code: { system: 'http://www.ama-assn.org/go/cpt', code: String(70551 + (i % 3)) },
    quantity: { value: 1 + i, unit: 'UN' },
    servicePeriod: { start: '2026-03-02', end: '2026-03-31' },
    placeOfService: '11',
  })),
};
const options = (n: number): BuildOptions => ({
  envelope: {
    sender: { qualifier: 'ZZ', id: 'PAGATEWAY' },
    receiver: { qualifier: 'ZZ', id: 'PAGWSIMCH' },
    usage: 'T',
    interchangeControlNumber: n,
    groupControlNumber: n,
    at: new Date('2026-03-01T09:30:00Z'),
  },
  payer: { name: 'Example Health Plan', id: '87726' },
  traceNumber: `PAGW${String(n).padStart(12, '0')}`,
  traceOriginator: '9PAGATEWAY',
  submitterReference: `BENCH${n}`,
});

const request278 = build278(request, options(1));
const response278 = readFileSync(
  path.join(
    import.meta.dirname,
    '..',
    'test',
    'fixtures',
    'x12',
    'handmade',
    '278-resp-A3-A1-service-level.x12',
  ),
  'utf8',
);

/** Runs `work` repeatedly for about `seconds` and returns operations per second. */
function rate(work: (i: number) => unknown): number {
  const budget = BigInt(Math.round(seconds * 1e9));
  const start = process.hrtime.bigint();
  let ops = 0;
  let sink = 0;
  while (process.hrtime.bigint() - start < budget) {
    for (let k = 0; k < 20; k++) {
      const out = work(ops++);
      sink += out ? 1 : 0;
    }
  }
  const elapsed = Number(process.hrtime.bigint() - start) / 1e9;
  if (sink < 0) console.log(sink);
  return ops / elapsed;
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

function compare(label: string, measured: (i: number) => unknown, baseline: (i: number) => unknown): void {
  // Warm both paths before timing.
  for (let i = 0; i < 200; i++) {
    measured(i);
    baseline(i);
  }
  const ours: number[] = [];
  const theirs: number[] = [];
  for (let r = 0; r < rounds; r++) {
    ours.push(rate(measured));
    theirs.push(rate(baseline));
  }
  const a = median(ours);
  const b = median(theirs);
  console.log(`  ${label.padEnd(38)} ${a.toFixed(0).padStart(8)} /s per core`);
  console.log(
    `  ${'node-x12 bare parse, same interchange'.padEnd(38)} ${b.toFixed(0).padStart(8)} /s per core`,
  );
  console.log(`  ${'ratio'.padEnd(38)} ${(a / b).toFixed(2).padStart(8)} ×`);
}

console.log(
  `bench/x12 — node ${process.version}, ${seconds}s × ${rounds} rounds each, median; 278 with ${lineCount} service line(s)`,
);
console.log(`  278 request ${request278.length} bytes, 278 response ${response278.length} bytes\n`);

console.log('278 build + TR3 validate');
compare(
  'build278 (incl. validation)',
  (i) => build278(request, options((i % 999_999_999) + 1)),
  () => new X12Parser(false).parse(request278),
);

console.log('\n278 response parse → AuthorizationDecision');
compare(
  'lenient read + 278 reader + decision',
  () => {
    const doc = readX12(response278);
    const [set] = transactionSets(doc);
    return toAuthorizationDecision(read278(doc, set!));
  },
  () => new X12Parser(false).parse(response278),
);
