/**
 * A reviewer's requested changes, applied: units or codes of service lines edited, giving a new request (a
 * new case version, a new submission key, a new review). Pure; the result is what the audit records as
 * before/after — codes and quantities only, never PHI.
 */
import type { AuthorizationRequest, Coding, Quantity } from '../../canonical/index.ts';
import type { Problem } from '../../errors/index.ts';

export interface LineChange {
  readonly sequence: number;
  readonly quantity?: Quantity;
  readonly code?: Coding;
}

export interface LineSnapshot {
  readonly sequence: number;
  readonly code: { readonly system: string; readonly code: string };
  readonly quantity: Quantity | null;
}

export interface AppliedChanges {
  readonly request: AuthorizationRequest;
  readonly before: LineSnapshot[];
  readonly after: LineSnapshot[];
}

function snapshot(line: AuthorizationRequest['serviceLines'][number]): LineSnapshot {
  return {
    sequence: line.sequence,
    code: { system: line.code.system, code: line.code.code },
    quantity: line.quantity ? { ...line.quantity } : null,
  };
}

/** Reads `changes` from an API body: a list of {sequence, quantity?: {value, unit?}, code?: {system, code}}. */
export function readChanges(value: unknown): { changes: LineChange[]; problems: Problem[] } {
  const problems: Problem[] = [];
  const changes: LineChange[] = [];
  if (!Array.isArray(value) || value.length === 0) {
    return { changes, problems: [{ location: 'changes', message: 'must list at least one line change' }] };
  }
  value.forEach((raw, i) => {
    const at = `changes[${i}]`;
    const c = (raw ?? {}) as Record<string, unknown>;
    if (!Number.isInteger(c.sequence))
      problems.push({ location: `${at}.sequence`, message: 'must be a line sequence' });
    const change: { sequence: number; quantity?: Quantity; code?: Coding } = {
      sequence: c.sequence as number,
    };
    if (c.quantity !== undefined) {
      const q = c.quantity as Record<string, unknown>;
      if (typeof q?.value !== 'number' || !(q.value > 0) || q.value > 99_999) {
        problems.push({ location: `${at}.quantity.value`, message: 'must be a positive number' });
      } else {
        change.quantity = { value: q.value, ...(typeof q.unit === 'string' ? { unit: q.unit } : {}) };
      }
    }
    if (c.code !== undefined) {
      const k = c.code as Record<string, unknown>;
      if (
        typeof k?.system !== 'string' ||
        typeof k.code !== 'string' ||
        !/^[A-Za-z0-9.-]{1,20}$/.test(k.code)
      ) {
        problems.push({ location: `${at}.code`, message: 'must be {system, code} with a plain code' });
      } else {
        change.code = {
          system: k.system,
          code: k.code,
          ...(typeof k.display === 'string' ? { display: k.display } : {}),
        };
      }
    }
    if (change.quantity === undefined && change.code === undefined)
      problems.push({ location: at, message: 'changes neither quantity nor code' });
    changes.push(change);
  });
  return { changes, problems };
}

/** Applies line changes to a request; problems name each change that does not fit (unknown line). */
export function applyChanges(
  request: AuthorizationRequest,
  changes: readonly LineChange[],
): { ok: true; value: AppliedChanges } | { ok: false; problems: Problem[] } {
  const problems: Problem[] = [];
  const lines = request.serviceLines.map((line) => ({ ...line }));
  changes.forEach((change, i) => {
    const line = lines.find((l) => l.sequence === change.sequence);
    if (!line) {
      problems.push({
        location: `changes[${i}].sequence`,
        message: `the request has no line ${change.sequence}`,
      });
      return;
    }
    if (change.quantity) line.quantity = { ...line.quantity, ...change.quantity };
    if (change.code) {
      line.code = { ...change.code };
      delete line.alternateCodes; // the old code's alternates no longer describe the line
    }
  });
  if (problems.length > 0) return { ok: false, problems };
  const changed = new Set(changes.map((c) => c.sequence));
  return {
    ok: true,
    value: {
      request: { ...request, serviceLines: lines },
      before: request.serviceLines.filter((l) => changed.has(l.sequence)).map(snapshot),
      after: lines.filter((l) => changed.has(l.sequence)).map(snapshot),
    },
  };
}
