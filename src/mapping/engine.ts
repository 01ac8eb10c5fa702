/**
 * The one mapping engine. A mapping file is a list of rules `{ target, from, read, table, required … }`; a
 * format (HL7 v2, FHIR) only says how to find and read what a rule's `from` names in one order (a "unit").
 * The engine applies the rules in order — the first rule that yields a value for a target wins, rules with
 * `all` collect into an array — translates through code tables, reports every required target left empty at
 * its source position, tidies the result and validates it against the canonical schema, pointing each schema
 * problem back at the source field it came from.
 */
import { type AuthorizationRequest, checkAuthorizationRequest } from '../canonical/index.ts';
import { type Hl7Position, type MappingProblem, problem } from './problems.ts';
import type { CodeTables, TableValue } from './tables.ts';
import { getTarget, parseTarget, setTarget, type TargetPath, targetJsonPath } from './target.ts';
import type { Constant } from './types.generated.ts';

export interface CompiledRule<P> {
  readonly targetText: string;
  readonly target: TargetPath;
  readonly jsonPath: string;
  readonly paths: readonly P[];
  readonly all: boolean;
  readonly table?: string;
  readonly value?: Constant;
  readonly default?: Constant;
  readonly required?: string;
}

/** One value a rule found, already read by its datatype reader, and where it came from. */
export interface Found {
  readonly value: unknown;
  readonly location: string;
  readonly hl7?: Hl7Position;
}

export interface SourceLocation {
  readonly location: string;
  readonly hl7?: Hl7Position;
}

/** What a format provides for one unit (an order group, an order resource). */
export interface UnitSource<P> {
  /** The values the rule's paths yield (only the first unless rule.all); problems go to `report`. */
  find(rule: CompiledRule<P>, report: (problem: MappingProblem) => void): Found[];
  /** Where a required-but-empty target is reported; undefined when a broader problem already covers it. */
  missing(rule: CompiledRule<P>): SourceLocation | undefined;
}

export function compileRule<P>(
  rule: {
    target: string;
    all?: boolean;
    table?: string;
    value?: Constant;
    default?: Constant;
    required?: string;
  },
  paths: readonly P[],
): CompiledRule<P> {
  const target = parseTarget(rule.target);
  return {
    targetText: rule.target,
    target,
    jsonPath: targetJsonPath(target),
    paths,
    all: rule.all ?? false,
    table: rule.table,
    value: rule.value,
    default: rule.default,
    required: rule.required,
  };
}

/** Replaces rules by target: each override target drops every base rule of that target. */
export function overrideRules<R extends { target: string }>(
  base: readonly R[],
  overrides: readonly R[],
): R[] {
  if (overrides.length === 0) return [...base];
  const replaced = new Set(overrides.map((r) => r.target));
  const out: R[] = [];
  let inserted = false;
  for (const rule of base) {
    if (!replaced.has(rule.target)) {
      out.push(rule);
      continue;
    }
    if (!inserted) {
      out.push(...overrides.filter((o) => replaced.has(o.target)));
      inserted = true;
    }
  }
  if (!inserted) out.push(...overrides);
  return out;
}

function isSet(value: unknown): boolean {
  return value !== undefined && !(Array.isArray(value) && value.length === 0);
}

export interface UnitResult {
  readonly request: Record<string, unknown>;
  /** JSON path of each target set → the source location it was read from. */
  readonly origins: ReadonlyMap<string, SourceLocation>;
}

/** Applies rules to one unit. Problems (errors and warnings) are appended to `problems`. */
export function applyRules<P>(
  rules: readonly CompiledRule<P>[],
  source: UnitSource<P>,
  tables: CodeTables,
  problems: MappingProblem[],
): UnitResult {
  const request: Record<string, unknown> = {};
  const origins = new Map<string, SourceLocation>();
  const required = new Map<string, CompiledRule<P>>();
  const report = (p: MappingProblem) => problems.push(p);

  for (const rule of rules) {
    if (rule.required && !required.has(rule.targetText)) required.set(rule.targetText, rule);
    const current = getTarget(request, rule.target);
    if (rule.value !== undefined) {
      if (!isSet(current)) setTarget(request, rule.target, rule.all ? [rule.value] : rule.value);
      continue;
    }
    if (!rule.all && isSet(current)) continue;
    if (rule.paths.length === 0) continue;
    let found = source.find(rule, report);
    if (rule.table) found = translate(found, rule.table, tables, report);
    if (found.length > 0) {
      if (rule.all) {
        const list = Array.isArray(current) ? current : [];
        setTarget(request, rule.target, [...list, ...found.map((f) => f.value)]);
      } else {
        setTarget(request, rule.target, found[0]!.value);
      }
      if (!origins.has(rule.jsonPath)) origins.set(rule.jsonPath, found[0]!);
      continue;
    }
    if (rule.default !== undefined && !isSet(current)) {
      setTarget(request, rule.target, rule.all ? [rule.default] : rule.default);
    }
  }

  for (const [, rule] of required) {
    if (isSet(getTarget(request, rule.target))) continue;
    const where = source.missing(rule);
    if (where)
      report(
        problem('PAGW_MAP_MISSING_FIELD', where.location, rule.required!, {
          hl7: where.hl7,
          target: rule.targetText,
        }),
      );
  }
  return { request, origins };
}

function translate(
  found: Found[],
  table: string,
  tables: CodeTables,
  report: (problem: MappingProblem) => void,
): Found[] {
  const out: Found[] = [];
  for (const f of found) {
    const code = typeof f.value === 'string' ? f.value : String(f.value);
    const value: TableValue | undefined = tables.lookup(table, code);
    if (value === undefined) {
      report(
        problem('PAGW_MAP_INVALID_VALUE', f.location, `code '${code}' is not in table ${table}`, {
          hl7: f.hl7,
        }),
      );
      continue;
    }
    out.push({ ...f, value });
  }
  return out;
}

function codingKey(value: unknown): string {
  const coding = (value as { code?: { system?: string; code?: string } }).code;
  return `${coding?.system ?? ''}|${coding?.code ?? ''}`;
}

/**
 * Tidies a mapped request the same way for every format: diagnoses primary first without duplicates, service
 * lines numbered, empty arrays the schema does not require dropped.
 */
export function normalizeRequest(request: Record<string, unknown>): void {
  const diagnoses = (request.diagnoses as Array<{ primary?: boolean }> | undefined) ?? [];
  const seen = new Set<string>();
  const unique = diagnoses.filter((d) => {
    const key = codingKey(d);
    if (seen.has(key)) return false;
    seen.add(key);
    return true;
  });
  request.diagnoses = [...unique.filter((d) => d.primary), ...unique.filter((d) => !d.primary)];
  const lines = request.serviceLines as Array<Record<string, unknown>> | undefined;
  if (Array.isArray(lines)) {
    lines.forEach((line, i) => {
      if (line.sequence === undefined) line.sequence = i + 1;
      if (Array.isArray(line.alternateCodes) && line.alternateCodes.length === 0) delete line.alternateCodes;
    });
  }
  for (const key of ['notes', 'supportingDocuments'] as const) {
    if (Array.isArray(request[key]) && (request[key] as unknown[]).length === 0) delete request[key];
  }
}

/**
 * Validates against the canonical schema. A problem under a path some rule wrote is reported at that rule's
 * source (`OBR-4 ($.serviceLines[0].code.code)`), so the sender learns which field to fix.
 */
export function validateRequest(
  candidate: Record<string, unknown>,
  origins: ReadonlyMap<string, SourceLocation>,
  problems: MappingProblem[],
): AuthorizationRequest | undefined {
  const result = checkAuthorizationRequest(candidate);
  if (result.ok) return result.value;
  for (const p of result.problems) {
    let best: { path: string; where: SourceLocation } | undefined;
    for (const [path, where] of origins) {
      const covers =
        p.location === path || p.location.startsWith(`${path}.`) || p.location.startsWith(`${path}[`);
      if (covers && (!best || path.length > best.path.length)) best = { path, where };
    }
    problems.push(
      best
        ? problem('PAGW_VALIDATION_FAILED', `${best.where.location} (${p.location})`, p.message, {
            hl7: best.where.hl7,
          })
        : problem('PAGW_VALIDATION_FAILED', p.location, p.message),
    );
  }
  return undefined;
}
