/**
 * Cardinality (min/max of an element or a slice) and the comparisons behind fixed[x] (equal) and pattern[x]
 * (contains) values, with how a value is quoted in a message. The fixed/pattern checks themselves stay inline in
 * walker.ts's checkValue, which runs once per element value.
 */
import type { ElementDefinition } from '@medplum/fhirtypes';
import type { Json, Tree } from './snapshot-tree.ts';
import { report, type WalkContext } from './walk-context.ts';

export function deepEqual(a: unknown, b: unknown): boolean {
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

export function describe(value: unknown): string {
  const text = JSON.stringify(value);
  return text.length > 120 ? `${text.slice(0, 117)}...` : text;
}

export function checkCount(
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
