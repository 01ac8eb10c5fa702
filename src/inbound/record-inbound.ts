/**
 * How an inbound message is recorded, in the one transaction acceptInboundMessage (./accept.ts) runs: the message
 * with its original bytes (sealed) and outcome in `inbound_messages`, then its cases (new, or a held order resumed,
 * or an open case changed) with their events, outbox rows, timers and audit rows — or, for a refused message, its
 * dead-letter record. A redelivery finds the message recorded and changes nothing; a reused id with other content is
 * refused.
 */
import { createHash } from 'node:crypto';
import {
  type Actor,
  type AuditEntry,
  appendAudit,
  appendAuditEntries,
  auditInsertStatements,
} from '../audit/audit-log.ts';
import { DeadLetterHeader } from '../bus/dead-letter.ts';
import type { AuthorizationRequest } from '../canonical/index.ts';
import { type ErrorCode, GatewayError } from '../errors/index.ts';
import { findHeldCase, heldCaseSql, recordHeldOrder, resumeHeldCase } from '../exceptions/held-orders.ts';
import { changeOrders, resentFhirOrderChange } from '../exceptions/order-changes.ts';
import type { InboundFormat, IncompleteOrder, MapOutcome, MappingProblem } from '../mapping/index.ts';
import { recordValidatedCases } from '../store/case-intake.ts';
import { getCase } from '../store/cases.ts';
import { insertOutboxMessages, OutboxHeader } from '../store/outbox.ts';
import { type Tx, withTransaction } from '../store/sql.ts';
import { runLastWrites } from '../store/together.ts';
import type { InboundDeps, InboundMessage, InboundResult } from './accept.ts';
import { recordOrderControl } from './order-control-intake.ts';

const maxHeaderProblems = 8000;

/** The timer kind the workflow advances new cases on. */
export const workflowAdvanceTimer = 'workflow.advance';

/** Headers of an inbound dead-letter record, besides the standard pagw-dlq-* ones. */
export const InboundDeadLetterHeader = {
  /** On a message its transport cut off at the size limit: `first <n> of at least <m> bytes`. */
  truncated: 'pagw-dlq-truncated',
  transport: 'pagw-source-transport',
  sender: 'pagw-source-sender',
  messageId: 'pagw-source-message-id',
  format: 'pagw-source-format',
  messageKey: 'pagw-message-key',
  problems: 'pagw-dlq-problems',
} as const;

/** What the sealed raw bytes of an inbound message are bound to (besides the tenant): its content fingerprint. */
export function inboundRawBinding(fingerprint: string | null): string[] {
  return ['inbound_messages.raw', fingerprint ?? ''];
}

export interface StoredProblems {
  code?: string;
  errors: MappingProblem[];
  warnings: MappingProblem[];
}

async function recordAccepted(
  tx: Tx,
  deps: InboundDeps,
  message: InboundMessage,
  outcome: Extract<MapOutcome, { ok: true }>,
  actor: Actor,
  at: Date,
  /** The held case each order group resends (heldCaseSql), when the message's INSERT looked them up already. */
  heldFound?: readonly (string | null)[],
): Promise<string[]> {
  // Audit rows are appended together as the last step, so the audit chain head is locked only briefly.
  const audit: AuditEntry[] = [];
  // A corrected resend of a held order resumes that case instead of opening another (src/exceptions/held-orders.ts).
  const resumed = new Map<number, string>();
  if (deps.holdIncomplete) {
    for (const [i, request] of outcome.requests.entries()) {
      // Looked up with the INSERT; a case an earlier group of this message resumed is asked again, as it has moved.
      const found = heldFound?.[i];
      const heldId =
        heldFound && !(found && [...resumed.values()].includes(found))
          ? found
          : await findHeldCase(tx, request);
      if (!heldId) continue;
      const heldCase = (await getCase(tx, request.tenant, heldId))!;
      await resumeHeldCase(
        tx,
        deps,
        { tenant: request.tenant, actor, at, audit },
        { caseId: heldId, held: heldCase.request, resent: request, messageKey: outcome.message.key },
      );
      resumed.set(i, heldId);
    }
  }
  // A FHIR order resent with its identifier and changed content changes its open case, as an ORC XO does.
  if (deps.changeOrders) {
    for (const [i, request] of outcome.requests.entries()) {
      if (resumed.has(i)) continue;
      const change = await resentFhirOrderChange(tx, request);
      if (!change) continue;
      const changed = await changeOrders(tx, deps, {
        tenant: request.tenant,
        sender: request.source.sender,
        change,
        actor,
        at,
        messageKey: outcome.message.key,
        audit,
      });
      if (changed.caseIds[0]) resumed.set(i, changed.caseIds[0]);
    }
  }
  const fresh = outcome.requests.filter((_, i) => !resumed.has(i));
  // All order groups' cases in a few multi-row statements (src/store/case-intake.ts), not two round trips
  // per row: the transaction stays short however many groups the message holds (up to inbound.maxOrderGroups).
  const { caseIds: freshIds, writeHeld } = await recordValidatedCases(tx, {
    requests: fresh,
    actor,
    at,
    correlationId: message.correlationId,
    validatedData: (request) => ({
      format: request.source.format,
      orderIndex: request.source.orderIndex ?? 0,
    }),
    outbound: deps.outbound
      ? (event, after, previousState) => deps.outbound!({ event, after, previousState, at })
      : undefined,
    timerKind: workflowAdvanceTimer,
    auditTo: audit,
    holdWrites: true,
  });
  let next = 0;
  const caseIds = outcome.requests.map((_, i) => resumed.get(i) ?? freshIds[next++]!);
  if (resumed.size > 0) {
    await tx.query('UPDATE inbound_messages SET case_ids = $3 WHERE tenant_id = $1 AND message_key = $2', [
      message.tenant,
      outcome.message.key,
      caseIds,
    ]);
  }
  audit.push({
    tenant: message.tenant,
    actor,
    action: 'inbound.accepted',
    details: {
      transport: message.transport,
      format: outcome.message.format,
      messageKey: outcome.message.key,
      caseIds,
      ...(resumed.size > 0 ? { resumed: [...resumed.values()] } : {}),
      warnings: outcome.warnings.map((w) => `${w.location}: ${w.message}`),
    },
    at,
  });
  // The transaction's last writes, the new cases' events, outbox rows and timers and every audit row, in one
  // statement with the COMMIT behind it (nothing runs in it after recordAccepted; issue #17).
  await runLastWrites(tx, [...writeHeld, ...auditInsertStatements(audit)]);
  return caseIds;
}

async function recordRejected(
  tx: Tx,
  deps: InboundDeps,
  message: InboundMessage,
  outcome: Extract<MapOutcome, { ok: false }>,
  actor: Actor,
  at: Date,
): Promise<void> {
  const problems = outcome.error.problems.map((p) => ({ location: p.location, message: p.message }));
  const reason = `${outcome.error.code}: ${outcome.error.message}`.slice(0, 2000);
  let problemsHeader = JSON.stringify(problems);
  if (problemsHeader.length > maxHeaderProblems) problemsHeader = JSON.stringify(problems.slice(0, 20));
  const headers: Record<string, string> = {
    [DeadLetterHeader.reason]: reason,
    [DeadLetterHeader.errorCode]: outcome.error.code,
    [DeadLetterHeader.at]: at.toISOString(),
    [InboundDeadLetterHeader.transport]: message.transport,
    [InboundDeadLetterHeader.sender]: outcome.message.sender,
    [InboundDeadLetterHeader.format]: outcome.message.format,
    [InboundDeadLetterHeader.messageKey]: outcome.message.key,
    [InboundDeadLetterHeader.problems]: problemsHeader,
    [OutboxHeader.contentType]:
      outcome.message.format === 'fhir' ? 'application/fhir+json' : 'x-application/hl7-v2+er7',
  };
  if (outcome.message.messageId) headers[InboundDeadLetterHeader.messageId] = outcome.message.messageId;
  if (message.truncated) {
    headers[InboundDeadLetterHeader.truncated] =
      `first ${message.raw.length} of at least ${message.truncated.atLeastBytes} bytes`;
  }
  if (message.source) {
    headers[DeadLetterHeader.sourceTopic] = message.source.topic;
    headers[DeadLetterHeader.sourcePartition] = String(message.source.partition);
    headers[DeadLetterHeader.sourceOffset] = message.source.offset;
  }
  await insertOutboxMessages(tx, { tenant: message.tenant, correlationId: message.correlationId, at }, [
    {
      topic: deps.deadLetterTopic,
      key: message.source ? message.source.key : outcome.message.key,
      value: message.raw,
      headers,
    },
  ]);
  await appendAudit(tx, {
    tenant: message.tenant,
    actor,
    action: 'inbound.rejected',
    details: {
      transport: message.transport,
      format: outcome.message.format,
      messageKey: outcome.message.key,
      errorCode: outcome.error.code,
      problems: problems.slice(0, 50),
    },
    at,
  });
}

interface RecordContext {
  readonly actor: Actor;
  readonly at: Date;
  readonly base: Pick<InboundResult, 'format' | 'messageKey' | 'sender' | 'messageId'>;
  readonly stored: StoredProblems;
  readonly errors: MappingProblem[];
  readonly plannedCaseIds: string[];
  /** The order is held for the provider (accepted, a case in `received` with a task). */
  readonly held?: IncompleteOrder;
  readonly warnings?: MappingProblem[];
}

/** The fallback record of a message the database refused: its bytes, a hash key, a fixed reason. */
export async function recordUnstorable(
  deps: InboundDeps,
  message: InboundMessage,
  format: InboundFormat,
  cause: unknown,
  actor: Actor,
  at: Date,
): Promise<InboundResult> {
  const sqlState = String((cause as { code?: unknown }).code);
  const problems: MappingProblem[] = [
    {
      code: 'PAGW_INBOUND_UNSTORABLE',
      severity: 'error',
      location: format === 'hl7v2' ? 'MSH' : '$',
      message: `the database refused a value of this message (SQLSTATE ${sqlState}); the original bytes were kept`,
      ...(format === 'hl7v2' ? { hl7: { segment: 'MSH' } } : {}),
    },
  ];
  const fingerprint = createHash('sha256').update(message.raw).digest('hex');
  const facts: MapOutcome['message'] = {
    format,
    key: `${format}:unstorable:${fingerprint}`,
    sender: message.sender,
    fingerprint,
  };
  const rejection: Extract<MapOutcome, { ok: false }> = {
    ok: false,
    message: facts,
    error: new GatewayError('PAGW_INBOUND_UNSTORABLE', problems[0]!.message, { problems }),
    warnings: [],
  };
  const stored: StoredProblems = { code: 'PAGW_INBOUND_UNSTORABLE', errors: problems, warnings: [] };
  return recordOutcome(deps, message, rejection, {
    actor,
    at,
    base: { format, messageKey: facts.key, sender: facts.sender },
    stored,
    errors: problems,
    plannedCaseIds: [],
  });
}

/** Records the outcome in ONE transaction (see the file comment). */
export async function recordOutcome(
  deps: InboundDeps,
  message: InboundMessage,
  outcome: MapOutcome,
  context: RecordContext,
): Promise<InboundResult> {
  const { actor, at, base, stored, errors, plannedCaseIds } = context;
  const facts = outcome.message;
  // Sealed before the transaction (the tenant's data key may have to be created, in a commit of its own).
  const sealedRaw = await deps.phi.seal(message.tenant, inboundRawBinding(facts.fingerprint), message.raw);
  // A new order's groups may be corrected resends of held orders: the held cases are looked up (and locked) by the
  // message's own INSERT, one round trip fewer per order (issue #17). Only for a message that is new.
  const heldLookup =
    outcome.ok && !context.held && deps.holdIncomplete
      ? {
          orders: outcome.requests.map((r) => r.orderReference?.placerOrderNumber ?? null),
          senders: outcome.requests.map((r) => r.source.sender),
        }
      : undefined;
  return withTransaction(deps.db.pool, async (tx): Promise<InboundResult> => {
    const insert = (
      key: string,
      outcomeText: string,
      caseIds: string[],
      problems: StoredProblems,
      lookup?: typeof heldLookup,
    ) =>
      tx.query<{ message_key: string; held?: (string | null)[] }>(
        `WITH inserted AS (
           INSERT INTO inbound_messages
             (tenant_id, message_key, format, raw, received_at, outcome, case_ids, problems, fingerprint)
           VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)
           ON CONFLICT (tenant_id, message_key) DO NOTHING RETURNING message_key)
         SELECT message_key${
           lookup
             ? `, ARRAY(SELECT ${heldCaseSql('w.order_number', 'w.sender')}
                    FROM unnest($10::text[], $11::text[]) WITH ORDINALITY AS w(order_number, sender, n)
                   ORDER BY w.n) AS held`
             : ''
         } FROM inserted`,
        [
          message.tenant,
          key,
          facts.format,
          sealedRaw,
          at,
          outcomeText,
          caseIds,
          problems,
          facts.fingerprint,
          ...(lookup ? [lookup.orders, lookup.senders] : []),
        ],
      );
    const earlier = async (key: string) => {
      const { rows } = await tx.query<{
        outcome: string;
        case_ids: string[];
        problems: StoredProblems | null;
        fingerprint: string | null;
      }>(
        'SELECT outcome, case_ids, problems, fingerprint FROM inbound_messages WHERE tenant_id = $1 AND message_key = $2',
        [message.tenant, key],
      );
      const first = rows[0]!;
      return {
        fingerprint: first.fingerprint,
        result: {
          ...base,
          messageKey: key,
          outcome: first.outcome === 'accepted' ? 'accepted' : 'rejected',
          duplicate: true,
          caseIds: first.case_ids,
          ...(first.problems?.code ? { errorCode: first.problems.code as ErrorCode } : {}),
          problems: first.problems?.errors ?? [],
          warnings: first.problems?.warnings ?? [],
        } satisfies InboundResult,
      };
    };

    const inserted = await insert(
      facts.key,
      outcome.ok || context.held ? 'accepted' : 'rejected',
      plannedCaseIds,
      stored,
      heldLookup,
    );
    if (inserted.rowCount === 0) {
      const first = await earlier(facts.key);
      if (first.fingerprint === null || first.fingerprint === facts.fingerprint) return first.result;
      // Same id, different content: another message reusing the id. Refused (never swallowed as a duplicate),
      // recorded under a key of its own so that its own redelivery is recognised.
      const reusedKey = `${facts.key}:reused:${facts.fingerprint.slice(0, 32)}`;
      const reused = idReused(facts);
      const reusedStored: StoredProblems = {
        code: 'PAGW_INBOUND_ID_REUSED',
        errors: reused,
        warnings: outcome.warnings,
      };
      const again = await insert(reusedKey, 'rejected', [], reusedStored);
      if (again.rowCount === 0) return (await earlier(reusedKey)).result;
      const rejection: Extract<MapOutcome, { ok: false }> = {
        ok: false,
        message: { ...facts, key: reusedKey },
        error: new GatewayError('PAGW_INBOUND_ID_REUSED', reused[0]!.message, { problems: reused }),
        warnings: outcome.warnings,
      };
      await recordRejected(tx, deps, message, rejection, actor, at);
      return {
        ...base,
        messageKey: reusedKey,
        outcome: 'rejected',
        duplicate: false,
        caseIds: [],
        errorCode: 'PAGW_INBOUND_ID_REUSED',
        problems: reused,
        warnings: outcome.warnings,
      };
    }
    if (context.held) {
      const audit: AuditEntry[] = [];
      // A resend that still lacks the data answers the case already waiting for it.
      const waiting = await findHeldCase(tx, context.held.request as unknown as AuthorizationRequest);
      const { caseId } = waiting
        ? { caseId: waiting }
        : await recordHeldOrder(tx, deps, {
            incomplete: context.held,
            actor,
            at,
            auditTo: audit,
            ...(message.correlationId ? { correlationId: message.correlationId } : {}),
          });
      audit.push({
        tenant: message.tenant,
        actor,
        action: 'inbound.held',
        details: {
          transport: message.transport,
          format: facts.format,
          messageKey: facts.key,
          caseIds: [caseId],
          missing: context.held.missing.map((f) => f.path),
          ...(waiting ? { stillWaiting: true } : {}),
        },
        at,
      });
      await appendAuditEntries(tx, audit);
      return {
        ...base,
        outcome: 'accepted',
        duplicate: false,
        caseIds: [caseId],
        held: [caseId],
        problems: [],
        warnings: context.warnings ?? [],
      };
    }
    if (outcome.ok) {
      const caseIds = await recordAccepted(tx, deps, message, outcome, actor, at, inserted.rows[0]!.held);
      return {
        ...base,
        outcome: 'accepted',
        duplicate: false,
        caseIds,
        problems: [],
        warnings: outcome.warnings,
      };
    }
    // Not a new order, but one that cancels or changes an order the gateway holds (./order-control-intake.ts).
    const controlled = await recordOrderControl(tx, deps, message, outcome, actor, at);
    if (controlled) return { ...base, ...controlled };
    await recordRejected(tx, deps, message, outcome, actor, at);
    return {
      ...base,
      outcome: 'rejected',
      duplicate: false,
      caseIds: [],
      errorCode: outcome.error.code,
      problems: errors,
      warnings: outcome.warnings,
    };
  });
}

function idReused(facts: MapOutcome['message']): MappingProblem[] {
  return facts.format === 'hl7v2'
    ? [
        {
          code: 'PAGW_INBOUND_ID_REUSED',
          severity: 'error',
          location: 'MSH-10',
          message:
            'this message control id was already used by a different message from this sender: give each message its own MSH-10',
          hl7: { segment: 'MSH', field: 10 },
        },
      ]
    : [
        {
          code: 'PAGW_INBOUND_ID_REUSED',
          severity: 'error',
          location: `${facts.messageType?.split('/')[0] ?? 'Resource'}.meta.versionId`,
          message:
            'this resource id and versionId were already used with different content: a changed resource needs a new versionId',
        },
      ];
}
