/**
 * Slicing: the named slices of an element (found once per profile) and whether a value belongs to a slice, by
 * the discriminators PAS uses — value/pattern on a path (url, category, type, $this), type of `resource` and of
 * a choice element. FHIRPath discriminators are not evaluated: such values count as unsliced.
 */
import type { ElementDefinition } from '@medplum/fhirtypes';
import { matchesPattern } from './cardinality-fixed-pattern.ts';
import { versionless } from './definitions.ts';
import { facts, type Item, type Json, type Tree } from './snapshot-tree.ts';

export function slicesOf(
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

export function inSlice(tree: Tree, base: ElementDefinition, slice: ElementDefinition, item: Item): boolean {
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
