import { createHash, randomUUID } from 'node:crypto';

/**
 * A deterministic UUID (version 8, RFC 9562 custom) from a name: replaying the same inbound order always
 * yields the same case id, so a redelivery can never fork a second case.
 */
export function deterministicUuid(...parts: string[]): string {
  const bytes = createHash('sha256').update(parts.join('\u0000')).digest().subarray(0, 16);
  bytes[6] = (bytes[6]! & 0x0f) | 0x80;
  bytes[8] = (bytes[8]! & 0x3f) | 0x80;
  const hex = bytes.toString('hex');
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
}

export function caseIdFor(tenant: string, idempotencyKey: string): string {
  return deterministicUuid('case', tenant, idempotencyKey);
}

export const newEventId = randomUUID;

export const uuidPattern = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
