/**
 * The pharmacy FHIR client (connectors/pharmacy-fhir) against the simulated pharmacy system as its own process:
 * the seed patient's context read whole (paged searches followed), an unknown patient, a search the system does
 * not offer (unavailable, not empty), an outage (retriable), a token from the vault and a refused one.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createPharmacyFhirClient, type PharmacyEndpoint } from '../../connectors/pharmacy-fhir/client.ts';
import type { Database } from '../../src/store/index.ts';
import type { PatientContextQuery } from '../../src/workflow/ports/patient-context.ts';
import { openTestDatabase, testDatabaseKind } from '../helpers/database.ts';
import { SEED_PRESCRIBER_NPI } from '../helpers/pharmacy.ts';
import { testVault, testVaultActor } from '../helpers/vault.ts';
import { type PharmacySimProcess, startPharmacySimProcess } from '../sim/pharmacy-system/process.ts';

const LOINC = 'http://loinc.org';
const query = (patientId: string, overrides: Partial<PatientContextQuery> = {}): PatientContextQuery => ({
  tenant: 'pharmacy-a',
  sender: 'pioneerrx-demo',
  patientId,
  prescriberNpi: SEED_PRESCRIBER_NPI,
  observationCodes: [{ system: LOINC, code: '71773-6' }],
  ...overrides,
});

describe('pharmacy FHIR client against the simulated pharmacy system', () => {
  let sim: PharmacySimProcess;
  let limited: PharmacySimProcess;
  const endpoint = (s: PharmacySimProcess, extra: Partial<PharmacyEndpoint> = {}): PharmacyEndpoint => ({
    fhirBaseUrl: s.fhirBase,
    timeoutMs: 5000,
    patientIdentifierSystem: 'urn:pagw:pharmacy-a:pioneerrx-demo:patient',
    ...extra,
  });

  beforeAll(async () => {
    [sim, limited] = await Promise.all([
      startPharmacySimProcess(),
      startPharmacySimProcess({ unsupported: ['Observation'], fhirToken: 'fhir-token-123' }),
    ]);
  });
  afterAll(async () => {
    await Promise.all([sim?.stop(), limited?.stop()]);
  });

  it('reads the seed patient whole, following next links', async () => {
    const client = createPharmacyFhirClient({ endpointFor: () => endpoint(sim) });
    const context = await client.fetch(query('pt-1001'));
    expect(context.patient).toMatchObject({
      reference: 'Patient/pt-1001',
      identifiers: [{ system: 'urn:pagw:pharmacy-a:pioneerrx-demo:patient', value: 'pt-1001', type: 'PI' }],
      name: { family: 'Rivera', given: ['Ana'] },
      birthDate: '1978-04-12',
      sex: 'female',
    });
    expect(context.coverages).toEqual({
      available: true,
      items: [
        expect.objectContaining({
          bin: '610014',
          pcn: 'ZZZGROUP',
          group: 'GRP555123',
          cardholderId: 'ZZC123456701',
          personCode: '01',
          relationship: 'self',
        }),
      ],
    });
    // Three MedicationRequests at two per page: the client followed the next link.
    expect(context.medications.available && context.medications.items.map((m) => m.reference).sort()).toEqual(
      ['MedicationRequest/RX-2026-0001', 'MedicationRequest/mr-1001-folic', 'MedicationRequest/mr-1001-mtx'],
    );
    expect(
      context.conditions.available && context.conditions.items.map((c) => c.codes[0]?.code).sort(),
    ).toEqual(['L40.54', 'M05.70']);
    expect(context.observations).toMatchObject({
      available: true,
      items: [{ reference: 'Observation/obs-1001-qft', interpretation: ['NEG'], value: 'Negative' }],
    });
    expect(context.prescriber).toMatchObject({
      npi: SEED_PRESCRIBER_NPI,
      taxonomies: [{ system: 'http://nucc.org/provider-taxonomy', code: '207RR0500X' }],
    });
    expect((await sim.fhirRequests()).some((r) => r.path.includes('_offset=2'))).toBe(true);
  });

  it('says a patient the system does not know is null, and a prescriber it does not know too', async () => {
    const client = createPharmacyFhirClient({ endpointFor: () => endpoint(sim) });
    const context = await client.fetch(query('pt-9999', { prescriberNpi: '1234567893' }));
    expect(context.patient).toBeNull();
    expect(context.prescriber).toBeNull();
    expect(context.medications).toEqual({ available: true, items: [] });
  });

  it('retries an outage: 503 is PAGW_PHARMACY_CONTEXT_UNAVAILABLE, retriable', async () => {
    const client = createPharmacyFhirClient({ endpointFor: () => endpoint(sim) });
    await sim.failFhir(1, 503);
    const error = await client.fetch(query('pt-1001')).catch((e) => e);
    expect(error).toMatchObject({ code: 'PAGW_PHARMACY_CONTEXT_UNAVAILABLE', retriable: true });
    const unreachable = createPharmacyFhirClient({
      endpointFor: () => endpoint(sim, { fhirBaseUrl: 'http://127.0.0.1:1/fhir' }),
    });
    expect(await unreachable.fetch(query('pt-1001')).catch((e) => e)).toMatchObject({ retriable: true });
  });

  describe(`with a token from the vault on ${testDatabaseKind()}`, () => {
    let db: Database;
    beforeAll(async () => {
      db = await openTestDatabase();
    });
    afterAll(async () => {
      await db?.close();
    });

    it('sends the vault token, reports a search the system does not offer as unavailable', async () => {
      const vault = testVault(db);
      await vault.set({
        tenant: 'pharmacy-a',
        name: 'pharmacy/pioneerrx-demo/fhir-token',
        value: 'fhir-token-123',
        actor: testVaultActor,
      });
      const client = createPharmacyFhirClient({
        endpointFor: () => endpoint(limited, { fhirToken: 'pharmacy/pioneerrx-demo/fhir-token' }),
        secrets: vault,
      });
      const context = await client.fetch(query('pt-1001'));
      expect(context.patient?.birthDate).toBe('1978-04-12');
      expect(context.observations).toEqual({
        available: false,
        reason: expect.stringContaining('does not offer Observation search (HTTP 404)'),
      });
      const reads = await db.pool.query<{ n: number }>(
        "SELECT count(*)::int AS n FROM audit_log WHERE action = 'vault.secret_read' AND actor = 'connector:pharmacy-fhir'",
      );
      expect(reads.rows[0]!.n).toBe(1);
    });

    it('a refused token is PAGW_PHARMACY_CONTEXT_REFUSED, not retried', async () => {
      const client = createPharmacyFhirClient({ endpointFor: () => endpoint(limited) });
      expect(await client.fetch(query('pt-1001')).catch((e) => e)).toMatchObject({
        code: 'PAGW_PHARMACY_CONTEXT_REFUSED',
        retriable: false,
      });
    });
  });
});
