/**
 * The one function every inbound transport (MLLP, HTTP, order topics) calls. It maps and validates the
 * message, then in ONE transaction:
 * - records it in `inbound_messages` (tenant, idempotency key, original bytes — sealed under the tenant's data
 *   key, src/vault/phi.ts — outcome, case ids, problems);
 *   the same message again (same sender + MSH-10; FHIR id + versionId; else a hash of its normalized
 *   content) returns the first outcome and writes nothing;
 * - accepted: creates one case per order group (state received), moves it to validated and schedules a
 *   `workflow.advance` timer due now, so the workflow picks it up;
 * - refused: writes a dead-letter outbox row (the original bytes, the reasons, where it came from);
 * - audits the accept or reject with actor and on-behalf-of.
 * Transports answer the sender (ACK, HTTP status) only after this resolves, i.e. after the commit.
 * Mapping and the answer are here; what the transaction writes is in ./record-inbound.ts.
 */

import { createHash } from 'node:crypto';
import type { Actor } from '../audit/audit-log.ts';
import type { Clock } from '../clock.ts';
import { type ErrorCode, GatewayError, toGatewayError } from '../errors/index.ts';
import { describeError, type Logger } from '../log/logger.ts';
import {
  defaultMessageLimits,
  defaultRegistry,
  type InboundFormat,
  type IncompleteOrder,
  type MapOutcome,
  MappingError,
  type MappingProblem,
  type MappingRegistry,
  type MessageLimits,
  mapOrder,
} from '../mapping/index.ts';
import type { CaseOutboundPlanner } from '../outbound/planner.ts';
import type { TaskOutboundPlanner } from '../outbound/tasks/task-outbound.ts';
import type { Database } from '../store/database.ts';
import { caseIdFor } from '../store/ids.ts';
import type { Tx } from '../store/sql.ts';
import type { PhiCipher, PhiUse } from '../vault/phi.ts';
import type { IntakeAdmission } from './admission.ts';
import { asOrderControl, type InboundOrderControl } from './order-control-intake.ts';
import { inboundRawBinding, recordOutcome, recordUnstorable, type StoredProblems } from './record-inbound.ts';
import { isDataException, storableProblems, storableText } from './storable.ts';

export { InboundDeadLetterHeader, inboundRawBinding, workflowAdvanceTimer } from './record-inbound.ts';

export type InboundTransport = 'mllp' | 'http' | 'bus' | 'cli';

export interface InboundDeps {
  readonly db: Pick<Database, 'pool'>;
  readonly clock: Clock;
  readonly logger: Logger;
  /** config.topics.deadLetter ('pa.deadletter.v1'). */
  readonly deadLetterTopic: string;
  /** Seals the original bytes at rest under the tenant's data key (the vault's PHI cipher). */
  readonly phi: Pick<PhiCipher, 'seal'>;
  /** The mapping data; the mappings shipped in mappings/ when absent. */
  readonly registry?: MappingRegistry;
  /** Back-pressure: intake waits while the workflow's backlog is over its limit (./admission.ts). None: no wait. */
  readonly admission?: Pick<IntakeAdmission, 'admit'>;
  /** Status events (and more) for the new case's `received` and `validated` transitions: src/outbound/planner.ts. */
  readonly outbound?: CaseOutboundPlanner;
  /** Ceilings on one message (config `inbound`); defaultInboundLimits for what is absent. */
  readonly limits?: Partial<InboundLimits>;
  /**
   * Hold an order that lacks only what the ordering provider can supply later (a member id): its case waits in
   * `received` with a task to the provider, and a corrected resend resumes it (src/exceptions/held-orders.ts).
   * Off: such an order is refused like any unmappable one.
   */
  readonly holdIncomplete?: boolean;
  /**
   * Cancel the open cases of orders the EHR withdraws (HL7 ORC-1 CA/OC/DC, FHIR status revoked …), at the payer when
   * it holds them (src/exceptions/cancellations.ts). Off: such a message is refused as not a new order.
   */
  readonly cancelOrders?: boolean;
  /**
   * Update the open cases of orders the EHR changes (HL7 ORC-1 XO/XX): re-run before the payer has them, sent to the
   * payer as an update once it does (src/exceptions/order-changes.ts). Off: such a message is refused as not new.
   */
  readonly changeOrders?: boolean;
  /** Events of the held case's task (task.v1, FHIR Task and HL7 v2 to the provider, e-mail). */
  readonly taskOutbound?: TaskOutboundPlanner;
}

/** config `inbound`: the message size, and the mapper's ceilings (order groups, field length, repetitions). */
export interface InboundLimits extends MessageLimits {
  /** Largest message in bytes (HTTP bodies and MLLP frames are cut off by their transport before this). */
  readonly maxMessageBytes: number;
}

export const defaultInboundLimits: InboundLimits = {
  ...defaultMessageLimits,
  maxMessageBytes: 5 * 1024 * 1024,
};

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
  /**
   * The transport's own idempotency key, replacing the mapper's (`pas:claim:<system>|<value>` for a PAS
   * `Claim/$submit`: the same Claim identifier is the same request, whatever else the Bundle restamps).
   */
  readonly messageKey?: string;
  readonly correlationId?: string;
  /**
   * The transport stopped reading this message at its size limit (an MLLP frame over mllp.maxMessageBytes):
   * `raw` holds only its first bytes. It is recorded with them, dead-lettered and refused as
   * PAGW_INBOUND_TOO_LARGE, never mapped.
   */
  readonly truncated?: {
    /** Bytes received when the transport stopped (the message is at least this long). */
    readonly atLeastBytes: number;
    readonly limit: number;
    /** The setting that holds the limit, for the refusal's text (`mllp.maxMessageBytes`). */
    readonly setting: string;
  };
  /**
   * The transport knows this message cancels or changes an order the gateway holds (a PAS claim update to our
   * Claim/$submit, src/inbound/pas/claim-update.ts): intake acts on that order's open case as for an ORC CA / XO
   * (./order-control-intake.ts). The original bytes are what is recorded.
   */
  readonly control?: InboundOrderControl;
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
  /** Cases held for data the ordering provider must supply (a subset of caseIds): see InboundDeps.holdIncomplete. */
  readonly held?: readonly string[];
}

const tenantPattern = /^[A-Za-z0-9._-]{1,64}$/;

/**
 * A message over inbound.maxMessageBytes (a bus message: HTTP and MLLP stop reading before this), or one its
 * transport cut off at its own limit (`truncated`: only the first bytes are here). Keyed by a hash of the bytes
 * at hand, so the same message sent again is a duplicate, recorded and dead-lettered once.
 */
function tooLarge(message: InboundMessage, limit: number): MapOutcome {
  const fingerprint = createHash('sha256').update(message.raw).digest('hex');
  const format = message.format ?? 'hl7v2';
  const cut = message.truncated;
  const problems: MappingProblem[] = [
    {
      code: 'PAGW_INBOUND_TOO_LARGE',
      severity: 'error',
      location: format === 'hl7v2' ? 'MSH' : '$',
      message: cut
        ? `the message exceeds the limit of ${cut.limit} bytes (${cut.setting}): at least ${cut.atLeastBytes} bytes were received, its first ${message.raw.length} are kept; split it or raise ${cut.setting}`
        : `the message is ${message.raw.length} bytes: the limit is ${limit} (inbound.maxMessageBytes)`,
      ...(format === 'hl7v2' ? { hl7: { segment: 'MSH' } } : {}),
    },
  ];
  return {
    ok: false,
    message: {
      format,
      key: `${format}:${cut ? 'too-large' : 'sha256'}:${fingerprint}`,
      sender: message.sender,
      fingerprint,
    },
    error: new MappingError(problems),
    warnings: [],
  };
}

function mapSafely(deps: InboundDeps, message: InboundMessage, at: Date): MapOutcome {
  const limits = { ...defaultInboundLimits, ...deps.limits };
  if (message.truncated || message.raw.length > limits.maxMessageBytes) {
    return tooLarge(message, limits.maxMessageBytes);
  }
  try {
    return mapOrder(
      {
        format: message.format,
        raw: message.control?.mapFrom ?? message.raw,
        tenant: message.tenant,
        sender: message.sender,
        profile: message.profile,
        receivedAt: at,
        limits,
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
  await deps.admission?.admit(message.transport);
  const at = message.receivedAt ?? deps.clock.now();
  const mapped = withMessageKey(
    asOrderControl(mapSafely(deps, message, at), message.control),
    message.messageKey,
  );
  // Everything below reaches text/jsonb columns: identifiers and problems read from the message, and the
  // transport's metadata, are made storable (see storable.ts); refused content keeps its bytes in bytea.
  const outcome = storableOutcome(mapped);
  const facts = outcome.message;
  const transportSender = storableText(message.sender);
  const actor: Actor = message.actor
    ? {
        id: storableText(message.actor.id),
        onBehalfOf: storableText(message.actor.onBehalfOf) ?? `sender:${facts.sender}`,
      }
    : { id: `${message.transport}:${transportSender}`, onBehalfOf: `sender:${facts.sender}` };
  const held = !outcome.ok && deps.holdIncomplete ? outcome.incomplete : undefined;
  const errors = outcome.ok || held ? [] : asProblems(outcome.error.problems, 'PAGW_INTERNAL');
  const warnings = held ? [...outcome.warnings, ...heldWarnings(held)] : outcome.warnings;
  const stored: StoredProblems = {
    ...(outcome.ok || held ? {} : { code: outcome.error.code }),
    errors,
    warnings,
  };
  const plannedCaseIds = outcome.ok
    ? outcome.requests.map((r) => caseIdFor(message.tenant, r.idempotencyKey))
    : held
      ? [caseIdFor(message.tenant, String(held.request.idempotencyKey))]
      : [];
  const base = {
    format: facts.format,
    messageKey: facts.key,
    sender: facts.sender,
    ...(facts.messageId ? { messageId: facts.messageId } : {}),
  };

  const safeMessage: InboundMessage = {
    ...message,
    sender: transportSender,
    correlationId: storableText(message.correlationId),
    ...(message.source
      ? {
          source: {
            ...message.source,
            key: message.source.key === null ? null : storableText(message.source.key),
          },
        }
      : {}),
  };
  try {
    return await recordOutcome(deps, safeMessage, outcome, {
      actor,
      at,
      base,
      stored,
      errors,
      plannedCaseIds,
      ...(held ? { held, warnings } : {}),
    });
  } catch (error) {
    if (!isDataException(error)) throw error;
    // The database refused a value of this message: every retry would fail the same way, and a sender told
    // to resend would loop forever. Record the bytes and refuse it instead (nothing of its content is stored).
    deps.logger.error(
      { transport: message.transport, ...describeError(error) },
      'inbound message refused by the database: recorded as unstorable',
    );
    return recordUnstorable(deps, safeMessage, facts.format, error, actor, at);
  }
}

/** The transport's key in place of the mapper's, for the message and its cases (case ids derive from it). */
function withMessageKey(outcome: MapOutcome, key: string | undefined): MapOutcome {
  if (!key) return outcome;
  const message = { ...outcome.message, key };
  if (!outcome.ok) return { ...outcome, message };
  return {
    ...outcome,
    message,
    requests: outcome.requests.map((r, i) => ({
      ...r,
      idempotencyKey: `${key}#${r.source.orderIndex ?? i}`,
    })),
  };
}

/** The missing fields of a held order, told to the sender as warnings of an accepted message. */
function heldWarnings(held: IncompleteOrder): MappingProblem[] {
  return held.problems.map((p) => ({
    ...p,
    severity: 'warning' as const,
    message: `${p.message}: the order is held until the ordering provider supplies it (a task was sent)`,
  }));
}

function storableOutcome(outcome: MapOutcome): MapOutcome {
  const message = {
    ...outcome.message,
    key: storableText(outcome.message.key),
    sender: storableText(outcome.message.sender),
    ...(outcome.message.messageId ? { messageId: storableText(outcome.message.messageId) } : {}),
    ...(outcome.message.messageType ? { messageType: storableText(outcome.message.messageType) } : {}),
  };
  const warnings = storableProblems(outcome.warnings);
  if (outcome.ok) return { ...outcome, message, warnings };
  const error = outcome.error;
  const problems = storableProblems(error.problems as MappingProblem[]);
  const safeError =
    error instanceof MappingError
      ? new MappingError(problems, { cause: error.cause })
      : new GatewayError(error.code, storableText(error.message), { cause: error.cause, problems });
  return { ...outcome, message, warnings, error: safeError };
}

/**
 * The original bytes of an inbound message, opened through the audited PHI path inside `tx` (a `phi.read` audit
 * row names who read it). null when there is no such message for the tenant.
 */
export async function readInboundRaw(
  tx: Tx,
  phi: Pick<PhiCipher, 'open'>,
  use: Omit<PhiUse, 'what' | 'ref'>,
  messageKey: string,
): Promise<Buffer | null> {
  const { rows } = await tx.query<{ raw: Buffer; fingerprint: string | null }>(
    'SELECT raw, fingerprint FROM inbound_messages WHERE tenant_id = $1 AND message_key = $2',
    [use.tenant, messageKey],
  );
  const row = rows[0];
  if (!row) return null;
  return phi.open(
    tx,
    { ...use, what: 'inbound_messages.raw', ref: messageKey },
    inboundRawBinding(row.fingerprint),
    row.raw,
  );
}
