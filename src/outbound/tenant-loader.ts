/**
 * Reads tenants/*.json once at start-up (an adapter: it touches the file system) and hands back a lookup.
 * Each file is validated; the file name must match its id, so a copy-paste cannot answer for the wrong clinic.
 */
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { OutboundBuildError } from './errors.ts';
import { bareTenantSettings, parseTenantSettings } from './tenant.ts';
import type { TenantSettings } from './types.generated.ts';

export interface TenantDirectory {
  /** The tenant's settings, or bare settings (no e-mail, no HL7 v2 status) when it has no file. */
  get(tenantId: string): Readonly<TenantSettings>;
  readonly ids: readonly string[];
}

export function loadTenantDirectory(dir: string): TenantDirectory {
  const settings = new Map<string, Readonly<TenantSettings>>();
  for (const file of readdirSync(dir)
    .filter((f) => f.endsWith('.json'))
    .sort()) {
    const location = path.join(dir, file);
    let parsed: unknown;
    try {
      parsed = JSON.parse(readFileSync(location, 'utf8'));
    } catch (error) {
      throw new OutboundBuildError('PAGW_OUTBOUND_TENANT_INVALID', `${location} is not readable JSON`, {
        cause: error,
      });
    }
    const tenant = parseTenantSettings(parsed, location);
    if (`${tenant.id}.json` !== file) {
      throw new OutboundBuildError(
        'PAGW_OUTBOUND_TENANT_INVALID',
        `${location} holds tenant '${tenant.id}': the file must be named ${tenant.id}.json`,
      );
    }
    settings.set(tenant.id, tenant);
  }
  return {
    get: (tenantId) => settings.get(tenantId) ?? bareTenantSettings(tenantId),
    ids: [...settings.keys()],
  };
}
