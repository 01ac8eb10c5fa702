/**
 * The transactional outbox: events are written in the same transaction as the state change they announce,
 * and a relay publishes them afterwards. Each row has a unique event id that consumers dedupe on.
 */

import { newEventId } from './ids.ts';
import type { Tx } from './sql.ts';

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

export async function insertOutboxMessages(
  tx: Tx,
  context: { tenant: string; caseId?: string; correlationId?: string; at: Date },
  messages: readonly OutboxMessage[],
): Promise<StoredOutboxMessage[]> {
  const stored: StoredOutboxMessage[] = [];
  for (const message of messages) {
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
    const { rows } = await tx.query<{ id: number }>(
      `INSERT INTO outbox (event_id, tenant_id, case_id, topic, message_key, headers, value, created_at)
       VALUES ($1, $2, $3, $4, $5, $6, $7, $8)
       ON CONFLICT (event_id) DO NOTHING RETURNING id`,
      [
        eventId,
        context.tenant,
        context.caseId ?? null,
        message.topic,
        message.key,
        headers,
        toBytes(message.value),
        context.at,
      ],
    );
    if (rows[0]) stored.push({ id: rows[0].id, eventId, topic: message.topic, key: message.key });
  }
  return stored;
}
