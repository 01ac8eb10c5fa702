/**
 * Corrections of a case's request (issue #14 "resolve and resume"): a list of `{ path, value }` changes applied
 * to the request as it stands, validated against the canonical schema, with what changed (before and after) for
 * the audit row. Pure.
 *
 * Which cases can be corrected, and what the correction does to them:
 *   received (held for missing data) → validated: the workflow picks it up where intake stopped
 *   failed                           → retried (validated): the failed step's inputs changed, it runs again
 * A case in review is changed by its reviewer (request changes, src/api/review-decisions.ts); a case at the payer
 * is changed by a corrected order (`resubmitted`, item 4); a finished case not at all.
 */
import { type AuthorizationRequest, checkAuthorizationRequest } from '../../canonical/index.ts';
import type { Problem } from '../../errors/index.ts';
import { getTarget, parseTarget, setTarget, type TargetPath } from '../../mapping/target.ts';
import type { CaseEventType, CaseState } from '../case-state-machine.ts';

export interface FieldChange {
  /** A request path as mapping targets write it: `coverage.memberId`, `serviceLines[0].quantity.value`. */
  readonly path: string;
  /** The new value; null removes an optional field. */
  readonly value: unknown;
}

export interface AppliedChange {
  readonly path: string;
  readonly before: unknown;
  readonly after: unknown;
}

/** Parts of the request that identify the order and its origin: a correction never touches them. */
const fixedRoots = new Set(['tenant', 'source', 'idempotencyKey', 'orderReference']);

/** The event a correction moves a case in `state` with, or undefined when it cannot be corrected there. */
export function correctionEvent(state: CaseState): CaseEventType | undefined {
  if (state === 'received') return 'validated';
  if (state === 'failed') return 'retried';
  return undefined;
}

export type CorrectionResult =
  | { readonly ok: true; readonly request: AuthorizationRequest; readonly changes: AppliedChange[] }
  | { readonly ok: false; readonly problems: Problem[] };

function parse(path: unknown): TargetPath | undefined {
  if (typeof path !== 'string' || path.length > 200) return undefined;
  try {
    return parseTarget(path);
  } catch {
    return undefined;
  }
}

/** Reads `changes` from a body value: a non-empty list of { path, value } (at most 50). */
export function readChanges(raw: unknown): { changes?: FieldChange[]; problems: Problem[] } {
  if (!Array.isArray(raw) || raw.length === 0 || raw.length > 50)
    return {
      problems: [{ location: 'changes', message: 'must be a list of 1 to 50 { path, value } changes' }],
    };
  const problems: Problem[] = [];
  const changes: FieldChange[] = [];
  raw.forEach((item, i) => {
    const change = item as { path?: unknown; value?: unknown };
    if (typeof item !== 'object' || item === null || !('value' in change)) {
      problems.push({ location: `changes[${i}]`, message: 'must be { path, value }' });
      return;
    }
    changes.push({ path: String(change.path), value: change.value });
  });
  return problems.length ? { problems } : { changes, problems };
}

/**
 * Applies changes to a copy of `request` (which may be incomplete: a held order) and validates the result.
 * Every problem is reported: a path that is not a request path or touches the order's identity, and every schema
 * problem of the corrected request.
 */
export function applyCorrection(request: unknown, changes: readonly FieldChange[]): CorrectionResult {
  const problems: Problem[] = [];
  const next = structuredClone(request) as Record<string, unknown>;
  const applied: AppliedChange[] = [];
  changes.forEach((change, i) => {
    const path = parse(change.path);
    if (!path) {
      problems.push({
        location: `changes[${i}].path`,
        message: 'is not a request path (coverage.memberId …)',
      });
      return;
    }
    if (fixedRoots.has(path[0]!.key)) {
      problems.push({
        location: `changes[${i}].path`,
        message: `${path[0]!.key} identifies the order and cannot be corrected`,
      });
      return;
    }
    const before = getTarget(next, path);
    const value = typeof change.value === 'string' ? change.value.trim() : change.value;
    setTarget(next, path, value === null ? undefined : value);
    if (value === null) removeUndefined(next);
    applied.push({ path: change.path, before: before ?? null, after: value });
  });
  if (problems.length) return { ok: false, problems };
  const checked = checkAuthorizationRequest(next);
  if (!checked.ok) return { ok: false, problems: checked.problems };
  return { ok: true, request: checked.value, changes: applied };
}

/** Drops keys whose value is undefined (JSON has no undefined; the schema would see a missing field anyway). */
function removeUndefined(node: unknown): void {
  if (Array.isArray(node)) {
    node.forEach(removeUndefined);
    return;
  }
  if (typeof node !== 'object' || node === null) return;
  for (const [key, value] of Object.entries(node)) {
    if (value === undefined) delete (node as Record<string, unknown>)[key];
    else removeUndefined(value);
  }
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/**
 * The changes that turn `before` into `after` (a corrected resend of an order), field by field, so the audit row
 * names each field that changed instead of the whole request. The order's identity (tenant, source, idempotency key,
 * order reference) is left out. Lists of the same length are compared item by item; otherwise replaced whole.
 */
export function requestDifferences(before: unknown, after: unknown): FieldChange[] {
  const changes: FieldChange[] = [];
  const walk = (a: unknown, b: unknown, path: string): void => {
    if (isObject(a) && isObject(b)) {
      for (const key of new Set([...Object.keys(a), ...Object.keys(b)])) {
        if (path === '' && fixedRoots.has(key)) continue;
        walk(a[key], b[key], path ? `${path}.${key}` : key);
      }
      return;
    }
    if (Array.isArray(a) && Array.isArray(b) && a.length === b.length && !/\]$/.test(path)) {
      a.forEach((item, i) => {
        walk(item, b[i], `${path}[${i}]`);
      });
      return;
    }
    if (JSON.stringify(a) === JSON.stringify(b)) return;
    changes.push({ path, value: b === undefined ? null : b });
  };
  walk(before, after, '');
  return changes;
}
