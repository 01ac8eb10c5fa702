/**
 * The PatientContext port over a pharmacy system's FHIR R4 API: a read of the Patient and six searches run side by
 * side — Coverage (beneficiary), MedicationRequest and Condition (subject), Observation (subject + the codes
 * drafting looks for), Practitioner (by NPI) — following `next` links on the same origin, a bounded number of
 * pages. A bearer token, when the sender needs one, comes from the tenant's vault (audited read per fetch).
 * Errors as the port says: unreachable/timeout/5xx/429 → retriable PAGW_PHARMACY_CONTEXT_UNAVAILABLE;
 * 401/403 or non-FHIR → PAGW_PHARMACY_CONTEXT_REFUSED; a search the system does not offer (400/404/405/501) →
 * that part `available: false`, never an empty list.
 */
import type {
  Bundle,
  Condition,
  Coverage,
  MedicationRequest,
  Observation,
  Patient,
  Practitioner,
} from '@medplum/fhirtypes';
import { GatewayError } from '../../src/errors/index.ts';
import type { SecretReader } from '../../src/vault/port.ts';
import type {
  Fetched,
  PatientContext,
  PatientContextQuery,
  PatientContextSource,
} from '../../src/workflow/ports/patient-context.ts';
import {
  conditionFacts,
  coverageFacts,
  matches,
  medicationFacts,
  NPI_SYSTEM,
  observationFacts,
  patientFacts,
  prescriberFacts,
} from './read.ts';

export interface PharmacyEndpoint {
  readonly fhirBaseUrl: string;
  /** Vault secret name of a bearer token for the API. */
  readonly fhirToken?: string;
  readonly timeoutMs: number;
  /** The identifier system the sender's patient ids are recorded under. */
  readonly patientIdentifierSystem: string;
}

export interface PharmacyFhirClientDeps {
  /** The sender's endpoint, or undefined for a sender no tenant registers. */
  endpointFor(tenant: string, sender: string): PharmacyEndpoint | undefined;
  secrets?: SecretReader;
  /** Pages followed per search (default 10). */
  maxPages?: number;
  fetch?: typeof fetch;
}

type Answer = { kind: 'ok'; body: unknown } | { kind: 'absent'; status: number };

const unsupported = new Set([400, 404, 405, 410, 501]);

export function createPharmacyFhirClient(deps: PharmacyFhirClientDeps): PatientContextSource {
  const doFetch = deps.fetch ?? fetch;
  const maxPages = deps.maxPages ?? 10;

  return {
    async fetch(query: PatientContextQuery): Promise<PatientContext> {
      const endpoint = deps.endpointFor(query.tenant, query.sender);
      if (!endpoint)
        throw new GatewayError('PAGW_PHARMACY_CONTEXT_REFUSED', 'No tenant registers this pharmacy sender', {
          retriable: false,
        });
      const base = endpoint.fhirBaseUrl.replace(/\/+$/, '');
      const origin = new URL(base).origin;
      const token =
        endpoint.fhirToken && deps.secrets
          ? await deps.secrets.read(endpoint.fhirToken, {
              tenant: query.tenant,
              reader: 'connector:pharmacy-fhir',
              onBehalfOf: `sender:${query.sender}`,
            })
          : undefined;

      async function get(url: string, what: string): Promise<Answer> {
        let res: Response;
        try {
          res = await doFetch(url, {
            headers: {
              accept: 'application/fhir+json',
              ...(token ? { authorization: `Bearer ${token}` } : {}),
            },
            signal: AbortSignal.timeout(endpoint!.timeoutMs),
          });
        } catch (error) {
          throw new GatewayError(
            'PAGW_PHARMACY_CONTEXT_UNAVAILABLE',
            `The pharmacy system did not answer the ${what} read (${(error as Error).name})`,
            { retriable: true, cause: error },
          );
        }
        const text = await res.text();
        if (res.status >= 500 || res.status === 429 || res.status === 408)
          throw new GatewayError(
            'PAGW_PHARMACY_CONTEXT_UNAVAILABLE',
            `The pharmacy system answered HTTP ${res.status} to the ${what} read`,
            { retriable: true },
          );
        if (res.status === 401 || res.status === 403)
          throw new GatewayError(
            'PAGW_PHARMACY_CONTEXT_REFUSED',
            `The pharmacy system refused the ${what} read (HTTP ${res.status})`,
            { retriable: false },
          );
        if (!res.ok) return { kind: 'absent', status: res.status };
        try {
          return { kind: 'ok', body: JSON.parse(text) };
        } catch {
          throw new GatewayError(
            'PAGW_PHARMACY_CONTEXT_REFUSED',
            `The pharmacy system's answer to the ${what} read is not JSON`,
            { retriable: false },
          );
        }
      }

      /** All matches of a search, following same-origin `next` links up to maxPages. */
      async function search<T>(
        type: string,
        params: Record<string, string>,
        read: (resources: unknown[]) => T[],
      ): Promise<Fetched<T>> {
        let url: string | undefined = `${base}/${type}?${new URLSearchParams(params).toString()}`;
        const items: T[] = [];
        for (let page = 0; url && page < maxPages; page++) {
          const answer = await get(url, `${type} search`);
          if (answer.kind === 'absent') {
            if (page === 0 && unsupported.has(answer.status))
              return {
                available: false,
                reason: `the pharmacy system does not offer ${type} search (HTTP ${answer.status})`,
              };
            return { available: false, reason: `${type} search failed (HTTP ${answer.status})` };
          }
          const bundle = answer.body as Bundle;
          if (bundle?.resourceType !== 'Bundle')
            throw new GatewayError(
              'PAGW_PHARMACY_CONTEXT_REFUSED',
              `The pharmacy system's ${type} search did not answer a Bundle`,
              { retriable: false },
            );
          items.push(...read(matches(bundle, type as never)));
          const next: string | undefined = bundle.link?.find((l) => l.relation === 'next')?.url;
          url = next && URL.canParse(next) && new URL(next).origin === origin ? next : undefined;
        }
        return { available: true, items };
      }

      const patientRead = async () => {
        const answer = await get(`${base}/Patient/${encodeURIComponent(query.patientId)}`, 'Patient');
        if (answer.kind === 'absent') return null;
        const patient = answer.body as Patient;
        if (patient?.resourceType !== 'Patient') return null;
        return patientFacts({ ...patient, id: query.patientId }, endpoint.patientIdentifierSystem);
      };
      const subject = `Patient/${query.patientId}`;
      const codes = query.observationCodes ?? [];
      const [patient, coverages, medications, conditions, observations, practitioners] = await Promise.all([
        patientRead(),
        search('Coverage', { beneficiary: subject }, (r) => (r as Coverage[]).map(coverageFacts)),
        search('MedicationRequest', { subject, _count: '100' }, (r) =>
          (r as MedicationRequest[]).map(medicationFacts),
        ),
        search('Condition', { subject, _count: '100' }, (r) => (r as Condition[]).map(conditionFacts)),
        codes.length
          ? search(
              'Observation',
              { subject, code: codes.map((c) => `${c.system}|${c.code}`).join(','), _count: '100' },
              (r) => (r as Observation[]).map(observationFacts),
            )
          : Promise.resolve<Fetched<never>>({
              available: false,
              reason: 'no criterion asks for observations',
            }),
        search('Practitioner', { identifier: `${NPI_SYSTEM}|${query.prescriberNpi}` }, (r) =>
          (r as Practitioner[]).map((p) => prescriberFacts(p, query.prescriberNpi)),
        ),
      ]);
      return {
        source: base,
        patient,
        coverages,
        medications,
        conditions,
        observations,
        prescriber: practitioners.available ? (practitioners.items[0] ?? null) : practitioners,
      };
    },
  };
}
