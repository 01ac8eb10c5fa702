/**
 * The one function every inbound transport (MLLP, HTTP, order topics) calls. It maps and validates the
 * message, then in ONE transaction:
 * - records it in `inbound_messages` (tenant, idempotency key, original bytes, outcome, case ids, problems);
 *   the same message again (same sender + MSH-10; FHIR id + versionId; else a hash of its normalized
 *   content) returns the first outcome and writes nothing;
 * - accepted: creates one case per order group (state received), moves it to validated and schedules a
 *   `workflow.advance` timer due now, so the workflow picks it up;
 * - refused: writes a dead-letter outbox row (the original bytes, the reasons, where it came from);
 * - audits the accept or reject with actor and on-behalf-of.
 * Transports answer the sender (ACK, HTTP status) only after this resolves, i.e. after the commit.
 */
import { type Actor, type AuditEntry, appendAudit, appendAuditEntries } from '../audit/audit-log.ts';
import { DeadLetterHeader } from '../bus/dead-letter.ts';
import type { Clock } from '../clock.ts';
import { type ErrorCode, GatewayError, toGatewayError } from '../errors/index.ts';
import { describeError, type Logger } from '../log/logger.ts';
import {
  defaultRegistry,
  type InboundFormat,
  type MapOutcome,
  type MappingProblem,
  type MappingRegistry,
  mapOrder,
} from '../mapping/index.ts';
import type { CaseOutboundPlanner } from '../outbound/planner.ts';
import { createCase, transitionCase } from '../store/cases.ts';
import type { Database } from '../store/database.ts';
import { caseIdFor } from '../store/ids.ts';
import { insertOutboxMessages, OutboxHeader } from '../store/outbox.ts';
import { type Tx, withTransaction } from '../store/sql.ts';
import { scheduleTimer } from '../store/timers.ts';

export type InboundTransport = 'mllp' | 'http' | 'bus' | 'cli';

/** The timer kind the workflow advances new cases on. */
export const workflowAdvanceTimer = 'workflow.advance';

/** Headers of an inbound dead-letter record, besides the standard pagw-dlq-* ones. */
export const InboundDeadLetterHeader = {
  transport: 'pagw-source-transport',
  sender: 'pagw-source-sender',
  messageId: 'pagw-source-message-id',
  format: 'pagw-source-format',
  messageKey: 'pagw-message-key',
  problems: 'pagw-dlq-problems',
} as const;

export interface InboundDeps {
  readonly db: Pick<Database, 'pool'>;
  readonly clock: Clock;
  readonly logger: Logger;
  /** config.topics.deadLetter ('pa.deadletter.v1'). */
  readonly deadLetterTopic: string;
  /** The mapping data; the mappings shipped in mappings/ when absent. */
  readonly registry?: MappingRegistry;
  /** Status events (and more) for the new case's `received` and `validated` transitions: src/outbound/planner.ts. */
  readonly outbound?: CaseOutboundPlanner;
}

export interface InboundMessage {
  readonly tenant: string;
  /** Detected from the bytes when absent. */
  readonly format?: InboundFormat;
  readonly raw: Buffer;
  /** The sending client as the transport knows it (token label, MLLP peer, topic header). */
  readonly sender: string;
  readonly transport: InboundTransport;
  readonly receivedAt?: Date;
  /** A sender profile (mappings/senders) to map with; matched from the message when absent. */
  readonly profile?: string;
  /** Who delivered it; on-behalf-of defaults to the sending system. */
  readonly actor?: Actor;
  readonly correlationId?: string;
  /** Where a bus message came from (kept on its dead-letter record). */
  readonly source?: {
    readonly topic: string;
    readonly partition: number;
    readonly offset: string;
    readonly key: string | null;
  };
}

export interface InboundResult {
  readonly outcome: 'accepted' | 'rejected';
  /** True when this message was seen before: the first outcome is returned and nothing was written. */
  readonly duplicate: boolean;
  readonly format: InboundFormat;
  readonly messageKey: string;
  readonly messageId?: string;
  /** The sending system the message names (MSH-3@MSH-4), or the transport's sender. */
  readonly sender: string;
  readonly caseIds: readonly string[];
  /** Why a message was refused (empty when accepted). */
  readonly errorCode?: ErrorCode;
  readonly problems: readonly MappingProblem[];
  readonly warnings: readonly MappingProblem[];
}

interface StoredProblems {
  code?: string;
  errors: MappingProblem[];
  warnings: MappingProblem[];
}

const tenantPattern = /^[A-Za-z0-9._-]{1,64}$/;
const maxHeaderProblems = 8000;

function mapSafely(deps: InboundDeps, message: InboundMessage, at: Date): MapOutcome {
  try {
    return mapOrder(
      {
        format: message.format,
        raw: message.raw,
        tenant: message.tenant,
        sender: message.sender,
        profile: message.profile,
        receivedAt: at,
      },
      deps.registry ?? defaultRegistry(),
    );
  } catch (error) {
    if (error instanceof GatewayError && error.code === 'PAGW_MAP_UNKNOWN_PROFILE') throw error;
    // A mapper bug must not lose the message: it is refused like unmappable input, bytes kept, and logged.
    deps.logger.error(
      { transport: message.transport, ...describeError(error) },
      'mapper failed unexpectedly',
    );
    const failure = toGatewayError(error);
    return {
      ok: false,
      message: {
        format: message.format ?? 'hl7v2',
        key: `internal:${message.transport}:${at.getTime()}:${Math.random().toString(36).slice(2)}`,
        sender: message.sender,
        fingerprint: '',
      },
      error: new GatewayError('PAGW_INTERNAL', 'Internal error while mapping', {
        cause: failure,
        problems: [{ location: '$', message: 'internal error while mapping; the message was kept' }],
      }),
      warnings: [],
    };
  }
}

function asProblems(
  problems: readonly { location: string; message: string }[],
  fallback: MappingProblem['code'],
): MappingProblem[] {
  return problems.map((p) => ({
    code: (p as Partial<MappingProblem>).code ?? fallback,
    severity: 'error',
    location: p.location,
    message: p.message,
    ...((p as Partial<MappingProblem>).hl7 ? { hl7: (p as MappingProblem).hl7 } : {}),
  }));
}

async function recordAccepted(
  tx: Tx,
  deps: InboundDeps,
  message: InboundMessage,
  outcome: Extract<MapOutcome, { ok: true }>,
  actor: Actor,
  at: Date,
): Promise<string[]> {
  const caseIds: string[] = [];
  // Audit rows are appended together as the last step, so the audit chain head is locked only briefly.
  const audit: AuditEntry[] = [];
  for (const request of outcome.requests) {
    const id = caseIdFor(request.tenant, request.idempotencyKey);
    const received = {
      id,
      tenant: request.tenant,
      state: 'received' as const,
      version: 1,
      request,
      decision: null,
    };
    const created = await createCase(tx, {
      request,
      actor,
      at,
      correlationId: message.correlationId,
      outbox: deps.outbound?.({ event: 'received', after: received, previousState: null, at }) ?? [],
      auditTo: audit,
    });
    caseIds.push(created.case.id);
    if (!created.created) continue;
    await transitionCase(tx, {
      tenant: message.tenant,
      caseId: created.case.id,
      event: 'validated',
      actor,
      at,
      data: { format: request.source.format, orderIndex: request.source.orderIndex ?? 0 },
      correlationId: message.correlationId,
      outbox: (after, before) =>
        deps.outbound?.({ event: 'validated', after, previousState: before.state, at }) ?? [],
      auditTo: audit,
    });
    await scheduleTimer(
      tx,
      { tenant: message.tenant, caseId: created.case.id, kind: workflowAdvanceTimer, dueAt: at },
      at,
    );
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
      warnings: outcome.warnings.map((w) => `${w.location}: ${w.message}`),
    },
    at,
  });
  await appendAuditEntries(tx, audit);
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

/** Maps, records and answers one inbound message (see the file comment). Throws only for store failures. */
export async function acceptInboundMessage(
  deps: InboundDeps,
  message: InboundMessage,
): Promise<InboundResult> {
  if (!tenantPattern.test(message.tenant)) {
    throw new GatewayError(
      'PAGW_INBOUND_NO_TENANT',
      'The tenant must be 1-64 letters, digits, dots, dashes or underscores',
    );
  }
  const at = message.receivedAt ?? deps.clock.now();
  const outcome = mapSafely(deps, message, at);
  const facts = outcome.message;
  const actor: Actor = message.actor
    ? { id: message.actor.id, onBehalfOf: message.actor.onBehalfOf ?? `sender:${facts.sender}` }
    : { id: `${message.transport}:${message.sender}`, onBehalfOf: `sender:${facts.sender}` };
  const errors = outcome.ok ? [] : asProblems(outcome.error.problems, 'PAGW_INTERNAL');
  const stored: StoredProblems = {
    ...(outcome.ok ? {} : { code: outcome.error.code }),
    errors,
    warnings: outcome.warnings,
  };
  const plannedCaseIds = outcome.ok
    ? outcome.requests.map((r) => caseIdFor(message.tenant, r.idempotencyKey))
    : [];
  const base = {
    format: facts.format,
    messageKey: facts.key,
    sender: facts.sender,
    ...(facts.messageId ? { messageId: facts.messageId } : {}),
  };

  return withTransaction(deps.db.pool, async (tx): Promise<InboundResult> => {
    const insert = (key: string, outcomeText: string, caseIds: string[], problems: StoredProblems) =>
      tx.query(
        `INSERT INTO inbound_messages
           (tenant_id, message_key, format, raw, received_at, outcome, case_ids, problems, fingerprint)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)
         ON CONFLICT (tenant_id, message_key) DO NOTHING RETURNING message_key`,
        [
          message.tenant,
          key,
          facts.format,
          message.raw,
          at,
          outcomeText,
          caseIds,
          problems,
          facts.fingerprint,
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

    const inserted = await insert(facts.key, outcome.ok ? 'accepted' : 'rejected', plannedCaseIds, stored);
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
    if (outcome.ok) {
      const caseIds = await recordAccepted(tx, deps, message, outcome, actor, at);
      return {
        ...base,
        outcome: 'accepted',
        duplicate: false,
        caseIds,
        problems: [],
        warnings: outcome.warnings,
      };
    }
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
