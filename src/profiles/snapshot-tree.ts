/**
 * A profile's snapshot as the walk reads it: the element tree by id (built once per profile), what the walk needs
 * of each element definition (worked out once per definition), and the values an element names in a resource
 * (choice types and primitive extensions included). Apart from the checks because every check reads through it.
 */
import type { ElementDefinition, StructureDefinition } from '@medplum/fhirtypes';

export type Json = Record<string, unknown>;

export interface Tree {
  readonly sd: StructureDefinition;
  readonly rootId: string;
  readonly byId: ReadonlyMap<string, ElementDefinition>;
  readonly children: ReadonlyMap<string, readonly ElementDefinition[]>;
  /** The named slices of each sliced child, by `parentId|name` (filled as the walk meets them). */
  readonly slices: Map<string, readonly ElementDefinition[]>;
}

const trees = new Map<string, Tree>();

export function treeOf(sd: StructureDefinition): Tree {
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

export function facts(e: ElementDefinition): ElementFacts {
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

export interface Item {
  readonly value: unknown;
  readonly key: string;
  readonly expression: string;
}

export function valuesOf(node: Json, name: string, expression: string): Item[] {
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
