/**
 * FHIR R4 orders → canonical requests. The payload (a ServiceRequest, DeviceRequest or MedicationRequest with
 * contained resources, or a Bundle — collection, transaction, or a Da Vinci PAS request bundle) is checked
 * against every mapping's payload rejections (a PAS response, an inquiry, an update …), then the mapping with
 * the highest priority that finds orders in it maps each order. Values are extracted with FHIRPath
 * (@medplum/core), references resolved inside the payload.
 * @see http://hl7.org/fhir/us/davinci-pas/ (PAS request bundle)
 */
import { evalFhirPath, type FhirPathAtom, parseFhirPath } from '@medplum/core';
import type { Resource } from '@medplum/fhirtypes';
import {
  applyRules,
  type CompiledRule,
  compileRule,
  type Found,
  normalizeRequest,
  overrideRules,
  type UnitResult,
  type UnitSource,
} from '../engine.ts';
import { tooManyOrderGroups } from '../limits.ts';
import { type MappingProblem, problem } from '../problems.ts';
import type { CodeTables } from '../tables.ts';
import type { FhirFieldRule, FhirMapping, FhirResourceLink, SenderProfile } from '../types.generated.ts';
import { type Located, PayloadIndex, referenceText } from './payload.ts';
import { type FhirReadContext, type FhirReader, fhirReader } from './readers.ts';

export interface FhirPathExpression {
  readonly text: string;
  /** Absent for `$this` (the scope resource itself). */
  readonly atom?: FhirPathAtom;
  /** For plain member navigation (`payor.identifier.value`): the member names, walked without the engine. */
  readonly members?: readonly string[];
}

interface FhirRule extends CompiledRule<FhirPathExpression> {
  readonly scope: string;
  readonly reader: FhirReader;
}

interface CompiledLink {
  readonly name: string;
  readonly from: string;
  readonly paths: readonly FhirPathExpression[];
  readonly types: readonly string[];
  readonly orSelf: boolean;
  readonly all: boolean;
  readonly required?: string;
}

export interface CompiledFhirMapping {
  readonly id: string;
  readonly priority: number;
  readonly sourceFormat: 'fhir' | 'pas';
  readonly resourceTypes: readonly string[];
  readonly where?: FhirPathExpression;
  readonly notOrder?: string;
  readonly rejections: ReadonlyArray<{
    when: FhirPathExpression;
    code: MappingProblem['code'];
    message: string;
  }>;
  readonly links: readonly CompiledLink[];
  readonly rules: readonly FhirRule[];
}

/**
 * Names without capitals only: the engine is type-aware and reads a name like `valueString` or
 * `servicedDate` as the whole choice element (value[x], serviced[x]); those always go to the engine.
 */
const memberPath = /^[a-z][a-z0-9]*(\.[a-z][a-z0-9]*)*$/;

export function compileFhirPath(text: string): FhirPathExpression {
  if (text === '$this') return { text };
  const atom = parseFhirPath(text);
  return memberPath.test(text) ? { text, atom, members: text.split('.') } : { text, atom };
}

const noMatch = Symbol('fallback');

/**
 * Member navigation as FHIRPath defines it on JSON (collections flattened, empty values dropped), for the
 * common case of plain names. Returns `noMatch` whenever the engine's answer could differ: a name that may be
 * a choice type (`occurrence` → occurrenceDateTime) or a primitive's extension.
 */
function walkMembers(members: readonly string[], resource: unknown): unknown[] | typeof noMatch {
  let current: unknown[] = [resource];
  for (const name of members) {
    const next: unknown[] = [];
    for (const item of current) {
      if (typeof item !== 'object' || item === null || Array.isArray(item)) return noMatch;
      const value = (item as Record<string, unknown>)[name];
      if (value === undefined) {
        for (const key in item) {
          if (key.length > name.length && key.startsWith(name) && /[A-Z]/.test(key[name.length]!))
            return noMatch;
          if (key === `_${name}`) return noMatch;
        }
        continue;
      }
      if (Array.isArray(value)) {
        for (const v of value) if (v !== null && v !== undefined) next.push(v);
      } else if (value !== null) {
        next.push(value);
      }
    }
    current = next;
    if (current.length === 0) return current;
  }
  return current;
}

/** FHIRPath on a value: member navigation directly when that gives the engine's answer, else @medplum/core. */
export function evaluateFhirPath(expression: FhirPathExpression, resource: unknown): unknown[] {
  if (!expression.atom) return [resource];
  if (expression.members) {
    const walked = walkMembers(expression.members, resource);
    if (walked !== noMatch) return walked;
  }
  return evalFhirPath(expression.atom, resource);
}

/**
 * Evaluates FHIRPath on a resource. FHIRPath engines assume valid FHIR (an `extension` that is an array …);
 * on a malformed resource the evaluation fails, and that is reported as a problem at the path, not thrown.
 */
function evaluate(
  expression: FhirPathExpression,
  resource: unknown,
  problems: MappingProblem[],
  location: string,
): unknown[] {
  try {
    return evaluateFhirPath(expression, resource);
  } catch {
    problems.push(
      problem(
        'PAGW_MAP_INVALID_VALUE',
        location,
        'cannot be read: the resource is not valid FHIR at this path',
      ),
    );
    return [];
  }
}

function list<T>(value: T | T[] | undefined): T[] {
  return value === undefined ? [] : Array.isArray(value) ? value : [value];
}

export function compileFhirMapping(mapping: FhirMapping, profile?: SenderProfile): CompiledFhirMapping {
  const links = Object.entries(mapping.resources ?? {}).map(
    ([name, link]: [string, FhirResourceLink]): CompiledLink => ({
      name,
      from: link.from,
      paths: list(link.path).map(compileFhirPath),
      types: link.types,
      orSelf: link.orSelf ?? false,
      all: link.all ?? false,
      required: link.required,
    }),
  );
  const rules = overrideRules<FhirFieldRule>(mapping.fields ?? [], profile?.fhirFields ?? []).map(
    (rule): FhirRule => ({
      ...compileRule(rule, list(rule.from).map(compileFhirPath)),
      scope: rule.scope ?? 'order',
      reader: fhirReader(rule.read ?? 'string'),
    }),
  );
  return {
    id: mapping.id,
    priority: mapping.priority ?? 0,
    sourceFormat: mapping.sourceFormat ?? 'fhir',
    resourceTypes: mapping.select?.resourceTypes ?? [],
    where: mapping.select?.where ? compileFhirPath(mapping.select.where) : undefined,
    notOrder: mapping.select?.notOrder,
    rejections: (mapping.rejectPayload ?? []).map((r) => ({
      when: compileFhirPath(r.when),
      code: r.code,
      message: r.message,
    })),
    links,
    rules,
  };
}

function truthy(values: unknown[]): boolean {
  return values.length > 0 && values.every((v) => v !== false);
}

const acceptedBundleTypes = new Set(['collection', 'transaction', 'batch', 'message', 'document']);

/** Request statuses that withdraw an order (ServiceRequest/DeviceRequest revoked, MedicationRequest cancelled …). */
const withdrawnStatuses: ReadonlySet<string> = new Set([
  'revoked',
  'entered-in-error',
  'cancelled',
  'stopped',
]);

export interface FhirMapResult {
  readonly mapping?: CompiledFhirMapping;
  readonly units: Array<UnitResult & { readonly order: Located; readonly control?: 'cancel' }>;
}

function where(located: Located): string {
  return located.resource.resourceType;
}

/** Follows the mapping's links from the order: name → the resources reached (empty when none resolve). */
function resolveLinks(
  index: PayloadIndex,
  mapping: CompiledFhirMapping,
  order: Located,
  problems: MappingProblem[],
): Map<string, Located[]> {
  const context = new Map<string, Located[]>([['order', [order]]]);
  for (const link of mapping.links) {
    const sources = context.get(link.from) ?? [];
    const reached: Located[] = [];
    let dangling: string | undefined;
    let wrongType: string | undefined;
    for (const source of sources) {
      if (link.orSelf && link.types.includes(source.resource.resourceType)) {
        reached.push(source);
        continue;
      }
      for (const path of link.paths) {
        const before = reached.length;
        const location = `${source.resource.resourceType}.${path.text}`;
        for (const value of evaluate(path, source.resource, problems, location)) {
          const ref = referenceText(value);
          if (!ref) continue;
          const found = index.resolve(ref, source);
          if (!found) dangling ??= path.text;
          else if (!link.types.includes(found.resource.resourceType)) wrongType ??= path.text;
          else reached.push(found);
        }
        if (reached.length > before) break;
      }
    }
    const unique = reached.filter((r, i) => reached.findIndex((o) => o.resource === r.resource) === i);
    context.set(link.name, link.all ? unique : unique.slice(0, 1));
    if (unique.length === 0 && link.required && sources.length > 0) {
      const from = sources[0]!;
      const why = dangling
        ? 'the reference does not resolve to a resource in the payload (send a Bundle holding it, or contain it)'
        : wrongType
          ? `the reference is not to a ${link.types.join(' or ')}`
          : 'nothing is referenced';
      const path = dangling ?? wrongType ?? link.paths[0]!.text;
      problems.push(problem('PAGW_MAP_MISSING_FIELD', `${where(from)}.${path}`, `${link.required}: ${why}`));
    }
  }
  return context;
}

function unitSource(
  index: PayloadIndex,
  context: Map<string, Located[]>,
  tables: CodeTables,
  sender: string,
): UnitSource<FhirPathExpression> {
  return {
    find(rule, report) {
      const fhirRule = rule as FhirRule;
      const resources = context.get(fhirRule.scope) ?? [];
      const found: Found[] = [];
      for (const path of rule.paths) {
        for (const located of resources) {
          const location = path.atom
            ? `${located.resource.resourceType}.${path.text}`
            : located.resource.resourceType;
          const ctx: FhirReadContext = {
            index,
            from: located,
            location,
            tables,
            sender,
            report: (p) => report({ ...p, location }),
          };
          const problems: MappingProblem[] = [];
          const values = evaluate(path, located.resource, problems, location);
          for (const p of problems) report(p);
          for (const value of values) {
            const read = fhirRule.reader(value, ctx);
            if (read === undefined) continue;
            if (Array.isArray(read)) {
              for (const item of read) found.push({ value: item, location });
            } else {
              found.push({ value: read, location });
            }
            if (!rule.all && found.length > 0) return found.slice(0, 1);
          }
        }
        if (found.length > 0 && !rule.all) return found;
      }
      return found;
    },
    missing(rule) {
      const fhirRule = rule as FhirRule;
      const resource = context.get(fhirRule.scope)?.[0];
      if (!resource) return undefined; // the missing resource itself is already reported
      const path = rule.paths[0];
      return {
        location: path?.atom
          ? `${resource.resource.resourceType}.${path.text}`
          : resource.resource.resourceType,
      };
    },
  };
}

/**
 * Bundle.type as text. Only a string is taken as it is: a fuzzed Bundle whose `type` was an object with an own
 * `toString` made String() throw a TypeError instead of the refusal naming Bundle.type.
 */
export function bundleTypeLabel(bundle: object): string {
  const type = (bundle as { type?: unknown }).type;
  if (typeof type === 'string') return type;
  return `(${type === null ? 'null' : Array.isArray(type) ? 'array' : typeof type})`;
}

/** Maps the payload with the first mapping (by priority) that finds orders in it. */
export function mapFhirPayload(
  root: Resource,
  mappings: readonly CompiledFhirMapping[],
  tables: CodeTables,
  sender: string,
  problems: MappingProblem[],
  maxOrders: number = Number.POSITIVE_INFINITY,
): FhirMapResult {
  const checked = new Set<string>(); // mappings extending one base share its rejections: evaluate each once
  for (const mapping of mappings) {
    for (const rejection of mapping.rejections) {
      if (checked.has(rejection.when.text)) continue;
      checked.add(rejection.when.text);
      if (truthy(evaluate(rejection.when, root, problems, root.resourceType))) {
        problems.push(problem(rejection.code, root.resourceType, rejection.message));
        return { units: [] };
      }
    }
  }
  if (root.resourceType === 'Bundle' && !acceptedBundleTypes.has(bundleTypeLabel(root))) {
    problems.push(
      problem(
        'PAGW_MAP_UNSUPPORTED_MESSAGE',
        'Bundle.type',
        `a Bundle of type '${bundleTypeLabel(root)}' is not an order submission (send a collection, transaction or batch)`,
      ),
    );
    return { units: [] };
  }
  const index = new PayloadIndex(root);
  const notOrders: string[] = [];
  for (const mapping of mappings) {
    const candidates = index.top.filter((t) => mapping.resourceTypes.includes(t.resource.resourceType));
    if (candidates.length > maxOrders) {
      // Before any order is evaluated: 10,000 orders in one Bundle are refused in milliseconds.
      problems.push(
        tooManyOrderGroups(candidates.length, maxOrders, { format: 'fhir', types: mapping.resourceTypes }),
      );
      return { units: [] };
    }
    const orders = mapping.where
      ? candidates.filter((c) =>
          truthy(
            evaluate(
              mapping.where!,
              c.resource,
              problems,
              `${c.resource.resourceType}.${mapping.where!.text}`,
            ),
          ),
        )
      : candidates;
    if (orders.length === 0) {
      if (candidates.length > 0 && mapping.notOrder) notOrders.push(mapping.notOrder);
      continue;
    }
    const units: FhirMapResult['units'] = [];
    for (const order of orders) {
      const context = resolveLinks(index, mapping, order, problems);
      const result = applyRules(mapping.rules, unitSource(index, context, tables, sender), tables, problems);
      normalizeRequest(result.request);
      // A request the EHR withdrew (ServiceRequest revoked …) is not a new order: read, so intake can cancel its case.
      const status = (order.resource as { status?: unknown }).status;
      const withdrawn = typeof status === 'string' && withdrawnStatuses.has(status);
      if (withdrawn)
        problems.push(
          problem(
            'PAGW_MAP_NOT_NEW_ORDER',
            `${order.resource.resourceType}.status`,
            `status '${status}' withdraws the order: it is not a new order`,
          ),
        );
      units.push({ ...result, order, ...(withdrawn ? { control: 'cancel' as const } : {}) });
    }
    return { mapping, units };
  }
  if (notOrders.length > 0) {
    for (const message of notOrders)
      problems.push(problem('PAGW_MAP_NOT_NEW_ORDER', root.resourceType, message));
    return { units: [] };
  }
  const kinds = [...new Set(mappings.flatMap((m) => m.resourceTypes))].join(', ');
  problems.push(
    problem(
      'PAGW_MAP_UNSUPPORTED_MESSAGE',
      root.resourceType,
      root.resourceType === 'Bundle'
        ? `wrong payload type: the Bundle holds no order (${kinds})`
        : `wrong payload type: a ${root.resourceType} is not an order (send a ${kinds}, or a Bundle holding one)`,
    ),
  );
  return { units: [] };
}
