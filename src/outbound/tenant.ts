/**
 * Tenant (clinic) settings as data: tenants/<id>.json, checked against schemas/tenant.json with its defaults
 * applied. Pure: the loader that reads the folder is ./tenant-loader.ts.
 */
import tenantSchema from '../../schemas/tenant.json' with { type: 'json' };
import { ajvErrorsToProblems, createAjv } from '../canonical/schema-validator.ts';
import { OutboundBuildError } from './errors.ts';
import type { TenantSettings } from './types.generated.ts';

export type { TenantSettings } from './types.generated.ts';

const ajv = createAjv([tenantSchema], { useDefaults: true });
const validateTenant = ajv.getSchema(tenantSchema.$id)!;

function deepFreeze<T>(value: T): T {
  if (typeof value === 'object' && value !== null) {
    for (const child of Object.values(value)) deepFreeze(child);
    Object.freeze(value);
  }
  return value;
}

/** Validates one tenant's settings (a copy gets the schema defaults) and freezes them; throws OutboundBuildError. */
export function parseTenantSettings(
  candidate: unknown,
  origin = 'tenant settings',
): Readonly<TenantSettings> {
  const copy: unknown = structuredClone(candidate);
  if (!validateTenant(copy)) {
    const problems = ajvErrorsToProblems(validateTenant.errors);
    throw new OutboundBuildError(
      'PAGW_OUTBOUND_TENANT_INVALID',
      `${origin} is invalid: ${problems.map((p) => `${p.location}: ${p.message}`).join('; ')}`,
      { problems },
    );
  }
  return deepFreeze(copy as TenantSettings);
}

/**
 * Settings of a tenant with no file: its id as name, no e-mail and no HL7 v2 status messages (ClaimResponse and
 * status events do not depend on tenant settings).
 */
export function bareTenantSettings(tenantId: string): Readonly<TenantSettings> {
  return parseTenantSettings({ id: tenantId, displayName: tenantId });
}
