/**
 * The pharmacy systems allowed to post PA flags, from the tenants' settings (tenants/<id>.json `pharmacy.senders`):
 * sender id → tenant, mapping, secrets and the system's URLs. A sender id names one system across all tenants, so
 * the signature check knows whose secret to use before it trusts anything in the body. Checked once at start.
 */
import { ConfigError } from '../../errors/index.ts';
import type { PharmacyMappings } from '../../mapping/pharmacy/registry.ts';
import type { PharmacyWebhookMapping } from '../../mapping/pharmacy/types.generated.ts';
import type { PharmacySender } from '../../outbound/types.generated.ts';
import { vaultRefName } from '../../vault/port.ts';

export interface PharmacySenderConfig {
  readonly id: string;
  readonly tenant: string;
  readonly displayName: string;
  readonly mapping: PharmacyWebhookMapping;
  /** Vault secret names (not references). */
  readonly webhookSecret: string;
  readonly callbackSecret: string;
  readonly fhirToken?: string;
  readonly replayWindowMs: number;
  readonly fhirBaseUrl: string;
  readonly callbackUrl?: string;
  readonly timeoutMs: number;
  /** The system of the patient ids it sends: urn:pagw:<tenant>:<sender>:patient. */
  readonly patientIdentifierSystem: string;
}

export interface PharmacySenders {
  readonly ids: readonly string[];
  get(id: string): PharmacySenderConfig | undefined;
}

/** Replaces scheme, host and port of `url` with those of `base` (keeps path and query). */
function rebase(url: string, base: string | undefined): string {
  if (!base) return url;
  const target = new URL(url);
  const origin = new URL(base);
  target.protocol = origin.protocol;
  target.host = origin.host;
  return target.toString();
}

export function pharmacySenderIdentifierSystem(tenant: string, sender: string): string {
  return `urn:pagw:${tenant}:${sender}:patient`;
}

export function createPharmacySenders(input: {
  tenants: { readonly ids: readonly string[]; get(id: string): { pharmacy?: { senders: PharmacySender[] } } };
  mappings: PharmacyMappings;
  /** config.pharmacyEndpoints: sender id → base URL. */
  endpoints?: Readonly<Record<string, string>>;
}): PharmacySenders {
  const byId = new Map<string, PharmacySenderConfig>();
  const problems: { location: string; message: string }[] = [];
  for (const tenant of input.tenants.ids) {
    for (const sender of input.tenants.get(tenant).pharmacy?.senders ?? []) {
      const location = `tenants/${tenant}.json: pharmacy.senders[${sender.id}]`;
      const clash = byId.get(sender.id);
      if (clash) {
        problems.push({ location, message: `sender id ${sender.id} is also registered by ${clash.tenant}` });
        continue;
      }
      const mapping = input.mappings.get(sender.mapping);
      if (!mapping) {
        problems.push({ location, message: `mapping ${sender.mapping} does not exist under mappings/` });
        continue;
      }
      const base = input.endpoints?.[sender.id];
      const webhookSecret = vaultRefName(sender.webhookSecretRef)!;
      const fhirToken = vaultRefName(sender.fhirTokenRef);
      byId.set(sender.id, {
        id: sender.id,
        tenant,
        displayName: sender.displayName ?? sender.id,
        mapping,
        webhookSecret,
        callbackSecret: vaultRefName(sender.callbackSecretRef) ?? webhookSecret,
        ...(fhirToken ? { fhirToken } : {}),
        replayWindowMs: (sender.replayWindowSeconds ?? 300) * 1000,
        fhirBaseUrl: rebase(sender.fhirBaseUrl, base),
        ...(sender.callbackUrl ? { callbackUrl: rebase(sender.callbackUrl, base) } : {}),
        timeoutMs: sender.timeoutMs ?? 10_000,
        patientIdentifierSystem: pharmacySenderIdentifierSystem(tenant, sender.id),
      });
    }
  }
  for (const id of Object.keys(input.endpoints ?? {}))
    if (!byId.has(id) && !problems.some((p) => p.location.includes(`[${id}]`)))
      problems.push({ location: `pharmacyEndpoints.${id}`, message: 'no tenant registers this sender' });
  if (problems.length > 0)
    throw new ConfigError(
      'PAGW_PHARMACY_SENDER_INVALID',
      `Invalid pharmacy senders: ${problems.map((p) => `${p.location}: ${p.message}`).join('; ')}`,
      { problems },
    );
  return { ids: [...byId.keys()], get: (id) => byId.get(id) };
}
