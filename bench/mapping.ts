/**
 * bench/mapping: inbound orders mapped per second on one core, each with its ratio to bare parsing of the
 * same input measured in the same run:
 * - HL7 v2: parse + map + validate (mapOrder) in orders/s, against the `hl7v2` package's HL7Message.parse of
 *   the same messages ("hl7v2 parse alone");
 * - FHIR: bundles mapped + validated per second, against JSON.parse of the same bytes.
 *
 *   npx tsx bench/mapping.ts [--seconds 3]
 *
 * Single-threaded by construction (one event loop = one core). Inputs are the corpus fixtures that map.
 */
import { parseArgs } from 'node:util';
import { parseWithLibraryOnly } from '../src/mapping/hl7v2/message.ts';
import { defaultRegistry, mapOrder } from '../src/mapping/index.ts';
import { readFixture } from '../test/conformance/mapping-cases.ts';

const { values } = parseArgs({ options: { seconds: { type: 'string', default: '3' } } });
const seconds = Number(values.seconds);

const hl7Files = [
  'hl7v2/fhirconverter_ORM-O01-02.hl7',
  'hl7v2/fhirconverter_OML-O21-01.hl7',
  'hl7v2/fhirconverter_MDHHS-OML-O21-2.hl7',
  'hl7v2/synthetic_OMG-O19-01_derived-NW.hl7',
  'hl7v2/synthetic_ORM-O01_bom-crlf-escapes.hl7',
  'hl7v2/synthetic_ORM-O01_rxo-ndc.hl7',
  'hl7v2/synthetic_ORM-O01_custom-delimiters.hl7',
];
const fhirFiles = [
  'pas/Bundle-ReferralAuthorizationBundleExample.json',
  'pas/Bundle-HomecareAuthorizationBundleExample.json',
  'pas/Bundle-MedicalServicesAuthorizationBundleExample.json',
  'pas/Bundle-SurgicalRequestBundleExample.json',
  'fhir/synthetic_bundle-transaction-two-orders.json',
  'fhir/synthetic_bundle-collection-devicerequest.json',
];

/** Runs `work` over the inputs round-robin for about `seconds`; returns inputs handled per second and units produced. */
function measure(
  inputs: readonly Buffer[],
  work: (input: Buffer) => number,
): { perSecond: number; unitsPerSecond: number } {
  for (let i = 0; i < 200; i++) work(inputs[i % inputs.length]!); // warm up the JIT
  let done = 0;
  let units = 0;
  const start = process.hrtime.bigint();
  const budget = BigInt(Math.round(seconds * 1e9));
  let elapsed = 0n;
  while (elapsed < budget) {
    for (let i = 0; i < 50; i++) {
      units += work(inputs[done % inputs.length]!);
      done++;
    }
    elapsed = process.hrtime.bigint() - start;
  }
  const s = Number(elapsed) / 1e9;
  return { perSecond: done / s, unitsPerSecond: units / s };
}

function row(label: string, value: number, unit: string, note = ''): void {
  console.log(`  ${label.padEnd(52)} ${value.toFixed(0).padStart(8)} ${unit}${note ? `  ${note}` : ''}`);
}

defaultRegistry(); // compile the mappings before timing
const tenant = 'bench';

const hl7Inputs = hl7Files.map(readFixture);
const hl7Texts = hl7Inputs.map((b) => b.toString('utf8').replace(/^\uFEFF/, ''));
for (const input of hl7Inputs) {
  const outcome = mapOrder({ raw: input, tenant, sender: 'bench' });
  if (!outcome.ok) throw new Error(`bench input does not map: ${outcome.error.message}`);
}
console.log(
  `HL7 v2: ${hl7Files.length} corpus messages (${hl7Inputs.reduce((n, b) => n + b.length, 0)} bytes), ~${seconds} s each, one core`,
);
/** Times bare parsing against mapOrder on the same inputs and prints both and their ratio. */
function compare(
  inputs: readonly Buffer[],
  bare: { label: string; parse: (index: number) => void },
  mapped: { label: string; unit: string },
  aim = '',
): void {
  let n = 0;
  const bareRun = measure(inputs, () => {
    bare.parse(n++);
    return 1;
  });
  const mappedRun = measure(inputs, (raw) => {
    const outcome = mapOrder({ raw, tenant, sender: 'bench' });
    return outcome.ok ? outcome.requests.length : 0;
  });
  row(bare.label, bareRun.perSecond, 'per s');
  row(`parse + map + validate (mapOrder), ${mapped.label}`, mappedRun.perSecond, 'per s');
  row(`parse + map + validate, ${mapped.unit} per core`, mappedRun.unitsPerSecond, `${mapped.unit}/s`);
  console.log(
    `  ${'ratio: time per input, mapOrder / bare parse'.padEnd(52)} ${(bareRun.perSecond / mappedRun.perSecond).toFixed(2)}x${aim}`,
  );
}

compare(
  hl7Inputs,
  {
    label: 'hl7v2 parse alone (HL7Message.parse), messages/s',
    parse: (i) => parseWithLibraryOnly(hl7Texts[i % hl7Texts.length]!),
  },
  { label: 'messages/s', unit: 'orders' },
  '  (aim: <= 1, and >= 10000 orders/s)',
);

const fhirInputs = fhirFiles.map(readFixture);
const fhirTexts = fhirInputs.map((b) => b.toString('utf8'));
console.log(
  `\nFHIR: ${fhirFiles.length} bundles (${fhirInputs.reduce((n, b) => n + b.length, 0)} bytes), ~${seconds} s each, one core`,
);
compare(
  fhirInputs,
  { label: 'JSON.parse alone, bundles/s', parse: (i) => JSON.parse(fhirTexts[i % fhirTexts.length]!) },
  { label: 'bundles/s', unit: 'requests' },
);
