/**
 * Required bindings: a code, Coding or CodeableConcept checked against its value set, as far as terminology.ts
 * can tell; a value set it cannot check is reported once as not checked.
 */
import type { Item, Json, Tree } from './snapshot-tree.ts';
import { codeMembership, codingMembership, valueSetCodes, valueSetSystems } from './terminology.ts';
import { notChecked, report, type WalkContext } from './walk-context.ts';

export function checkBinding(ctx: WalkContext, tree: Tree, valueSet: string, item: Item): void {
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
