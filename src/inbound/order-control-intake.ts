/**
 * Messages that are not new orders but cancel (HL7 ORC-1 CA/OC/DC, FHIR status revoked …) or change (ORC-1 XO/XX)
 * orders the gateway holds: their open cases are cancelled (src/exceptions/cancellations.ts) or take the changed
 * request (src/exceptions/order-changes.ts), in the intake's transaction, and the message is recorded as accepted.
 * When none of its orders has a case to act on, undefined: the message is refused as before (not a new order).
 */
import { type Actor, type AuditEntry, appendAuditEntries } from '../audit/audit-log.ts';
import { cancelOrders } from '../exceptions/cancellations.ts';
import { changeOrders } from '../exceptions/order-changes.ts';
import { type MapOutcome, MappingError, type MappingProblem } from '../mapping/index.ts';
import type { Tx } from '../store/sql.ts';
import type { InboundDeps, InboundMessage, InboundResult } from './accept.ts';

/** What a transport knows a message does to an order the gateway holds (InboundMessage.control). */
export interface InboundOrderControl {
  readonly kind: 'cancel' | 'change';
  /** The order acted on, as its case knows it (placer order number, FHIR resource). */
  readonly order: { readonly placerOrderNumber?: string; readonly resourceReference?: string };
  /** For a change: the payload the changed request is mapped from, when it is not the message itself. */
  readonly mapFrom?: Buffer;
  /** Why, in the refusal when no open case takes it. */
  readonly describe: string;
}

/**
 * The mapped message as the order control the transport says it is: a cancellation of the named order, or — when
 * the changed request maps — a change of it, so that recordOrderControl acts on its open case exactly as for an HL7
 * ORC CA / XO. A change that does not map is refused with the mapper's problems.
 */
export function asOrderControl(outcome: MapOutcome, control: InboundOrderControl | undefined): MapOutcome {
  if (!control) return outcome;
  const notNew = new MappingError([
    {
      code: 'PAGW_MAP_NOT_NEW_ORDER',
      severity: 'error',
      location: '$',
      message: `${control.describe}: there is no open request it can still act on (decided, closed or unknown)`,
    },
  ]);
  const base = { ok: false as const, message: outcome.message, error: notNew, warnings: outcome.warnings };
  if (control.kind === 'cancel') return { ...base, cancellation: { orders: [control.order] } };
  if (!outcome.ok) return outcome;
  if (outcome.requests.length !== 1) return { ...base, error: notNew };
  return { ...base, change: { orders: [{ ...control.order, request: outcome.requests[0]! }] } };
}

export async function recordOrderControl(
  tx: Tx,
  deps: InboundDeps,
  message: InboundMessage,
  outcome: Extract<MapOutcome, { ok: false }>,
  actor: Actor,
  at: Date,
): Promise<Pick<InboundResult, 'outcome' | 'duplicate' | 'caseIds' | 'problems' | 'warnings'> | undefined> {
  const cancel = outcome.cancellation && deps.cancelOrders ? outcome.cancellation : undefined;
  const change = !cancel && outcome.change && deps.changeOrders ? outcome.change : undefined;
  if (!cancel && !change) return undefined;
  const audit: AuditEntry[] = [];
  const input = {
    tenant: message.tenant,
    sender: outcome.message.sender,
    actor,
    at,
    messageKey: outcome.message.key,
    audit,
  };
  const result = cancel
    ? await cancelOrders(tx, deps, { ...input, cancellation: cancel })
    : await changeOrders(tx, deps, { ...input, change: change! });
  if (result.caseIds.length === 0) return undefined;
  const warnings: MappingProblem[] = [
    ...(change ? outcome.warnings : []),
    ...result.unmatched.map((u) => ({
      code: 'PAGW_MAP_NOT_NEW_ORDER' as const,
      severity: 'warning' as const,
      location: outcome.message.format === 'hl7v2' ? 'ORC-2' : '$',
      message: `order ${u.order} not ${cancel ? 'cancelled' : 'changed'}: ${u.reason}`,
    })),
  ];
  await tx.query(
    `UPDATE inbound_messages SET outcome = 'accepted', case_ids = $3, problems = $4
      WHERE tenant_id = $1 AND message_key = $2`,
    [message.tenant, outcome.message.key, result.caseIds, { errors: [], warnings }],
  );
  audit.push({
    tenant: message.tenant,
    actor,
    action: cancel ? 'inbound.cancellation' : 'inbound.order_change',
    details: {
      transport: message.transport,
      format: outcome.message.format,
      messageKey: outcome.message.key,
      caseIds: result.caseIds,
      unmatched: result.unmatched.length,
    },
    at,
  });
  await appendAuditEntries(tx, audit);
  return { outcome: 'accepted', duplicate: false, caseIds: result.caseIds, problems: [], warnings };
}
