/**
 * Pharmacy test material: the seed PA flag of issue #15 (adalimumab, M05.70 / L40.54, BIN 610014, PCN ZZZGROUP,
 * group GRP555123), signing it as the sender does, and a tenant registering the sender.
 */
import { createPharmacySenders, type PharmacySenders } from '../../src/inbound/pharmacy/senders.ts';
import { signatureHeader } from '../../src/inbound/pharmacy/signature.ts';
import { defaultPharmacyMappings } from '../../src/mapping/pharmacy/registry.ts';
import { parseTenantSettings } from '../../src/outbound/tenant.ts';
import type { TenantSettings } from '../../src/outbound/types.generated.ts';

export const SEED_SENDER = 'pioneerrx-demo';
export const SEED_TENANT = 'pharmacy-a';
export const SEED_SECRET_NAME = 'pharmacy/pioneerrx-demo/webhook';
export const SEED_SECRET = 'whsec-test-3f0c9b7e2a1d4c8f';
export const SEED_PRESCRIBER_NPI = '1487654323';
export const SEED_PATIENT_ID = 'pt-1001';

export function seedFlag(overrides: Record<string, unknown> = {}, at = new Date()): Record<string, unknown> {
  return {
    event_type: 'PA_FLAGGED',
    timestamp: at.toISOString(),
    prescription_id: 'RX-2026-0001',
    patient_id: SEED_PATIENT_ID,
    drug_ndc: '00074043361',
    drug_name: 'Humira 40 mg/0.4 mL pen',
    quantity: 2,
    days_supply: 28,
    refills: 5,
    diagnosis_codes: ['M05.70', 'L40.54'],
    prescriber_npi: SEED_PRESCRIBER_NPI,
    payer_bin: '610014',
    pcn: 'ZZZGROUP',
    group_id: 'GRP555123',
    platform_context_url: 'http://127.0.0.1:8792/fhir/MedicationRequest/RX-2026-0001',
    ...overrides,
  };
}

/** The headers a sender using mappings/pharmacy/pa-flag-v1 sends with `body`. */
export function signedHeaders(
  body: string | Buffer,
  options: { secret?: string; sender?: string } = {},
): Record<string, string> {
  const mapping = defaultPharmacyMappings().get('pharmacy/pa-flag-v1')!;
  return {
    'content-type': 'application/json',
    'x-pagw-sender': options.sender ?? SEED_SENDER,
    [mapping.signature.header]: signatureHeader(body, options.secret ?? SEED_SECRET, mapping.signature),
  };
}

export function pharmacyTenant(overrides: Partial<TenantSettings> = {}, base = 'http://127.0.0.1:8792') {
  return parseTenantSettings({
    id: SEED_TENANT,
    displayName: 'Main Street Pharmacy',
    pharmacy: {
      senders: [
        {
          id: SEED_SENDER,
          mapping: 'pharmacy/pa-flag-v1',
          webhookSecretRef: `vault:${SEED_SECRET_NAME}`,
          fhirBaseUrl: `${base}/fhir`,
          callbackUrl: `${base}/callbacks/pa-status`,
        },
        {
          id: 'nested-rx',
          mapping: 'pharmacy/nested-example',
          webhookSecretRef: 'vault:pharmacy/nested-rx/webhook',
          fhirBaseUrl: `${base}/fhir`,
        },
      ],
    },
    ...overrides,
  });
}

export function testPharmacySenders(tenant = pharmacyTenant()): PharmacySenders {
  return createPharmacySenders({
    tenants: { ids: [tenant.id], get: () => tenant as TenantSettings },
    mappings: defaultPharmacyMappings(),
  });
}
