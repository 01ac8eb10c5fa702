/**
 * Checks a resource against a profile's SNAPSHOT, element by element, at every depth — what
 * `validateResource(r, {profile})` of @medplum/core leaves out (it checks a profile's top-level elements only):
 *
 * - cardinality of every constrained element, nested ones included (ClaimResponse.item.adjudication 1..*,
 *   Extension.extension:number 0..1), and of each slice;
 * - fixed[x] (equal) and pattern[x] (contains) values;
 * - required bindings (terminology.ts says how far a value set can be checked);
 * - type profiles: an element typed Extension(extension-reviewAction), Identifier(profile-identifier) or
 *   ClaimResponse(profile-claimresponse) is checked against that profile, recursively; an extension in an open
 *   slice whose URL names a definition we hold is checked against it too (extension contents);
 * - slicing by the discriminators PAS uses: value/pattern on a path (url, category, type, $this), type of
 *   `resource` (Bundle.entry) and of a choice element ($this); closed slicing refuses unmatched values;
 * - references inside a Bundle: the target the reference resolves to is checked against the target profiles
 *   (Claim.patient → PAS Beneficiary), and a resource declaring a PAS profile in meta.profile is checked against it;
 * - the invariants the profiles add (PAS, US Core, CRD: ClaimResponseFirst, us-core-6 …), in FHIRPath.
 *
 * Pure and deterministic. What cannot be checked (a value set or profile we do not hold) is reported as a warning.
 */
import { evalFhirPath, type FhirPathAtom, parseFhirPath } from '@medplum/core';
import type { ElementDefinition, StructureDefinition } from '@medplum/fhirtypes';
import { definitions, versionless } from './definitions.ts';
import { codeMembership, codingMembership, valueSetCodes, valueSetSystems } from './terminology.ts';

export type ProfileIssueCode =
  | 'required'
  | 'cardinality'
  | 'fixed'
  | 'pattern'
  | 'binding'
  | 'slice'
  | 'invariant'
  | 'type'
  | 'reference'
  | 'not-checked';

export interface ProfileIssue {
  readonly severity: 'error' | 'warning';
  readonly code: ProfileIssueCode;
  /** FHIRPath of the offending element (Bundle.entry[0].resource.item[0].adjudication[0]). */
  readonly expression: string;
  readonly message: string;
  /** The profile whose rule this is. */
  readonly profile: string;
}

type Json = Record<string, unknown>;

interface Tree {
  readonly sd: StructureDefinition;
  readonly rootId: string;
  readonly byId: ReadonlyMap<string, ElementDefinition>;
  readonly children: ReadonlyMap<string, readonly ElementDefinition[]>;
  /** The named slices of each sliced child, by `parentId|name` (filled as the walk meets them). */
  readonly slices: Map<string, readonly ElementDefinition[]>;
}

const trees = new Map<string, Tree>();

function treeOf(sd: StructureDefinition): Tree {
  const cached = trees.get(sd.url!);
  if (cached) return cached;
  const elements = sd.snapshot?.element ?? [];
  const byId = new Map<string, ElementDefinition>();
  const children = new Map<string, ElementDefinition[]>();
  for (const e of elements) {
    const id = e.id ?? e.path;
    byId.set(id, e);
    const dot = id.lastIndexOf('.');
    if (dot < 0) continue;
    const parent = id.slice(0, dot);
    const list = children.get(parent) ?? [];
    list.push(e);
    children.set(parent, list);
  }
  const tree = { sd, rootId: elements[0]?.id ?? sd.type!, byId, children, slices: new Map() };
  trees.set(sd.url!, tree);
  return tree;
}

/**
 * What the walk reads off an element definition again and again, worked out once per definition: every outbound
 * ClaimResponse is checked (src/outbound/claim-response.ts), so this is on each decision's path.
 */
interface ElementFacts {
  /** The last segment of the element id: `item`, `extension` of `extension:reviewAction`, `value[x]`. */
  readonly name: string;
  /** The slice name (`reviewAction`), when the element is a slice. */
  readonly slice?: string;
  readonly fixed: unknown;
  readonly pattern: unknown;
}

const elementFacts = new WeakMap<ElementDefinition, ElementFacts>();

function facts(e: ElementDefinition): ElementFacts {
  const known = elementFacts.get(e);
  if (known) return known;
  const id = e.id ?? e.path;
  const last = id.slice(id.lastIndexOf('.') + 1);
  const colon = last.indexOf(':');
  const fixed = fixedOrPattern(e, 'fixed');
  const pattern = fixedOrPattern(e, 'pattern');
  const made: ElementFacts =
    colon < 0
      ? { name: last, fixed, pattern }
      : { name: last.slice(0, colon), slice: last.slice(colon + 1), fixed, pattern };
  elementFacts.set(e, made);
  return made;
}

/** FHIRPath expressions parsed once: evalFhirPath parses a string on every call. */
const parsedExpressions = new Map<string, FhirPathAtom>();

function parsedExpression(expression: string): FhirPathAtom {
  let atom = parsedExpressions.get(expression);
  if (!atom) {
    atom = parseFhirPath(expression);
    parsedExpressions.set(expression, atom);
  }
  return atom;
}

interface Item {
  readonly value: unknown;
  readonly key: string;
  readonly expression: string;
}

function valuesOf(node: Json, name: string, expression: string): Item[] {
  const keys: string[] = [];
  if (name.endsWith('[x]')) {
    const prefix = name.slice(0, -3);
    for (const k of Object.keys(node)) {
      if (k.startsWith(prefix) && /^[A-Z]/.test(k.slice(prefix.length))) keys.push(k);
    }
  } else if (name in node || `_${name}` in node) {
    keys.push(name);
  }
  const items: Item[] = [];
  for (const key of keys) {
    const v = node[key] ?? node[`_${key}`];
    if (Array.isArray(v)) {
      const primitiveExtensions = node[`_${key}`] as unknown[] | undefined;
      const length = Math.max(v.length, primitiveExtensions?.length ?? 0);
      for (let i = 0; i < length; i++) {
        items.push({
          value: v[i] ?? primitiveExtensions?.[i],
          key,
          expression: `${expression}.${key}[${i}]`,
        });
      }
    } else if (v !== undefined && v !== null) {
      items.push({ value: v, key, expression: `${expression}.${key}` });
    }
  }
  return items;
}

function fixedOrPattern(e: ElementDefinition, kind: 'fixed' | 'pattern'): unknown {
  for (const [k, v] of Object.entries(e)) {
    if (k.startsWith(kind) && /^[A-Z]/.test(k.slice(kind.length))) return v;
  }
  return undefined;
}

function deepEqual(a: unknown, b: unknown): boolean {
  return JSON.stringify(a) === JSON.stringify(b);
}

/** FHIR pattern semantics: every property of the pattern is in the value; array items are matched by some item. */
export function matchesPattern(value: unknown, pattern: unknown): boolean {
  if (pattern === null || typeof pattern !== 'object') return value === pattern;
  if (Array.isArray(pattern)) {
    const values = Array.isArray(value) ? value : [value];
    return pattern.every((p) => values.some((v) => matchesPattern(v, p)));
  }
  if (value === null || typeof value !== 'object') return false;
  return Object.entries(pattern as Json).every(([k, p]) => matchesPattern((value as Json)[k], p));
}

function describe(value: unknown): string {
  const text = JSON.stringify(value);
  return text.length > 120 ? `${text.slice(0, 117)}...` : text;
}

/** Per-validation state: the issues found, the bundle to resolve references in, what was checked already. */
export interface WalkContext {
  readonly issues: ProfileIssue[];
  readonly bundle?: { readonly entries: readonly { fullUrl?: string; resource?: Json }[] };
  readonly checked: WeakMap<object, Set<string>>;
  readonly unknownReported: Set<string>;
  /** How many "one of these profiles" alternatives deep the check is (a guard against reference cycles). */
  readonly depth: number;
}

const maxDepth = 6;

export function newContext(bundle?: Json): WalkContext {
  const entries =
    bundle?.resourceType === 'Bundle' && Array.isArray(bundle.entry)
      ? (bundle.entry as { fullUrl?: string; resource?: Json }[])
      : undefined;
  return {
    issues: [],
    ...(entries ? { bundle: { entries } } : {}),
    checked: new WeakMap(),
    unknownReported: new Set(),
    depth: 0,
  };
}

function report(
  ctx: WalkContext,
  tree: Tree,
  severity: ProfileIssue['severity'],
  code: ProfileIssueCode,
  expression: string,
  message: string,
): void {
  ctx.issues.push({ severity, code, expression, message, profile: tree.sd.url! });
}

function notChecked(ctx: WalkContext, tree: Tree, expression: string, what: string): void {
  if (ctx.unknownReported.has(what)) return;
  ctx.unknownReported.add(what);
  report(
    ctx,
    tree,
    'warning',
    'not-checked',
    expression,
    `not checked: ${what} is not among the definitions held`,
  );
}

/** Checks `value` against the profile `url`; returns false when the profile is unknown. */
export function checkAgainstProfile(
  value: unknown,
  url: string,
  expression: string,
  ctx: WalkContext,
): boolean {
  const sd = definitions().structureDefinition(url);
  if (!sd?.snapshot) return false;
  if (value === null || typeof value !== 'object') return true;
  const seen = ctx.checked.get(value as object) ?? new Set<string>();
  if (seen.has(sd.url!)) return true;
  seen.add(sd.url!);
  ctx.checked.set(value as object, seen);
  const tree = treeOf(sd);
  const node = value as Json;
  if (sd.kind === 'resource' && node.resourceType !== sd.type) {
    report(
      ctx,
      tree,
      'error',
      'type',
      expression,
      `expected a ${sd.type}, found ${String(node.resourceType)}`,
    );
    return true;
  }
  const root = tree.byId.get(tree.rootId);
  if (root) checkInvariants(ctx, tree, root, node, expression);
  checkChildren(ctx, tree, tree.rootId, node, expression);
  return true;
}

function checkChildren(ctx: WalkContext, tree: Tree, parentId: string, node: Json, expression: string): void {
  const children = tree.children.get(parentId) ?? [];
  for (const element of children) {
    const { name, slice } = facts(element);
    if (slice !== undefined) continue; // slices are checked with their base element
    const items = valuesOf(node, name, expression);
    const where = `${expression}.${name}`;
    checkCount(ctx, tree, element, items.length, where, element.path);
    const slices = slicesOf(tree, parentId, name, children);
    const assigned = new Map<ElementDefinition, Item[]>();
    const unmatched: Item[] = [];
    for (const item of items) {
      const target = slices.find((s) => inSlice(tree, element, s, item));
      if (target) assigned.set(target, [...(assigned.get(target) ?? []), item]);
      else unmatched.push(item);
      checkValue(ctx, tree, element, item, !target);
    }
    for (const s of slices) {
      const mine = assigned.get(s) ?? [];
      checkCount(ctx, tree, s, mine.length, where, `${element.path}:${facts(s).slice}`);
      for (const item of mine) checkValue(ctx, tree, s, item, false);
    }
    if (element.slicing?.rules === 'closed' && slices.length > 0) {
      for (const item of unmatched) {
        report(
          ctx,
          tree,
          'error',
          'slice',
          item.expression,
          `matches none of the slices of ${element.path} (closed)`,
        );
      }
    }
  }
}

function slicesOf(
  tree: Tree,
  parentId: string,
  name: string,
  children: readonly ElementDefinition[],
): readonly ElementDefinition[] {
  const key = `${parentId}|${name}`;
  let slices = tree.slices.get(key);
  if (!slices) {
    slices = children.filter((c) => {
      const s = facts(c);
      return s.name === name && s.slice !== undefined && !s.slice.includes('/');
    });
    tree.slices.set(key, slices);
  }
  return slices;
}

function checkCount(
  ctx: WalkContext,
  tree: Tree,
  element: ElementDefinition,
  count: number,
  expression: string,
  label: string,
): void {
  const min = element.min ?? 0;
  const max = element.max ?? '*';
  if (count < min) {
    report(
      ctx,
      tree,
      'error',
      'required',
      expression,
      `${label}: minimum cardinality ${min}, found ${count}`,
    );
  } else if (max !== '*' && count > Number(max)) {
    report(
      ctx,
      tree,
      'error',
      'cardinality',
      expression,
      max === '0' ? `${label} is not allowed here` : `${label}: maximum cardinality ${max}, found ${count}`,
    );
  }
}

/** The value a slice fixes at a discriminator path, from the slice's own child element (or its type profile). */
function sliceValueAt(tree: Tree, slice: ElementDefinition, path: string): unknown {
  if (path === '$this') return facts(slice).fixed ?? facts(slice).pattern;
  const child = tree.byId.get(`${slice.id}.${path}`);
  const own = child ? (facts(child).fixed ?? facts(child).pattern) : undefined;
  if (own !== undefined) return own;
  if (path === 'url') {
    const profile = slice.type?.[0]?.profile?.[0];
    if (profile) return versionless(profile);
  }
  return undefined;
}

function inSlice(tree: Tree, base: ElementDefinition, slice: ElementDefinition, item: Item): boolean {
  const discriminators = base.slicing?.discriminator ?? [];
  if (discriminators.length === 0) return false;
  return discriminators.every((d) => {
    if (d.type === 'type' && d.path === '$this') {
      const sliceName = facts(slice).slice!;
      const code = slice.type?.[0]?.code ?? '';
      const prefix = facts(base).name.replace('[x]', '');
      return item.key === sliceName || item.key === prefix + code.charAt(0).toUpperCase() + code.slice(1);
    }
    if (d.type === 'type' || d.type === 'profile') {
      const child = tree.byId.get(`${slice.id}.${d.path}`);
      const wanted = child?.type?.[0]?.code;
      const resource = (item.value as Json | undefined)?.[d.path] as Json | undefined;
      return wanted !== undefined && resource?.resourceType === wanted;
    }
    if (d.type === 'value' || d.type === 'pattern') {
      if (!/^[A-Za-z$][A-Za-z0-9]*$/.test(d.path)) return false; // FHIRPath discriminators we do not evaluate
      const expected = sliceValueAt(tree, slice, d.path);
      if (expected === undefined) return false;
      const actual = d.path === '$this' ? item.value : (item.value as Json | undefined)?.[d.path];
      return d.type === 'value' && typeof expected !== 'object'
        ? actual === expected
        : matchesPattern(actual, expected);
    }
    return false;
  });
}

function checkValue(
  ctx: WalkContext,
  tree: Tree,
  element: ElementDefinition,
  item: Item,
  unsliced: boolean,
): void {
  const { fixed, pattern } = facts(element);
  if (fixed !== undefined && !deepEqual(item.value, fixed)) {
    report(
      ctx,
      tree,
      'error',
      'fixed',
      item.expression,
      `must be exactly ${describe(fixed)}, found ${describe(item.value)}`,
    );
  }
  if (pattern !== undefined && !matchesPattern(item.value, pattern)) {
    report(
      ctx,
      tree,
      'error',
      'pattern',
      item.expression,
      `must match the pattern ${describe(pattern)}, found ${describe(item.value)}`,
    );
  }
  if (element.binding?.strength === 'required' && element.binding.valueSet) {
    checkBinding(ctx, tree, element.binding.valueSet, item);
  }
  checkInvariants(ctx, tree, element, item.value, item.expression);
  if (item.value === null || typeof item.value !== 'object') return;
  const node = item.value as Json;

  const types = element.type ?? [];
  const profiles = types.flatMap((t) => t.profile ?? []);
  if (profiles.length > 0) {
    const known = profiles.filter((p) => definitions().structureDefinition(p)?.snapshot);
    for (const p of profiles) {
      if (!known.includes(p) && !isCoreType(p)) notChecked(ctx, tree, item.expression, `profile ${p}`);
    }
    // Several profiles on one type: the value must conform to at least one of them.
    checkOneOf(ctx, node, known, item.expression);
  } else if (unsliced && types[0]?.code === 'Extension' && typeof node.url === 'string') {
    // An extension outside the named slices: check its contents when we hold its definition.
    checkAgainstProfile(node, node.url, item.expression, ctx);
  }
  if (typeof node.resourceType === 'string') checkDeclaredProfiles(ctx, node, item.expression);
  if (types.some((t) => t.code === 'Reference') && typeof node.reference === 'string') {
    checkReference(
      ctx,
      tree,
      types.flatMap((t) => t.targetProfile ?? []),
      node.reference,
      item.expression,
    );
  }

  const id = element.id ?? element.path;
  if (tree.children.has(id)) checkChildren(ctx, tree, id, node, item.expression);
  else if (element.contentReference) {
    const target = element.contentReference.slice(element.contentReference.indexOf('#') + 1);
    if (tree.children.has(target)) checkChildren(ctx, tree, target, node, item.expression);
  }
}

function isCoreType(url: string): boolean {
  const bare = versionless(url);
  return bare.startsWith('http://hl7.org/fhir/StructureDefinition/') && /\/[A-Z][A-Za-z]+$/.test(bare);
}

/** The base resource or data type a profile constrains, when we can tell. */
function typeOfProfile(url: string): string | undefined {
  if (isCoreType(url)) return versionless(url).split('/').pop();
  return definitions().structureDefinition(url)?.type;
}

/**
 * Checks `value` against profiles of which ONE must hold: each on a scratch context, keeping the issues of the
 * first that holds, or of the one with the fewest errors.
 */
function checkOneOf(ctx: WalkContext, value: Json, profiles: readonly string[], expression: string): void {
  if (profiles.length === 1) {
    checkAgainstProfile(value, profiles[0]!, expression, ctx);
    return;
  }
  if (profiles.length === 0 || ctx.depth > maxDepth) return;
  let best: ProfileIssue[] | undefined;
  for (const p of profiles) {
    const scratch: WalkContext = { ...ctx, issues: [], checked: new WeakMap(), depth: ctx.depth + 1 };
    checkAgainstProfile(value, p, expression, scratch);
    const errors = scratch.issues.filter((i) => i.severity === 'error').length;
    if (!best || errors < best.filter((i) => i.severity === 'error').length) best = scratch.issues;
    if (errors === 0) break;
  }
  for (const issue of best ?? []) {
    if (!ctx.issues.some((i) => i.expression === issue.expression && i.message === issue.message)) {
      ctx.issues.push(issue);
    }
  }
}

/** A resource's meta.profile naming a profile we hold: checked against it, like the HL7 validator does. */
export function checkDeclaredProfiles(ctx: WalkContext, resource: Json, expression: string): void {
  const declared = ((resource.meta as Json | undefined)?.profile as string[] | undefined) ?? [];
  for (const p of declared) checkAgainstProfile(resource, p, expression, ctx);
}

function checkBinding(ctx: WalkContext, tree: Tree, valueSet: string, item: Item): void {
  const value = item.value;
  const expected = () => {
    const codes = valueSetCodes(valueSet);
    return codes ? `one of ${codes.join(', ')}` : `a code from ${valueSetSystems(valueSet).join(' or ')}`;
  };
  if (typeof value === 'string') {
    const m = codeMembership(valueSet, value);
    if (m === 'unknown') notChecked(ctx, tree, item.expression, `value set ${valueSet}`);
    else if (m === 'not-member')
      report(
        ctx,
        tree,
        'error',
        'binding',
        item.expression,
        `'${value}' is not in ${valueSet} (required): expected ${expected()}`,
      );
    return;
  }
  if (value === null || typeof value !== 'object') return;
  const node = value as Json;
  const codings = (
    Array.isArray(node.coding) ? node.coding : 'code' in node && !('value' in node) ? [node] : undefined
  ) as { system?: string; code?: string }[] | undefined;
  if (!codings) {
    if ('text' in node || Object.keys(node).length === 0) {
      report(
        ctx,
        tree,
        'error',
        'binding',
        item.expression,
        `no coding: a code from ${valueSet} is required`,
      );
    }
    return;
  }
  const results = codings.map((c) => (c.code ? codingMembership(valueSet, c.system, c.code) : 'not-member'));
  if (results.includes('member')) return;
  if (results.length > 0 && results.every((r) => r === 'unknown')) {
    notChecked(ctx, tree, item.expression, `value set ${valueSet}`);
    return;
  }
  const found = codings.map((c) => `${c.system ?? '(no system)'}|${c.code ?? ''}`).join(', ');
  report(
    ctx,
    tree,
    'error',
    'binding',
    item.expression,
    `${found || 'no coding'} is not in ${valueSet} (required): expected ${expected()}`,
  );
}

function checkInvariants(
  ctx: WalkContext,
  tree: Tree,
  element: ElementDefinition,
  value: unknown,
  expression: string,
): void {
  for (const c of element.constraint ?? []) {
    if (c.severity !== 'error' || !c.expression) continue;
    // Terminology inside FHIRPath (memberOf) needs a terminology server: the bindings above cover what we can.
    if (c.expression.includes('memberOf(')) continue;
    let result: unknown[];
    try {
      result = evalFhirPath(parsedExpression(c.expression), value as Json);
    } catch {
      notChecked(ctx, tree, expression, `invariant ${c.key}`);
      continue;
    }
    if (result.length === 1 && result[0] === false) {
      report(
        ctx,
        tree,
        'error',
        'invariant',
        expression,
        `invariant ${c.key} failed: ${c.human ?? c.expression}`,
      );
    }
  }
}

function resolveInBundle(ctx: WalkContext, reference: string): { resource: Json; index: number } | undefined {
  const entries = ctx.bundle?.entries;
  if (!entries) return undefined;
  const index = entries.findIndex((e) => {
    if (e.fullUrl === reference) return true;
    if (e.fullUrl?.endsWith(`/${reference}`)) return true;
    const r = e.resource;
    return r !== undefined && `${String(r.resourceType)}/${String(r.id)}` === reference;
  });
  const resource = index >= 0 ? entries[index]?.resource : undefined;
  return resource ? { resource, index } : undefined;
}

function checkReference(
  ctx: WalkContext,
  tree: Tree,
  targetProfiles: readonly string[],
  reference: string,
  expression: string,
): void {
  const found = resolveInBundle(ctx, reference);
  if (!found || targetProfiles.length === 0) return; // outside the bundle: the receiver may hold it already
  const actual = String(found.resource.resourceType);
  const types = targetProfiles.map(typeOfProfile);
  const anyResource = types.includes('Resource') || types.includes('DomainResource');
  if (!anyResource && types.every((t) => t !== undefined) && !types.includes(actual)) {
    report(
      ctx,
      tree,
      'error',
      'reference',
      expression,
      `refers to a ${actual}; expected ${[...new Set(types)].join(' or ')}`,
    );
    return;
  }
  const candidates = targetProfiles.filter(
    (p) => !isCoreType(p) && definitions().structureDefinition(p)?.type === actual,
  );
  checkOneOf(ctx, found.resource, candidates, `Bundle.entry[${found.index}].resource`);
}
