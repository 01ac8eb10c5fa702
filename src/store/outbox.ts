/**
 * The transactional outbox: events are written in the same transaction as the state change they announce,
 * and a relay publishes them afterwards. Each row has a unique event id that consumers dedupe on.
 */

import { insertRows, insertStatement, rowsPerStatement } from './bulk-insert.ts';
import { newEventId } from './ids.ts';
import { raiseAfterCommit } from './signals.ts';
import type { Tx } from './sql.ts';
import type { Statement } from './together.ts';

export interface OutboxMessage {
  readonly topic: string;
  /** Partition key: the case id for case events, so one case stays on one partition. */
  readonly key: string | null;
  readonly value: Buffer | string | object;
  readonly headers?: Record<string, string>;
  /** Fixed event id (idempotent replays); a random UUID when absent. */
  readonly eventId?: string;
}

export interface StoredOutboxMessage {
  id: number;
  eventId: string;
  topic: string;
  key: string | null;
}

/** Standard headers on every event: tenant, correlation id, event id and schema version. */
export const OutboxHeader = {
  tenant: 'pagw-tenant',
  correlationId: 'pagw-correlation-id',
  eventId: 'pagw-event-id',
  schemaVersion: 'pagw-schema-version',
  caseId: 'pagw-case-id',
  contentType: 'content-type',
} as const;

function toBytes(value: OutboxMessage['value']): Buffer {
  if (Buffer.isBuffer(value)) return value;
  if (typeof value === 'string') return Buffer.from(value, 'utf8');
  return Buffer.from(JSON.stringify(value), 'utf8');
}

const outboxColumns = [
  'event_id',
  'tenant_id',
  'case_id',
  'topic',
  'message_key',
  'headers',
  'value',
  'created_at',
];

function outboxInsert(rows: unknown[][]): Statement {
  const insert = insertStatement('outbox', outboxColumns, rows);
  return { text: `${insert.text} ON CONFLICT (event_id) DO NOTHING`, values: insert.values };
}

/** The most outbox rows one statement writes (PostgreSQL's limit on bind parameters). */
export const outboxRowsPerStatement = rowsPerStatement(outboxColumns);

/**
 * insertOutboxRows as a statement, for a caller that sends it with other writes (./together.ts): none for no rows;
 * at most outboxRowsPerStatement rows (more: call insertOutboxRows). Raises the relay's wake-up for when the
 * transaction commits, as insertOutboxRows does.
 */
export function outboxRowsStatements(tx: Pick<Tx, 'query'>, rows: readonly OutboxRowInput[]): Statement[] {
  if (rows.length === 0) return [];
  raiseAfterCommit(tx, 'outbox');
  return [outboxInsert(rows.map((row) => outboxRow(row.context, row.message).values))];
}

/** Outbox rows held back in a transaction (holdOutboxRows), in the order they were written. */
const deferred = new WeakMap<object, unknown[][]>();

/**
 * Runs `work` with the transaction's outbox rows held back instead of written at once, then returns the statements
 * that write them all, in order, as one INSERT: for a caller that sends them with its other last writes in one round
 * trip (./together.ts; issue #17). Within `work` nothing may read the outbox rows it wrote (they are not there yet),
 * and insertOutboxMessages returns no ids. Rows keep their order, so the relay publishes them as written.
 */
export async function holdOutboxRows<T>(
  tx: Pick<Tx, 'query'>,
  work: () => Promise<T>,
): Promise<{ result: T; writeHeld: Statement[] }> {
  if (deferred.has(tx)) throw new Error('holdOutboxRows: this transaction holds its outbox rows already');
  const held: unknown[][] = [];
  deferred.set(tx, held);
  try {
    const result = await work();
    if (held.length === 0) return { result, writeHeld: [] };
    if (held.length > outboxRowsPerStatement) {
      // More than one statement holds (thousands of rows): written now, in order, rather than as several CTEs of
      // one statement, whose order among themselves is not defined.
      await insertRows(tx, 'outbox', outboxColumns, held, 'ON CONFLICT (event_id) DO NOTHING');
      return { result, writeHeld: [] };
    }
    return { result, writeHeld: [outboxInsert(held)] };
  } finally {
    deferred.delete(tx); // also when work throws: the client goes back to the pool, and must write normally
  }
}

export async function insertOutboxMessages(
  tx: Tx,
  context: { tenant: string; caseId?: string; correlationId?: string; at: Date },
  messages: readonly OutboxMessage[],
): Promise<StoredOutboxMessage[]> {
  // One multi-row statement for a transition's events (status event, ClaimResponse, HL7 v2 status …), not one each.
  return insertOutboxRows(
    tx,
    messages.map((message) => ({ context, message })),
  );
}

/** One outbox row with the context it is written in (several cases' events in one batch). */
export interface OutboxRowInput {
  readonly context: OutboxContext;
  readonly message: OutboxMessage;
}

export interface OutboxContext {
  readonly tenant: string;
  readonly caseId?: string;
  readonly correlationId?: string;
  readonly at: Date;
}

function outboxRow(context: OutboxContext, message: OutboxMessage): { eventId: string; values: unknown[] } {
  const eventId = message.eventId ?? newEventId();
  const headers: Record<string, string> = {
    [OutboxHeader.tenant]: context.tenant,
    [OutboxHeader.eventId]: eventId,
    ...(context.caseId ? { [OutboxHeader.caseId]: context.caseId } : {}),
    ...(context.correlationId ? { [OutboxHeader.correlationId]: context.correlationId } : {}),
    ...(Buffer.isBuffer(message.value) || typeof message.value === 'string'
      ? {}
      : { [OutboxHeader.contentType]: 'application/json' }),
    ...message.headers,
  };
  return {
    eventId,
    values: [
      eventId,
      context.tenant,
      context.caseId ?? null,
      message.topic,
      message.key,
      headers,
      toBytes(message.value),
      context.at,
    ],
  };
}

/**
 * insertOutboxMessages for many rows at once, in multi-row statements (a message of many order groups writes
 * every case's events in a few statements instead of one round trip each). Rows keep their order, so the
 * relay publishes them as given.
 */
export async function insertOutboxRows(
  tx: Pick<Tx, 'query'>,
  rows: readonly OutboxRowInput[],
): Promise<StoredOutboxMessage[]> {
  if (rows.length === 0) return [];
  const built = rows.map((row) => ({ ...outboxRow(row.context, row.message), message: row.message }));
  const held = deferred.get(tx);
  if (held) {
    held.push(...built.map((b) => b.values));
    raiseAfterCommit(tx, 'outbox');
    return []; // not written yet: no ids
  }
  const inserted = await insertRows<{ id: string | number; event_id: string }>(
    tx,
    'outbox',
    outboxColumns,
    built.map((b) => b.values),
    'ON CONFLICT (event_id) DO NOTHING RETURNING id, event_id',
  );
  const ids = new Map(inserted.map((r) => [r.event_id, Number(r.id)]));
  // Wake the relay once this commits, rather than leaving the rows to its next poll.
  if (inserted.length > 0) raiseAfterCommit(tx, 'outbox');
  return built.flatMap((b) => {
    const id = ids.get(b.eventId);
    return id === undefined ? [] : [{ id, eventId: b.eventId, topic: b.message.topic, key: b.message.key }];
  });
}
