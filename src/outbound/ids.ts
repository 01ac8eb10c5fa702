/**
 * Deterministic ids for what the outbound layer publishes, so a replayed transition republishes the same id
 * (the outbox drops the duplicate, a subscriber dedupes on it) and goldens stay stable.
 */
import { deterministicUuid } from '../store/ids.ts';
import type { TenantSettings } from './types.generated.ts';

export type OutboundKind =
  | 'claimresponse'
  | 'status'
  | 'hl7v2-status'
  | 'pharmacy-writeback'
  | `email:${string}`;

/** The event id of one outbound message: case id + case version (after the transition) + kind. */
export function outboundEventId(caseId: string, caseVersion: number, kind: OutboundKind): string {
  return deterministicUuid('outbound', caseId, String(caseVersion), kind);
}

/**
 * An identifier system of this clinic: `<base>:<name>` for a URN base (default `urn:pagw:<tenant>`), or
 * `<base>/<name>` for a URL base.
 */
export function identifierSystem(tenant: Pick<TenantSettings, 'id' | 'fhir'>, name: string): string {
  const base = tenant.fhir?.identifierSystemBase ?? `urn:pagw:${tenant.id}`;
  return base.startsWith('urn:') ? `${base}:${name}` : `${base.replace(/\/+$/, '')}/${name}`;
}
