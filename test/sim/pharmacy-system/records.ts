/**
 * The simulated pharmacy system's patients, as FHIR R4 resources. Dates are given in days before "now" (the
 * simulator's start, or the time a test passes), so look-back windows hold whenever the tests run.
 *
 *   pt-1001  the seed patient of issue #15: RA (M05.70) and psoriatic arthropathy (L40.54), methotrexate 120 days
 *            ago, a negative QuantiFERON 60 days ago, a rheumatologist prescriber, Coverage BIN 610014 / PCN
 *            ZZZGROUP / group GRP555123 / cardholder ZZC123456701 → every adalimumab RA criterion met
 *   pt-1002  plaque psoriasis (L40.0), no conventional systemic drug on file, no TB screening, the same
 *            rheumatologist → diagnosis met, prior trial and TB unknown, specialty not met (dermatology wanted)
 *   pt-1003  a patient whose Coverage carries no cardholder id → the request cannot be built (needs info)
 *   pt-1004  a positive QuantiFERON → TB screening not met; cardholder DENY… → the simulated payer denies
 */
import type { Bundle, Resource } from '@medplum/fhirtypes';

const DAY = 86_400_000;
const NPI = 'http://hl7.org/fhir/sid/us-npi';
const RXNORM = 'http://www.nlm.nih.gov/research/umls/rxnorm';
const NDC = 'http://hl7.org/fhir/sid/ndc';
const ICD10 = 'http://hl7.org/fhir/sid/icd-10-cm';
const LOINC = 'http://loinc.org';
const NUCC = 'http://nucc.org/provider-taxonomy';
const COVERAGE_CLASS = 'http://terminology.hl7.org/CodeSystem/coverage-class';
const INTERPRETATION = 'http://terminology.hl7.org/CodeSystem/v3-ObservationInterpretation';

export const simPrescribers = {
  rheumatologist: '1487654323',
  dermatologist: '1928374655',
} as const;

export function simRecords(now: Date): Resource[] {
  const ago = (days: number) => new Date(now.getTime() - days * DAY).toISOString().slice(0, 10);
  const patient = (id: string, family: string, given: string, birthDate: string, gender: 'female' | 'male') =>
    ({
      resourceType: 'Patient',
      id,
      name: [{ use: 'official', family, given: [given] }],
      birthDate,
      gender,
    }) as const;
  const coverage = (id: string, patientId: string, cardholder: string | undefined) => ({
    resourceType: 'Coverage' as const,
    id,
    status: 'active' as const,
    beneficiary: { reference: `Patient/${patientId}` },
    ...(cardholder ? { subscriberId: cardholder } : {}),
    dependent: '01',
    relationship: { coding: [{ code: 'self' }] },
    payor: [{ display: 'Example PBM' }],
    class: [
      { type: { coding: [{ system: COVERAGE_CLASS, code: 'rxbin' }] }, value: '610014' },
      { type: { coding: [{ system: COVERAGE_CLASS, code: 'rxpcn' }] }, value: 'ZZZGROUP' },
      { type: { coding: [{ system: COVERAGE_CLASS, code: 'rxgroup' }] }, value: 'GRP555123' },
    ],
  });
  const medication = (
    id: string,
    patientId: string,
    days: number,
    codes: [string, string, string][],
    status = 'completed',
  ) => ({
    resourceType: 'MedicationRequest' as const,
    id,
    status,
    intent: 'order',
    subject: { reference: `Patient/${patientId}` },
    authoredOn: ago(days),
    medicationCodeableConcept: {
      coding: codes.map(([system, code, display]) => ({ system, code, display })),
      text: codes[0]![2],
    },
  });
  const condition = (id: string, patientId: string, code: string, display: string, days: number) => ({
    resourceType: 'Condition' as const,
    id,
    subject: { reference: `Patient/${patientId}` },
    clinicalStatus: { coding: [{ code: 'active' }] },
    verificationStatus: { coding: [{ code: 'confirmed' }] },
    code: { coding: [{ system: ICD10, code, display }] },
    recordedDate: ago(days),
  });
  const quantiferon = (id: string, patientId: string, days: number, positive: boolean) => ({
    resourceType: 'Observation' as const,
    id,
    status: 'final',
    subject: { reference: `Patient/${patientId}` },
    code: { coding: [{ system: LOINC, code: '71773-6', display: 'QuantiFERON-TB Gold result' }] },
    effectiveDateTime: `${ago(days)}T09:30:00Z`,
    valueCodeableConcept: { coding: [{ display: positive ? 'Positive' : 'Negative' }] },
    interpretation: [{ coding: [{ system: INTERPRETATION, code: positive ? 'POS' : 'NEG' }] }],
  });
  const humira: [string, string, string] = [NDC, '00074043361', 'Humira 40 mg/0.4 mL pen'];
  const methotrexate: [string, string, string][] = [
    [RXNORM, '105585', 'methotrexate 2.5 MG Oral Tablet'],
    [RXNORM, '6851', 'methotrexate'],
  ];
  return [
    {
      resourceType: 'Practitioner',
      id: 'pr-rheum',
      identifier: [{ system: NPI, value: simPrescribers.rheumatologist }],
      name: [{ family: 'Okafor', given: ['Grace'], prefix: ['Dr.'] }],
      qualification: [{ code: { coding: [{ system: NUCC, code: '207RR0500X', display: 'Rheumatology' }] } }],
    },
    {
      resourceType: 'Practitioner',
      id: 'pr-derm',
      identifier: [{ system: NPI, value: simPrescribers.dermatologist }],
      name: [{ family: 'Lindqvist', given: ['Erik'], prefix: ['Dr.'] }],
      qualification: [{ code: { coding: [{ system: NUCC, code: '207N00000X', display: 'Dermatology' }] } }],
    },
    patient('pt-1001', 'Rivera', 'Ana', '1978-04-12', 'female'),
    coverage('cov-1001', 'pt-1001', 'ZZC123456701'),
    medication('mr-1001-mtx', 'pt-1001', 120, methotrexate),
    medication('mr-1001-folic', 'pt-1001', 120, [[RXNORM, '4511', 'folic acid']]),
    medication('RX-2026-0001', 'pt-1001', 0, [humira], 'active'),
    condition('cond-1001-ra', 'pt-1001', 'M05.70', 'Rheumatoid arthritis with rheumatoid factor', 700),
    condition('cond-1001-psa', 'pt-1001', 'L40.54', 'Psoriatic juvenile arthropathy', 400),
    quantiferon('obs-1001-qft', 'pt-1001', 60, false),
    patient('pt-1002', 'Nguyen', 'Bao', '1985-09-30', 'male'),
    coverage('cov-1002', 'pt-1002', 'ZZC555000102'),
    condition('cond-1002-pso', 'pt-1002', 'L40.0', 'Psoriasis vulgaris', 300),
    patient('pt-1003', 'Kowalski', 'Marta', '1969-01-05', 'female'),
    coverage('cov-1003', 'pt-1003', undefined),
    patient('pt-1004', 'Haddad', 'Omar', '1990-06-17', 'male'),
    coverage('cov-1004', 'pt-1004', 'DENY0004'),
    medication('mr-1004-mtx', 'pt-1004', 90, methotrexate),
    condition(
      'cond-1004-ra',
      'pt-1004',
      'M05.79',
      'Rheumatoid arthritis with rheumatoid factor of multiple sites',
      500,
    ),
    quantiferon('obs-1004-qft', 'pt-1004', 30, true),
  ] as Resource[];
}

export function searchBundle(resources: Resource[]): Bundle {
  return {
    resourceType: 'Bundle',
    type: 'searchset',
    total: resources.length,
    entry: resources.map((resource) => ({
      fullUrl: `${resource.resourceType}/${resource.id}`,
      resource,
      search: { mode: 'match' },
    })),
  };
}
