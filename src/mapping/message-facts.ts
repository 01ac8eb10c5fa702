/**
 * What both formats work out about a message the same way: its idempotency key and fingerprint (hashes, so keys
 * stay PHI-free and a redelivery is recognised), its sender profile and when it was received. Apart from the format
 * mappers so that HL7 v2 and FHIR messages are keyed by one rule.
 */
import { createHash } from 'node:crypto';
import type { MapInput } from './outcome.ts';
import type { MappingRegistry } from './registry.ts';
import type { SenderProfile } from './types.generated.ts';

export function sha256(data: Uint8Array | string): string {
  return createHash('sha256').update(data).digest('hex');
}

/** Keys stay short and PHI-free: long parts are hashed. */
export function messageKey(parts: string[]): string {
  const key = parts.join(':');
  return key.length <= 400 ? key : `${parts[0]}:sha256:${sha256(key)}`;
}

/** JSON with object keys sorted at every level: the same content gives the same text, however it was written. */
export function stableJson(value: unknown): string {
  if (value === null || typeof value !== 'object') return JSON.stringify(value) ?? 'null';
  if (Array.isArray(value)) {
    let out = '[';
    for (let i = 0; i < value.length; i++) out += `${i > 0 ? ',' : ''}${stableJson(value[i])}`;
    return `${out}]`;
  }
  const object = value as Record<string, unknown>;
  const keys = Object.keys(object).sort();
  let out = '{';
  let first = true;
  for (const key of keys) {
    const child = object[key];
    if (child === undefined) continue;
    out += `${first ? '' : ','}${JSON.stringify(key)}:${stableJson(child)}`;
    first = false;
  }
  return `${out}}`;
}

export function toIso(at: Date | string | undefined): string | undefined {
  if (at === undefined) return undefined;
  const date = typeof at === 'string' ? new Date(at) : at;
  return Number.isNaN(date.getTime()) ? undefined : date.toISOString();
}

export function selectProfile(
  registry: MappingRegistry,
  input: MapInput,
  facts: { sendingApplication?: string; sendingFacility?: string },
): SenderProfile | undefined {
  if (input.profile) return registry.profile(input.profile);
  return registry.matchProfile({ ...facts, sender: input.sender });
}
