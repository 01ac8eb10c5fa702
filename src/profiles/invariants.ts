/**
 * The invariants a profile adds (PAS, US Core, CRD: ClaimResponseFirst, us-core-6 …), evaluated in FHIRPath with
 * each expression parsed once; memberOf() ones are skipped (they need a terminology server).
 */
import { evalFhirPath, type FhirPathAtom, parseFhirPath } from '@medplum/core';
import type { ElementDefinition } from '@medplum/fhirtypes';
import type { Json, Tree } from './snapshot-tree.ts';
import { notChecked, report, type WalkContext } from './walk-context.ts';

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

export function checkInvariants(
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
