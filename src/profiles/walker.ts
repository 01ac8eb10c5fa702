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
 *
 * This file is the walk: a profile, its elements and their values, and the checks that recurse into the walk
 * (type profiles, extension contents, references). The rest is beside it: snapshot-tree.ts (the snapshot as the
 * walk reads it), walk-context.ts (issues and per-validation state), cardinality-fixed-pattern.ts, slices.ts,
 * bindings.ts, invariants.ts, reference-targets.ts.
 */
import type { ElementDefinition } from '@medplum/fhirtypes';
import { checkBinding } from './bindings.ts';
import { checkCount, deepEqual, describe, matchesPattern } from './cardinality-fixed-pattern.ts';
import { definitions } from './definitions.ts';
import { checkInvariants } from './invariants.ts';
import { isCoreType, resolveInBundle, typeOfProfile } from './reference-targets.ts';
import { inSlice, slicesOf } from './slices.ts';
import { facts, type Item, type Json, type Tree, treeOf, valuesOf } from './snapshot-tree.ts';
import { notChecked, type ProfileIssue, report, type WalkContext } from './walk-context.ts';

export { matchesPattern } from './cardinality-fixed-pattern.ts';
export { newContext, type ProfileIssue, type ProfileIssueCode, type WalkContext } from './walk-context.ts';

const maxDepth = 6;

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
