/**
 * Extracts what the profile validation layer (src/profiles) needs from the official Da Vinci PAS package:
 *
 *   npx tsx scripts/profiles/extract-pas.ts [path/to/hl7.fhir.us.davinci-pas-2.2.1.tgz]
 *
 * (default: /work/shared/ig/hl7.fhir.us.davinci-pas-2.2.1.tgz). It writes src/profiles/pas-2.2.1/definitions.json:
 * every StructureDefinition, ValueSet and CodeSystem of the package (`package/*.json`, examples left out), with the
 * documentation fields removed (narrative, differential, short/definition/comment/mapping … of each element) and the
 * base R4 invariants (which @medplum/core evaluates from its own R4 definitions) left out, so the file stays small. Everything a validator reads — snapshot paths, cardinalities, types and profiles, slicing,
 * fixed and pattern values, bindings, invariants — is kept byte-for-byte as the package has it. Running it again on
 * the same package writes the same file (a test checks the package's identity recorded in `source`).
 */
import { createHash } from 'node:crypto';
import { readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { gunzipSync } from 'node:zlib';

const tgz = process.argv[2] ?? '/work/shared/ig/hl7.fhir.us.davinci-pas-2.2.1.tgz';
const out = path.join(import.meta.dirname, '..', '..', 'src', 'profiles', 'pas-2.2.1', 'definitions.json');

/** The members of a (ustar) tar archive: name → bytes. Enough for npm-style FHIR packages. */
function untar(bytes: Buffer): Map<string, Buffer> {
  const files = new Map<string, Buffer>();
  let offset = 0;
  while (offset + 512 <= bytes.length) {
    const header = bytes.subarray(offset, offset + 512);
    if (header.every((b) => b === 0)) break;
    const field = (start: number, length: number) =>
      header
        .subarray(start, start + length)
        .toString('utf8')
        .replace(/\0.*$/s, '');
    const name = field(0, 100);
    const prefix = field(345, 155);
    const size = Number.parseInt(field(124, 12).trim() || '0', 8);
    const type = field(156, 1);
    const full = prefix ? `${prefix}/${name}` : name;
    if (type === '0' || type === '') files.set(full, bytes.subarray(offset + 512, offset + 512 + size));
    offset += 512 + Math.ceil(size / 512) * 512;
  }
  return files;
}

const elementDocFields = [
  'short',
  'definition',
  'comment',
  'requirements',
  'alias',
  'mapping',
  'example',
  'isModifierReason',
  'meaningWhenMissing',
  'orderMeaning',
  'extension',
];
const resourceDocFields = [
  'text',
  'differential',
  'mapping',
  'contact',
  'description',
  'purpose',
  'copyright',
];

type Json = Record<string, unknown>;

const coreSource = 'http://hl7.org/fhir/StructureDefinition/';

function compactStructureDefinition(sd: Json): Json {
  const copy: Json = { ...sd };
  for (const f of resourceDocFields) delete copy[f];
  const snapshot = copy.snapshot as { element: Json[] };
  copy.snapshot = {
    element: snapshot.element.map((e) => {
      const element: Json = { ...e };
      for (const f of elementDocFields) delete element[f];
      if (element.binding) {
        const { description: _d, extension: _e, ...binding } = element.binding as Json;
        element.binding = binding;
      }
      if (Array.isArray(element.constraint)) {
        // The base R4 invariants (ele-1, ext-1, dom-*) are evaluated by @medplum/core's own R4 validation; only
        // the invariants the PAS, US Core and CRD profiles add are kept here.
        const own = (element.constraint as Json[])
          .filter((c) => !String(c.source ?? '').startsWith(coreSource))
          .map(({ extension: _x, ...c }) => c);
        if (own.length) element.constraint = own;
        else delete element.constraint;
      }
      return element;
    }),
  };
  return copy;
}

function compactTerminology(resource: Json): Json {
  const copy: Json = { ...resource };
  for (const f of resourceDocFields) delete copy[f];
  return copy;
}

const raw = readFileSync(tgz);
const files = untar(gunzipSync(raw));
const manifest = JSON.parse(files.get('package/package.json')!.toString('utf8')) as Json;
const structureDefinitions: Json[] = [];
const valueSets: Json[] = [];
const codeSystems: Json[] = [];
for (const [name, bytes] of [...files].sort(([a], [b]) => a.localeCompare(b))) {
  if (!/^package\/[^/]+\.json$/.test(name) || name.endsWith('package.json')) continue;
  const resource = JSON.parse(bytes.toString('utf8')) as Json;
  if (resource.resourceType === 'StructureDefinition')
    structureDefinitions.push(compactStructureDefinition(resource));
  else if (resource.resourceType === 'ValueSet') valueSets.push(compactTerminology(resource));
  else if (resource.resourceType === 'CodeSystem') codeSystems.push(compactTerminology(resource));
}

const definitions = {
  source: {
    package: manifest.name,
    version: manifest.version,
    date: manifest.date,
    license: manifest.license,
    file: path.basename(tgz),
    sha256: createHash('sha256').update(raw).digest('hex'),
    note: 'Extracted by scripts/profiles/extract-pas.ts: package/*.json StructureDefinitions, ValueSets, CodeSystems; documentation fields removed.',
  },
  structureDefinitions,
  valueSets,
  codeSystems,
};
writeFileSync(out, `${JSON.stringify(definitions)}\n`);
process.stdout.write(
  `wrote ${path.relative(process.cwd(), out)}: ${structureDefinitions.length} StructureDefinitions, ${valueSets.length} ValueSets, ${codeSystems.length} CodeSystems\n`,
);
