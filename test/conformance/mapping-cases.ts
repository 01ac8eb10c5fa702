/**
 * Every inbound fixture (test/fixtures/hl7v2, fhir, pas) and what it must yield, read from its SOURCES.md
 * row: the number of canonical requests, or the error code and the problem that names the reason. The full
 * output is in the golden file beside each fixture (<case>.expected.json, `npm run gen:goldens`).
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import type { MapOutcome } from '../../src/mapping/index.ts';

export const fixturesDir = path.resolve(import.meta.dirname, '../fixtures');

export type Expectation =
  | { readonly maps: number }
  | { readonly code: string; readonly problem: string; readonly location?: string };

export interface MappingCase {
  /** Path under test/fixtures. */
  readonly file: string;
  readonly profile?: string;
  readonly expect: Expectation;
}

const noCoverage = {
  code: 'PAGW_MAP_MISSING_FIELD',
  location: 'IN1',
  problem: 'no coverage (no IN1 segment)',
};

export const mappingCases: readonly MappingCase[] = [
  // --- HL7 v2 corpus (test/fixtures/hl7v2/SOURCES.md) ---
  { file: 'hl7v2/fhirconverter_ORM-O01-02.hl7', expect: { maps: 1 } },
  { file: 'hl7v2/fhirconverter_ORM-O01-03.hl7', expect: noCoverage },
  { file: 'hl7v2/fhirconverter_ORM-O01-06.hl7', expect: noCoverage },
  { file: 'hl7v2/fhirconverter_LAB-ORM-1.hl7', expect: noCoverage },
  { file: 'hl7v2/fhirconverter_OML-O21-01.hl7', expect: { maps: 1 } },
  // MSH-9 says ORM^O01 whatever the file name says: routed to the ORM mapping, then refused for coverage.
  { file: 'hl7v2/fhirconverter_OML-O21-02.hl7', expect: noCoverage },
  // Flagged, not tolerated: the GT1/ORC terminator is missing, so OBR has no ORC (docs in mappings/README.md).
  {
    file: 'hl7v2/fhirconverter_MDHHS-OML-O21-1.hl7',
    expect: {
      code: 'PAGW_MAP_STRUCTURE',
      location: 'OBR',
      problem:
        "OBR has no ORC before it (ORC is required in each order group); GT1 (line 5) has 'ORC|' inside a field",
    },
  },
  // One ORC with two OBRs: two requests, local codes (system L) kept as the sender's.
  { file: 'hl7v2/fhirconverter_MDHHS-OML-O21-2.hl7', expect: { maps: 2 } },
  // ORC-1 = SC (status changed) in both groups: not a new order.
  {
    file: 'hl7v2/fhirconverter_OMG-O19-01.hl7',
    expect: {
      code: 'PAGW_MAP_NOT_NEW_ORDER',
      location: 'ORC-1',
      problem: "order control 'SC' is not a new order",
    },
  },
  { file: 'hl7v2/dcm4che_ORM-O01_2019.hl7', expect: noCoverage },
  { file: 'hl7v2/dcm4che_OMG-O19-GeneralClinicalOrder-Eyecare.hl7', expect: noCoverage },
  { file: 'hl7v2/hapi_example_oml_o21_msg1.hl7', expect: noCoverage },
  // IN1 present but no policy number in IN1-36.
  {
    file: 'hl7v2/nhapi_OML_O21_messages_msg5_IN1.hl7',
    expect: { code: 'PAGW_MAP_MISSING_FIELD', location: 'IN1-36', problem: 'member id missing' },
  },
  // The OBR broken across two lines is rejoined (a warning); then refused for coverage.
  { file: 'hl7v2/node-hl7-complete_orm-example.hl7', expect: noCoverage },
  {
    file: 'hl7v2/lfh-hl7v2-fhir-converter_sample_win_ADT-A01_CRLF.hl7',
    expect: {
      code: 'PAGW_MAP_UNSUPPORTED_MESSAGE',
      location: 'MSH-9',
      problem: 'unsupported message type ADT^A01',
    },
  },
  // --- HL7 v2 written for this project (SOURCES.md, "Synthetic") ---
  { file: 'hl7v2/synthetic_OMG-O19-01_derived-NW.hl7', expect: { maps: 2 } },
  { file: 'hl7v2/synthetic_ORM-O01_custom-delimiters.hl7', expect: { maps: 1 } },
  { file: 'hl7v2/synthetic_ORM-O01_bom-crlf-escapes.hl7', expect: { maps: 1 } },
  { file: 'hl7v2/synthetic_ORM-O01_rxo-ndc.hl7', expect: { maps: 1 } },
  { file: 'hl7v2/synthetic_ORM-O01_epic-profile.hl7', expect: { maps: 1 } },
  { file: 'hl7v2/synthetic_OML-O21_mdhhs-profile-in2.hl7', profile: 'example-mdhhs', expect: { maps: 1 } },
  {
    file: 'hl7v2/synthetic_ORM-O01_v22-unsupported-version.hl7',
    expect: { code: 'PAGW_MAP_UNSUPPORTED_VERSION', location: 'MSH-12', problem: 'unsupported version 2.2' },
  },
  {
    file: 'hl7v2/synthetic_ORM-O01_two-messages.hl7',
    expect: { code: 'PAGW_MAP_UNREADABLE', location: 'MSH', problem: 'the input holds 2 messages' },
  },
  {
    file: 'hl7v2/synthetic_ORM-O01_bad-date.hl7',
    expect: { code: 'PAGW_MAP_INVALID_VALUE', location: 'PID-7', problem: 'not a valid date' },
  },

  // --- FHIR corpus (test/fixtures/fhir/SOURCES.md): none carries its coverage in the payload ---
  {
    file: 'fhir/crd-ServiceRequest-example.json',
    expect: { code: 'PAGW_MAP_MISSING_FIELD', location: 'ServiceRequest.insurance', problem: 'no coverage' },
  },
  {
    file: 'fhir/crd-DeviceRequest-example.json',
    expect: { code: 'PAGW_MAP_MISSING_FIELD', location: 'DeviceRequest.code', problem: 'no coding' },
  },
  {
    file: 'fhir/crd-Device-example.json',
    expect: { code: 'PAGW_MAP_UNSUPPORTED_MESSAGE', location: 'Device', problem: 'a Device is not an order' },
  },
  {
    file: 'fhir/crd-MedicationRequest-example.json',
    expect: {
      code: 'PAGW_MAP_MISSING_FIELD',
      location: 'MedicationRequest.insurance',
      problem: 'no coverage: the reference does not resolve',
    },
  },
  {
    file: 'fhir/crd-MedicationRequest-annotated-example.json',
    expect: { code: 'PAGW_MAP_MISSING_FIELD', problem: 'no coverage: the reference does not resolve' },
  },
  {
    file: 'fhir/crd-Coverage-example.json',
    expect: {
      code: 'PAGW_MAP_UNSUPPORTED_MESSAGE',
      location: 'Coverage',
      problem: 'a Coverage is not an order',
    },
  },
  {
    file: 'fhir/crd-Patient-example.json',
    expect: {
      code: 'PAGW_MAP_UNSUPPORTED_MESSAGE',
      location: 'Patient',
      problem: 'a Patient is not an order',
    },
  },
  {
    file: 'fhir/dtr-ServiceRequest-ServiceRequestExample.json',
    expect: { code: 'PAGW_MAP_MISSING_FIELD', location: 'ServiceRequest.insurance', problem: 'no coverage' },
  },
  {
    file: 'fhir/dtr-Coverage-CoverageExample.json',
    expect: {
      code: 'PAGW_MAP_UNSUPPORTED_MESSAGE',
      location: 'Coverage',
      problem: 'a Coverage is not an order',
    },
  },
  {
    file: 'fhir/dtr-Patient-examplepatient.json',
    expect: {
      code: 'PAGW_MAP_UNSUPPORTED_MESSAGE',
      location: 'Patient',
      problem: 'a Patient is not an order',
    },
  },
  {
    file: 'fhir/dtr-Parameters-QuestionnairePackageInputParamsExample.json',
    expect: {
      code: 'PAGW_MAP_UNSUPPORTED_MESSAGE',
      location: 'Parameters',
      problem: 'wrong payload type: a Parameters resource',
    },
  },
  {
    file: 'fhir/inferno-pas-pas_device_request_all_must_support.json',
    expect: { code: 'PAGW_MAP_MISSING_FIELD', problem: 'no coverage: the reference does not resolve' },
  },
  // --- FHIR written for this project ---
  { file: 'fhir/synthetic_servicerequest-contained.json', expect: { maps: 1 } },
  { file: 'fhir/synthetic_bundle-transaction-two-orders.json', expect: { maps: 2 } },
  { file: 'fhir/synthetic_bundle-collection-devicerequest.json', expect: { maps: 1 } },
  { file: 'fhir/synthetic_medicationrequest-contained.json', expect: { maps: 1 } },
  {
    file: 'fhir/synthetic_claim-use-claim.json',
    expect: {
      code: 'PAGW_MAP_NOT_NEW_ORDER',
      location: 'Claim',
      problem: "Claim.use is not 'preauthorization'",
    },
  },
  {
    file: 'fhir/synthetic_bundle-searchset.json',
    expect: { code: 'PAGW_MAP_UNSUPPORTED_MESSAGE', location: 'Bundle.type', problem: "type 'searchset'" },
  },

  // --- Da Vinci PAS 2.2.1 examples (test/fixtures/pas/SOURCES.md) ---
  { file: 'pas/Bundle-ReferralAuthorizationBundleExample.json', expect: { maps: 1 } },
  { file: 'pas/Bundle-HomecareAuthorizationBundleExample.json', expect: { maps: 1 } },
  { file: 'pas/Bundle-MedicalServicesAuthorizationBundleExample.json', expect: { maps: 1 } },
  { file: 'pas/Bundle-SurgicalRequestBundleExample.json', expect: { maps: 1 } },
  {
    file: 'pas/Bundle-HomecareAuthorizationUpdateBundleExample.json',
    expect: { code: 'PAGW_MAP_NOT_NEW_ORDER', location: 'Bundle', problem: 'a PAS update' },
  },
  {
    file: 'pas/Bundle-PASClaimInquiryBundleExample.json',
    expect: { code: 'PAGW_MAP_NOT_NEW_ORDER', location: 'Bundle', problem: 'a PAS inquiry' },
  },
  ...[
    'Bundle-ErrorResponseBundleExample.json',
    'Bundle-ReferralAuthorizationResponseBundleExample.json',
    'Bundle-ReferralPendingAuthorizationResponseBundleExample.json',
    'Bundle-RejectionResponseBundleExample.json',
    'Bundle-PASClaimInquiryResponseBundleExample.json',
  ].map(
    (file): MappingCase => ({
      file: `pas/${file}`,
      expect: { code: 'PAGW_MAP_UNSUPPORTED_MESSAGE', location: 'Bundle', problem: 'a PAS response bundle' },
    }),
  ),
  {
    file: 'pas/Bundle-PASSubscriptionNotification.json',
    expect: {
      code: 'PAGW_MAP_UNSUPPORTED_MESSAGE',
      location: 'Bundle',
      problem: 'a subscription notification',
    },
  },
  {
    file: 'pas/ClaimResponse-PractitionerRequestorAdditionalContentResponseExample.json',
    expect: { code: 'PAGW_MAP_UNSUPPORTED_MESSAGE', location: 'ClaimResponse', problem: "a payer's answer" },
  },
  {
    file: 'pas/Parameters-PASClaimInquiryOperationResponseExample.json',
    expect: {
      code: 'PAGW_MAP_UNSUPPORTED_MESSAGE',
      location: 'Parameters',
      problem: 'a Parameters resource',
    },
  },
  {
    file: 'pas/Subscription-PASSubscriptionExample.json',
    expect: {
      code: 'PAGW_MAP_UNSUPPORTED_MESSAGE',
      location: 'Subscription',
      problem: 'a Subscription is not an order',
    },
  },
  {
    file: 'pas/OperationOutcome-InvalidRequestResponse.json',
    expect: { code: 'PAGW_MAP_UNSUPPORTED_MESSAGE', location: 'OperationOutcome', problem: 'not an order' },
  },
  {
    file: 'pas/DeviceRequest-DeviceRequestExample.json',
    expect: { code: 'PAGW_MAP_MISSING_FIELD', location: 'DeviceRequest.insurance', problem: 'no coverage' },
  },
  {
    file: 'pas/MedicationRequest-MedicationRequestExample.json',
    expect: {
      code: 'PAGW_MAP_MISSING_FIELD',
      location: 'MedicationRequest.insurance',
      problem: 'no coverage',
    },
  },
];

/** The inputs the cases are mapped with (golden files depend on them). */
export const caseInput = { tenant: 'clinic-a', sender: 'conformance' } as const;

export function readFixture(file: string): Buffer {
  return readFileSync(path.join(fixturesDir, file));
}

export function goldenPath(file: string): string {
  return path.join(fixturesDir, file.replace(/\.(hl7|json)$/, '.expected.json'));
}

/** What a golden file holds: the requests, or the refusal with every problem; warnings either way. */
export function goldenOf(outcome: MapOutcome): unknown {
  const warnings = outcome.warnings.map((w) => ({ code: w.code, location: w.location, message: w.message }));
  if (outcome.ok) return { outcome: 'mapped', requests: outcome.requests, warnings };
  return {
    outcome: 'refused',
    code: outcome.error.code,
    problems: outcome.error.problems.map((p) => ({
      code: (p as { code?: string }).code,
      location: p.location,
      message: p.message,
    })),
    warnings,
  };
}
