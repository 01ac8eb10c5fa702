/**
 * The issues a validation reports and the per-validation state it carries (the Bundle to resolve references in,
 * what was checked already), with the two ways a check records an issue. Apart from the walk so that every check
 * file records issues the same way without importing the walk.
 */
import type { Json, Tree } from './snapshot-tree.ts';

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

/** Per-validation state: the issues found, the bundle to resolve references in, what was checked already. */
export interface WalkContext {
  readonly issues: ProfileIssue[];
  readonly bundle?: { readonly entries: readonly { fullUrl?: string; resource?: Json }[] };
  readonly checked: WeakMap<object, Set<string>>;
  readonly unknownReported: Set<string>;
  /** How many "one of these profiles" alternatives deep the check is (a guard against reference cycles). */
  readonly depth: number;
}

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

export function report(
  ctx: WalkContext,
  tree: Tree,
  severity: ProfileIssue['severity'],
  code: ProfileIssueCode,
  expression: string,
  message: string,
): void {
  ctx.issues.push({ severity, code, expression, message, profile: tree.sd.url! });
}

export function notChecked(ctx: WalkContext, tree: Tree, expression: string, what: string): void {
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
