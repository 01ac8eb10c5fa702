/**
 * The mapping data under mappings/ — mapping files, code tables, sender profiles — imported as JSON modules
 * (the core reads no files), checked against their schemas and cross-checked (an `extends` that exists, a
 * table that exists, FHIRPath that parses, a time zone that exists), then compiled once per sender profile.
 * Adding a mapping, table or profile = adding its JSON file and one import line below (mappings/README.md).
 */

import fhirDeviceRequest from '../../mappings/fhir/devicerequest.json' with { type: 'json' };
import fhirMedicationRequest from '../../mappings/fhir/medicationrequest.json' with { type: 'json' };
import fhirOrderCommon from '../../mappings/fhir/order-common.json' with { type: 'json' };
import fhirPasClaim from '../../mappings/fhir/pas-claim.json' with { type: 'json' };
import fhirServiceRequest from '../../mappings/fhir/servicerequest.json' with { type: 'json' };
import hl7OmgO19 from '../../mappings/hl7v2/omg-o19.json' with { type: 'json' };
import hl7OmlO21 from '../../mappings/hl7v2/oml-o21.json' with { type: 'json' };
import hl7OrderCommon from '../../mappings/hl7v2/order-common.json' with { type: 'json' };
import hl7OrmO01 from '../../mappings/hl7v2/orm-o01.json' with { type: 'json' };
import senderEpicPid2 from '../../mappings/senders/example-epic-mrn-pid2.json' with { type: 'json' };
import senderMdhhs from '../../mappings/senders/example-mdhhs.json' with { type: 'json' };
import fhirAdministrativeGender from '../../mappings/tables/fhir-administrative-gender.json' with {
  type: 'json',
};
import fhirClaimPriority from '../../mappings/tables/fhir-claim-priority.json' with { type: 'json' };
import fhirCodeSystems from '../../mappings/tables/fhir-code-systems.json' with { type: 'json' };
import fhirCodingPreference from '../../mappings/tables/fhir-coding-preference.json' with { type: 'json' };
import fhirRequestPriority from '../../mappings/tables/fhir-request-priority.json' with { type: 'json' };
import fhirSubscriberRelationship from '../../mappings/tables/fhir-subscriber-relationship.json' with {
  type: 'json',
};
import hl7AdministrativeSex from '../../mappings/tables/hl7-administrative-sex.json' with { type: 'json' };
import hl7CodingSystems from '../../mappings/tables/hl7-coding-systems.json' with { type: 'json' };
import hl7PatientRelationship from '../../mappings/tables/hl7-patient-relationship-to-insured.json' with {
  type: 'json',
};
import hl7Priority from '../../mappings/tables/hl7-priority.json' with { type: 'json' };
import hl7Relationship from '../../mappings/tables/hl7-relationship.json' with { type: 'json' };
import x12LevelOfService from '../../mappings/tables/x12-level-of-service.json' with { type: 'json' };
import codeTableSchema from '../../schemas/code-table.json' with { type: 'json' };
import mappingSchema from '../../schemas/mapping.json' with { type: 'json' };
import senderProfileSchema from '../../schemas/sender-profile.json' with { type: 'json' };
import { ajvErrorsToProblems, createAjv } from '../canonical/schema-validator.ts';
import { GatewayError, type Problem } from '../errors/index.ts';
import { zoneOffsetAt } from './dates.ts';
import { type CompiledFhirMapping, compileFhirMapping } from './fhir/map.ts';
import { type CompiledHl7Mapping, compileHl7Mapping } from './hl7v2/map.ts';
import { CodeTables } from './tables.ts';
import type { CodeTable, FhirMapping, Hl7V2Mapping, MappingFile, SenderProfile } from './types.generated.ts';

/** Everything the engine reads: mappings, code tables and sender profiles (JSON, unchecked). */
export interface MappingData {
  readonly mappings: readonly unknown[];
  readonly tables: readonly unknown[];
  readonly profiles: readonly unknown[];
}

export const builtInMappingData: MappingData = {
  mappings: [
    hl7OrderCommon,
    hl7OrmO01,
    hl7OmgO19,
    hl7OmlO21,
    fhirOrderCommon,
    fhirServiceRequest,
    fhirDeviceRequest,
    fhirMedicationRequest,
    fhirPasClaim,
  ],
  tables: [
    hl7CodingSystems,
    hl7AdministrativeSex,
    hl7Relationship,
    hl7PatientRelationship,
    hl7Priority,
    fhirCodeSystems,
    fhirCodingPreference,
    fhirRequestPriority,
    fhirClaimPriority,
    fhirAdministrativeGender,
    fhirSubscriberRelationship,
    x12LevelOfService,
  ],
  profiles: [senderEpicPid2, senderMdhhs],
};

const ajv = createAjv([mappingSchema, senderProfileSchema, codeTableSchema]);
const validateMapping = ajv.getSchema(mappingSchema.$id)!;
const validateProfile = ajv.getSchema(senderProfileSchema.$id)!;
const validateTable = ajv.getSchema(codeTableSchema.$id)!;

function invalid(problems: Problem[]): GatewayError {
  const shown = problems.slice(0, 8).map((p) => `${p.location}: ${p.message}`);
  return new GatewayError('PAGW_MAP_INVALID_MAPPING', `Invalid mapping data: ${shown.join('; ')}`, {
    problems,
  });
}

function named(candidate: unknown, index: number, kind: string): string {
  const id = (candidate as { id?: unknown })?.id;
  return typeof id === 'string' ? id : `${kind}[${index}]`;
}

/** Child rules replace the base's rules of the same target; resources merge by name. */
function resolveExtends<M extends Hl7V2Mapping | FhirMapping>(mapping: M, byId: Map<string, MappingFile>): M {
  if (!mapping.extends) return mapping;
  const base = byId.get(mapping.extends) as M | undefined;
  if (!base) throw new Error(`extends unknown mapping '${mapping.extends}'`);
  if (base.format !== mapping.format) throw new Error(`extends '${mapping.extends}' of another format`);
  const resolvedBase = resolveExtends(base, byId);
  const replaced = new Set((mapping.fields ?? []).map((f) => f.target));
  const fields = [
    ...(resolvedBase.fields ?? []).filter((f) => !replaced.has(f.target)),
    ...(mapping.fields ?? []),
  ];
  const merged = { ...resolvedBase, ...mapping, abstract: mapping.abstract, fields } as M;
  if (mapping.format === 'fhir') {
    const b = resolvedBase as FhirMapping;
    const m = mapping as FhirMapping;
    Object.assign(merged, {
      resources: { ...b.resources, ...m.resources },
      rejectPayload: [...(b.rejectPayload ?? []), ...(m.rejectPayload ?? [])],
    });
  }
  return merged;
}

export class MappingRegistry {
  readonly tables: CodeTables;
  readonly profiles: ReadonlyMap<string, SenderProfile>;
  private readonly hl7Files: ReadonlyMap<string, Hl7V2Mapping>;
  private readonly fhirFiles: readonly FhirMapping[];
  private readonly hl7Cache = new Map<string, CompiledHl7Mapping>();
  private readonly fhirCache = new Map<string, readonly CompiledFhirMapping[]>();

  private constructor(
    hl7: Map<string, Hl7V2Mapping>,
    fhir: FhirMapping[],
    tables: CodeTable[],
    profiles: Map<string, SenderProfile>,
  ) {
    this.hl7Files = hl7;
    this.fhirFiles = fhir;
    this.tables = new CodeTables(tables);
    this.profiles = profiles;
  }

  /** Checks and compiles mapping data; a PAGW_MAP_INVALID_MAPPING error lists every problem. */
  static fromData(data: MappingData): MappingRegistry {
    const problems: Problem[] = [];
    const check = (items: readonly unknown[], validate: typeof validateMapping, kind: string) =>
      items.filter((item, i) => {
        if (validate(item)) return true;
        for (const p of ajvErrorsToProblems(validate.errors)) {
          problems.push({ location: `${named(item, i, kind)} ${p.location}`, message: p.message });
        }
        return false;
      });
    const mappings = check(data.mappings, validateMapping, 'mapping') as MappingFile[];
    const tables = check(data.tables, validateTable, 'table') as CodeTable[];
    const profiles = check(data.profiles, validateProfile, 'profile') as SenderProfile[];
    if (problems.length > 0) throw invalid(problems);

    const byId = new Map<string, MappingFile>();
    for (const m of mappings) {
      if (byId.has(m.id)) problems.push({ location: m.id, message: 'two mappings have this id' });
      byId.set(m.id, m);
    }
    const tableIds = new Set(tables.map((t) => t.id));
    for (const required of [
      'hl7-coding-systems',
      'fhir-code-systems',
      'fhir-coding-preference',
      'fhir-administrative-gender',
    ]) {
      if (!tableIds.has(required))
        problems.push({ location: required, message: 'a table the readers use is missing' });
    }
    const hl7 = new Map<string, Hl7V2Mapping>();
    const fhir: FhirMapping[] = [];
    for (const m of mappings) {
      let resolved: MappingFile;
      try {
        resolved = m.format === 'hl7v2' ? resolveExtends(m, byId) : resolveExtends(m, byId);
      } catch (error) {
        problems.push({ location: m.id, message: (error as Error).message });
        continue;
      }
      for (const rule of resolved.fields ?? []) {
        if (rule.table && !tableIds.has(rule.table)) {
          problems.push({ location: `${m.id} ${rule.target}`, message: `unknown table '${rule.table}'` });
        }
      }
      if (resolved.abstract) continue;
      try {
        if (resolved.format === 'hl7v2') {
          compileHl7Mapping(resolved);
          for (const type of resolved.select?.messageTypes ?? []) {
            if (hl7.has(type))
              problems.push({ location: m.id, message: `${type} is already mapped by ${hl7.get(type)!.id}` });
            hl7.set(type, resolved);
          }
        } else {
          const links = new Set(['order', ...Object.keys(resolved.resources ?? {})]);
          for (const [name, link] of Object.entries(resolved.resources ?? {})) {
            if (!links.has(link.from))
              problems.push({
                location: `${m.id} resources.${name}`,
                message: `unknown from '${link.from}'`,
              });
          }
          for (const rule of resolved.fields ?? []) {
            if (rule.scope && !links.has(rule.scope)) {
              problems.push({ location: `${m.id} ${rule.target}`, message: `unknown scope '${rule.scope}'` });
            }
          }
          compileFhirMapping(resolved);
          fhir.push(resolved);
        }
      } catch (error) {
        problems.push({ location: m.id, message: `does not compile: ${(error as Error).message}` });
      }
    }
    const byProfile = new Map<string, SenderProfile>();
    for (const profile of profiles) {
      if (profile.timeZone) {
        try {
          zoneOffsetAt(profile.timeZone, 0);
        } catch {
          problems.push({ location: `${profile.id} timeZone`, message: 'not an IANA time zone' });
        }
      }
      for (const rule of [...(profile.hl7v2Fields ?? []), ...(profile.fhirFields ?? [])]) {
        if (rule.table && !tableIds.has(rule.table)) {
          problems.push({
            location: `${profile.id} ${rule.target}`,
            message: `unknown table '${rule.table}'`,
          });
        }
      }
      byProfile.set(profile.id, profile);
    }
    if (problems.length > 0) throw invalid(problems);
    fhir.sort((a, b) => (b.priority ?? 0) - (a.priority ?? 0));
    return new MappingRegistry(hl7, fhir, tables, byProfile);
  }

  /** HL7 v2 message types mapped (ORM^O01 …). */
  get hl7MessageTypes(): string[] {
    return [...this.hl7Files.keys()];
  }

  hl7(messageType: string, profile?: SenderProfile): CompiledHl7Mapping | undefined {
    const file = this.hl7Files.get(messageType);
    if (!file) return undefined;
    const key = `${file.id}\u0000${profile?.id ?? ''}`;
    let compiled = this.hl7Cache.get(key);
    if (!compiled) {
      compiled = compileHl7Mapping(file, profile);
      this.hl7Cache.set(key, compiled);
    }
    return compiled;
  }

  fhir(profile?: SenderProfile): readonly CompiledFhirMapping[] {
    const key = profile?.id ?? '';
    let compiled = this.fhirCache.get(key);
    if (!compiled) {
      compiled = this.fhirFiles.map((f) => compileFhirMapping(f, profile));
      this.fhirCache.set(key, compiled);
    }
    return compiled;
  }

  profile(id: string): SenderProfile {
    const found = this.profiles.get(id);
    if (!found) {
      throw new GatewayError(
        'PAGW_MAP_UNKNOWN_PROFILE',
        `No sender profile '${id}' (known: ${[...this.profiles.keys()].join(', ') || 'none'})`,
      );
    }
    return found;
  }

  /** The first profile whose `match` lists this sender (MSH-3/MSH-4 namespace ids, or the transport sender). */
  matchProfile(facts: {
    sendingApplication?: string;
    sendingFacility?: string;
    sender?: string;
  }): SenderProfile | undefined {
    for (const profile of this.profiles.values()) {
      const match = profile.match;
      if (!match) continue;
      const checks: boolean[] = [];
      if (match.sendingApplication)
        checks.push(match.sendingApplication.includes(facts.sendingApplication ?? ''));
      if (match.sendingFacility) checks.push(match.sendingFacility.includes(facts.sendingFacility ?? ''));
      if (match.senders) checks.push(match.senders.includes(facts.sender ?? ''));
      if (checks.length > 0 && checks.every(Boolean)) return profile;
    }
    return undefined;
  }
}

let builtIn: MappingRegistry | undefined;

/** The registry of the mappings shipped in mappings/, checked once. */
export function defaultRegistry(): MappingRegistry {
  builtIn ??= MappingRegistry.fromData(builtInMappingData);
  return builtIn;
}
