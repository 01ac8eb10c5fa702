/**
 * What a message's mapped order groups become: each group validated into an AuthorizationRequest (after the last
 * check for what PostgreSQL cannot store), or the refusal listing every problem once, with what intake can still
 * act on — the one order lacking only fields the provider can supply later, the orders the message withdraws or
 * changes. Shared by the HL7 v2 and FHIR paths, so both refuse and hold orders by the same rules.
 */
import { type CorrectableField, correctableField, withPath } from '../canonical/correctable-fields.ts';
import type { AuthorizationRequest, Source } from '../canonical/index.ts';
import { type SourceLocation, validateRequest } from './engine.ts';
import type { IncompleteOrder, MapOutcome, MessageFacts, OrderCancellation, OrderChange } from './outcome.ts';
import { MappingError, type MappingProblem, problem } from './problems.ts';
import { describeForbidden, findForbiddenStrings } from './raw-text.ts';

/** The same problem in every order group of a message is reported once. */
function dedupe(problems: readonly MappingProblem[]): MappingProblem[] {
  const seen = new Set<string>();
  return problems.filter((p) => {
    const key = `${p.severity}\u0000${p.code}\u0000${p.location}\u0000${p.message}`;
    if (seen.has(key)) return false;
    seen.add(key);
    return true;
  });
}

export function finish(
  base: { tenant: string; source: Source },
  units: ReadonlyArray<{
    request: Record<string, unknown>;
    origins: ReadonlyMap<string, SourceLocation>;
    control?: 'cancel' | 'change';
  }>,
  message: MessageFacts,
  problems: MappingProblem[],
): MapOutcome {
  const requests: AuthorizationRequest[] = [];
  // A message with mapping errors is refused anyway; schema problems would only repeat them.
  const refused = problems.some((p) => p.severity === 'error');
  units.forEach((unit, orderIndex) => {
    const candidate: Record<string, unknown> = {
      tenant: base.tenant,
      source: { ...base.source, orderIndex },
      ...unit.request,
      idempotencyKey: `${message.key}#${orderIndex}`,
    };
    if (candidate.diagnoses === undefined) candidate.diagnoses = [];
    if (refused) return;
    // The last guard before the database: nothing mapped may hold what PostgreSQL cannot store.
    for (const bad of findForbiddenStrings(candidate, '$', [], 5)) {
      problems.push(
        problem(
          'PAGW_MAP_FORBIDDEN_CHARACTER',
          bad.path,
          `the mapped value holds ${describeForbidden(bad.kind)}, which no field may carry`,
        ),
      );
    }
    if (problems.some((p) => p.severity === 'error')) return;
    const valid = validateRequest(candidate, unit.origins, problems);
    if (valid) requests.push(valid);
  });
  const incomplete = refused ? incompleteOrder(base, units, message, problems) : undefined;
  const cancellation = refused ? cancelledOrders(units) : undefined;
  const change = refused ? changedOrders(base, units, message, problems) : undefined;
  // `target` only serves the incomplete-order check: problems leave the mapper as they always did.
  const unique = dedupe(problems).map(({ target: _target, ...p }) => p);
  const warnings = unique.filter((p) => p.severity === 'warning');
  const errors = unique.filter((p) => p.severity === 'error');
  if (errors.length > 0)
    return {
      ok: false,
      message,
      error: new MappingError(errors),
      warnings,
      ...(incomplete ? { incomplete } : {}),
      ...(cancellation ? { cancellation } : {}),
      ...(change ? { change } : {}),
    };
  if (requests.length === 0) {
    return {
      ok: false,
      message,
      error: new MappingError([
        problem('PAGW_MAP_STRUCTURE', message.format === 'hl7v2' ? 'MSH' : '$', 'no order found'),
      ]),
      warnings,
    };
  }
  return { ok: true, message, requests, warnings };
}

/** The orders a message withdraws, when every order group of it cancels an order it names. */
function cancelledOrders(
  units: ReadonlyArray<{ request: Record<string, unknown>; control?: 'cancel' | 'change' }>,
): OrderCancellation | undefined {
  if (units.length === 0 || units.some((u) => u.control !== 'cancel')) return undefined;
  const orders = units.map((u) => {
    const ref = (u.request.orderReference ?? {}) as {
      placerOrderNumber?: string;
      resourceReference?: string;
    };
    return {
      ...(ref.placerOrderNumber ? { placerOrderNumber: ref.placerOrderNumber } : {}),
      ...(ref.resourceReference ? { resourceReference: ref.resourceReference } : {}),
    };
  });
  return orders.every((o) => o.placerOrderNumber || o.resourceReference) ? { orders } : undefined;
}

/**
 * The changed orders of a message whose every order group changes an order (ORC-1 XO/XX) and whose only errors are
 * the order control's "not a new order": each request as it would have been accepted, validated like a new one.
 */
function changedOrders(
  base: { tenant: string; source: Source },
  units: ReadonlyArray<{
    request: Record<string, unknown>;
    origins: ReadonlyMap<string, SourceLocation>;
    control?: 'cancel' | 'change';
  }>,
  message: MessageFacts,
  problems: readonly MappingProblem[],
): OrderChange | undefined {
  if (units.length === 0 || units.some((u) => u.control !== 'change')) return undefined;
  const errors = problems.filter((p) => p.severity === 'error');
  if (errors.some((p) => p.code !== 'PAGW_MAP_NOT_NEW_ORDER')) return undefined;
  const orders: Array<OrderChange['orders'][number]> = [];
  for (const [orderIndex, unit] of units.entries()) {
    const candidate: Record<string, unknown> = {
      tenant: base.tenant,
      source: { ...base.source, orderIndex },
      ...unit.request,
      idempotencyKey: `${message.key}#${orderIndex}`,
    };
    if (candidate.diagnoses === undefined) candidate.diagnoses = [];
    if (findForbiddenStrings(candidate, '$', [], 1).length > 0) return undefined;
    const request = validateRequest(candidate, unit.origins, []);
    if (!request) return undefined;
    const ref = request.orderReference;
    if (!ref?.placerOrderNumber && !ref?.resourceReference) return undefined;
    orders.push({
      ...(ref.placerOrderNumber ? { placerOrderNumber: ref.placerOrderNumber } : {}),
      ...(ref.resourceReference ? { resourceReference: ref.resourceReference } : {}),
      request,
    });
  }
  return { orders };
}

/**
 * The one order of a message whose only errors are missing fields the provider can supply later, when it is valid
 * once they are: checked by filling each with a placeholder. Messages of several orders are not held (one held
 * case per message keeps a corrected resend's match unambiguous).
 */
function incompleteOrder(
  base: { tenant: string; source: Source },
  units: ReadonlyArray<{ request: Record<string, unknown>; origins: ReadonlyMap<string, SourceLocation> }>,
  message: MessageFacts,
  problems: readonly MappingProblem[],
): IncompleteOrder | undefined {
  const errors = problems.filter((p) => p.severity === 'error');
  if (units.length !== 1 || errors.length === 0) return undefined;
  const missing: CorrectableField[] = [];
  for (const p of errors) {
    const field = p.code === 'PAGW_MAP_MISSING_FIELD' && p.target ? correctableField(p.target) : undefined;
    if (!field) return undefined;
    if (!missing.includes(field)) missing.push(field);
  }
  const request: Record<string, unknown> = {
    tenant: base.tenant,
    source: { ...base.source, orderIndex: 0 },
    ...units[0]!.request,
    idempotencyKey: `${message.key}#0`,
  };
  if (request.diagnoses === undefined) request.diagnoses = [];
  let filled = request;
  for (const field of missing) filled = withPath(filled, field.path, field.placeholder);
  if (findForbiddenStrings(filled, '$', [], 1).length > 0) return undefined;
  if (!validateRequest(filled, units[0]!.origins, [])) return undefined;
  return {
    request,
    missing,
    problems: errors.map(({ target: _target, ...p }) => p),
  };
}
