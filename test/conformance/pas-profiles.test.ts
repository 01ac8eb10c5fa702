/**
 * The profile layer (src/profiles) is worth trusting: every Da Vinci PAS 2.2.1 example instance passes the
 * profile it declares (the IG Publisher found 0 errors in them), and each named mutation of an example — the
 * mistakes the issue lists and the ones @medplum/core's top-level check lets through — fails with an error at
 * the right place.
 */
import { readdirSync, readFileSync } from 'node:fs';
import type { Bundle, ClaimResponse, Resource } from '@medplum/fhirtypes';
import { describe, expect, it } from 'vitest';
import { PasProfile, pasPackageSource, validateProfile } from '../../src/profiles/index.ts';
import { fixturePath } from '../helpers/fixtures.ts';

const dir = fixturePath('pas-ig');
const read = <T extends Resource = Resource>(file: string): T =>
  JSON.parse(readFileSync(`${dir}/${file}`, 'utf8')) as T;

const declared = readdirSync(dir)
  .filter((f) => f.endsWith('.json'))
  .map((file) => ({ file, profile: read(file).meta?.profile?.[0]?.split('|')[0] }))
  .filter((x): x is { file: string; profile: string } => !!x.profile?.includes('/davinci-pas/'));

describe('the PAS 2.2.1 definitions', () => {
  it('come from the official package, version 2.2.1', () => {
    expect(pasPackageSource).toMatchObject({ package: 'hl7.fhir.us.davinci-pas', version: '2.2.1' });
    expect(pasPackageSource.sha256).toMatch(/^[0-9a-f]{64}$/);
  });
});

describe('every IG example passes the PAS profile it declares', () => {
  it('covers the examples (bundles, claims, claim responses …)', () => {
    expect(declared.length).toBeGreaterThanOrEqual(40);
    expect(declared.filter((d) => d.file.startsWith('ClaimResponse-'))).toHaveLength(6);
    expect(declared.filter((d) => d.file.startsWith('Bundle-'))).toHaveLength(11);
  });
  it.each(declared)('$file passes $profile', ({ file, profile }) => {
    const report = validateProfile(read(file), profile);
    expect(report.errors).toEqual([]);
  });
});

type Mutation<T> = readonly [
  name: string,
  file: string,
  mutate: (r: T) => void,
  expression: string,
  says: RegExp,
];

const pended = 'ClaimResponse-PractitionerRequestorPendingResponseExample.json';
const approved = 'ClaimResponse-PractitionerRequestorResponseExample.json';
const error = 'ClaimResponse-ErrorResponseExample.json';
const reviewAction = (cr: ClaimResponse) => cr.item![0]!.adjudication[0]!.extension![0]!;

const claimResponseMutations: Mutation<ClaimResponse>[] = [
  [
    'request removed (1..1)',
    pended,
    (cr) => delete (cr as Partial<ClaimResponse>).request,
    'ClaimResponse.request',
    /minimum cardinality 1/,
  ],
  [
    'pended as outcome queued (PAS allows complete|error|partial)',
    pended,
    (cr) => {
      cr.outcome = 'queued';
    },
    'ClaimResponse.outcome',
    /'queued' is not in .*ClaimResponseOutcome/,
  ],
  [
    'item without adjudication (nested 1..*)',
    approved,
    (cr) => {
      (cr.item![0] as { adjudication?: unknown }).adjudication = undefined;
    },
    'ClaimResponse.item[0].adjudication',
    /minimum cardinality 1/,
  ],
  [
    'adjudication category not "submitted" (pattern)',
    approved,
    (cr) => {
      cr.item![0]!.adjudication[0]!.category = {
        coding: [{ system: 'http://terminology.hl7.org/CodeSystem/adjudication', code: 'eligible' }],
      };
    },
    'ClaimResponse.item[0].adjudication[0].category',
    /must match the pattern/,
  ],
  [
    'review action code from X12 1365 instead of 306 (extension contents)',
    approved,
    (cr) => {
      reviewAction(cr).extension!.find((e) => e.url.endsWith('reviewActionCode'))!.valueCodeableConcept!
        .coding![0]!.system = 'https://codesystem.x12.org/005010/1365';
    },
    'ClaimResponse.item[0].adjudication[0].extension[0].extension[1].valueCodeableConcept',
    /codesystem\.x12\.org\/005010\/306/,
  ],
  [
    'denial reason with the X12 901 system where 886 is bound',
    approved,
    (cr) => {
      reviewAction(cr).extension!.push({
        url: 'reasonCode',
        valueCodeableConcept: { coding: [{ system: 'https://codesystem.x12.org/005010/901', code: 'AO' }] },
      });
    },
    'ClaimResponse.item[0].adjudication[0].extension[0].extension[2].valueCodeableConcept',
    /X12278ReviewDecisionReasonCode/,
  ],
  [
    'two authorization numbers in one review action (sub-extension 0..1)',
    approved,
    (cr) => {
      reviewAction(cr).extension!.push({ url: 'number', valueString: 'AUTH0002' });
    },
    'ClaimResponse.item[0].adjudication[0].extension[0].extension',
    /number: maximum cardinality 1, found 2/,
  ],
  [
    'authorized detail coded with HCPCS https:// (value set lists http://)',
    approved,
    (cr) => {
      cr.item![0]!.extension!.push({
        url: 'http://hl7.org/fhir/us/davinci-pas/StructureDefinition/extension-itemAuthorizedDetail',
        extension: [
          {
            url: 'productOrServiceCode',
            valueCodeableConcept: {
              coding: [{ system: 'https://www.cms.gov/Medicare/Coding/HCPCSReleaseCodeSets', code: 'G0154' }],
            },
          },
        ],
      });
    },
    'ClaimResponse.item[0].extension',
    /HCPCSReleaseCodeSets\|G0154 is not in/,
  ],
  [
    'two preAuthPeriod item extensions (slice 0..1)',
    approved,
    (cr) => {
      cr.item![0]!.extension!.push({
        url: 'http://hl7.org/fhir/us/davinci-pas/StructureDefinition/extension-itemPreAuthPeriod',
        valuePeriod: { start: '2005-05-02' },
      });
      cr.item![0]!.extension!.push({
        url: 'http://hl7.org/fhir/us/davinci-pas/StructureDefinition/extension-itemPreAuthPeriod',
        valuePeriod: { start: '2005-05-02' },
      });
    },
    'ClaimResponse.item[0].extension',
    /preAuthPeriod: maximum cardinality 1/,
  ],
  [
    'identifier without system (PAS identifier profile: 1..1)',
    approved,
    (cr) => {
      cr.identifier = [{ value: 'X' }];
    },
    'ClaimResponse.identifier[0].system',
    /minimum cardinality 1/,
  ],
  [
    'error code from X12 1365 instead of 901',
    error,
    (cr) => {
      cr.error![0]!.code.coding![0]!.system = 'https://codesystem.x12.org/005010/1365';
    },
    'ClaimResponse.error[0].code',
    /X12278RejectReasonCodes/,
  ],
  [
    'error follow-up action from the wrong X12 list',
    error,
    (cr) => {
      const e = cr.error!.find((x) => x.extension?.length)!;
      e.extension!.find((x) => x.url.endsWith('errorFollowupAction'))!.valueCodeableConcept!
        .coding![0]!.system = 'https://codesystem.x12.org/005010/306';
    },
    'ClaimResponse.error[1].extension',
    /X12278FollowUpActionCodes/,
  ],
  [
    'request with a data-absent-reason code that does not exist',
    pended,
    (cr) => {
      cr.request = {
        extension: [
          { url: 'http://hl7.org/fhir/StructureDefinition/data-absent-reason', valueCode: 'no-idea' },
        ],
      };
    },
    'ClaimResponse.request.extension[0].valueCode',
    /'no-idea' is not in/,
  ],
];

describe('mutated ClaimResponses fail the PAS ClaimResponse profile', () => {
  it.each(claimResponseMutations)('%s', (_name, file, mutate, expression, says) => {
    const cr = read<ClaimResponse>(file);
    expect(validateProfile(cr, PasProfile.claimResponse).errors).toEqual([]);
    mutate(cr);
    const { errors } = validateProfile(cr, PasProfile.claimResponse);
    expect(errors.filter((e) => e.expression.startsWith(expression) && says.test(e.message))).not.toEqual([]);
  });
});

const responseBundle = 'Bundle-ReferralAuthorizationResponseBundleExample.json';
const requestBundle = 'Bundle-ReferralAuthorizationBundleExample.json';
const bundleMutations: Mutation<Bundle>[] = [
  [
    'response bundle without identifier',
    responseBundle,
    (b) => {
      delete b.identifier;
    },
    'Bundle.identifier',
    /minimum cardinality 1/,
  ],
  [
    'response bundle without timestamp',
    responseBundle,
    (b) => {
      delete b.timestamp;
    },
    'Bundle.timestamp',
    /minimum cardinality 1/,
  ],
  [
    'response bundle of type batch (fixed collection)',
    responseBundle,
    (b) => {
      b.type = 'batch';
    },
    'Bundle.type',
    /must be exactly "collection"/,
  ],
  [
    'response bundle with the ClaimResponse not first',
    responseBundle,
    (b) => {
      b.entry!.push(b.entry!.shift()!);
    },
    'Bundle',
    /ClaimResponseFirst/,
  ],
  [
    'response bundle entry without fullUrl',
    responseBundle,
    (b) => {
      delete b.entry![1]!.fullUrl;
    },
    'Bundle.entry[1].fullUrl',
    /minimum cardinality 1/,
  ],
  [
    'response bundle whose ClaimResponse lacks request (nested profile)',
    responseBundle,
    (b) => {
      delete (b.entry![0]!.resource as Partial<ClaimResponse>).request;
    },
    'Bundle.entry[0].resource.request',
    /minimum cardinality 1/,
  ],
  [
    'response bundle whose ClaimResponse names a Practitioner as patient (reference target)',
    responseBundle,
    (b) => {
      (b.entry![0]!.resource as ClaimResponse).patient = {
        reference: b.entry!.find((e) => e.resource?.resourceType === 'Practitioner')!.fullUrl!,
      };
    },
    'Bundle.entry[0].resource.patient',
    /refers to a Practitioner; expected Patient/,
  ],
  [
    'request bundle without a Claim (slice 1..2)',
    requestBundle,
    (b) => {
      b.entry = b.entry!.filter((e) => e.resource?.resourceType !== 'Claim');
    },
    'Bundle.entry',
    /Claim: minimum cardinality 1/,
  ],
  [
    'request bundle Claim with use claim (fixed preauthorization)',
    requestBundle,
    (b) => {
      (b.entry![0]!.resource as { use: string }).use = 'claim';
    },
    'Bundle.entry[0].resource.use',
    /preauthorization/,
  ],
  [
    'request bundle whose Claim item has no certification type extension content',
    requestBundle,
    (b) => {
      const item = (
        b.entry![0]!.resource as { item: { extension?: { url: string; valueCodeableConcept?: unknown }[] }[] }
      ).item[0]!;
      item.extension = [
        ...(item.extension ?? []),
        {
          url: 'http://hl7.org/fhir/us/davinci-pas/StructureDefinition/extension-certificationType',
          valueCodeableConcept: { coding: [{ system: 'https://codesystem.x12.org/005010/306', code: 'I' }] },
        },
      ];
    },
    'Bundle.entry[0].resource.item[0].extension',
    /1322/,
  ],
  [
    'request bundle whose Patient (via Claim.patient) has no name (US Core via PAS Beneficiary)',
    requestBundle,
    (b) => {
      delete (b.entry!.find((e) => e.resource?.resourceType === 'Patient')!.resource as { name?: unknown })
        .name;
    },
    'Bundle.entry[',
    /name|us-core-6/,
  ],
];

describe('mutated Bundles fail the PAS bundle profiles', () => {
  it.each(bundleMutations)('%s', (_name, file, mutate, expression, says) => {
    const bundle = read<Bundle>(file);
    const profile = file === requestBundle ? PasProfile.requestBundle : PasProfile.responseBundle;
    expect(validateProfile(bundle, profile).errors).toEqual([]);
    mutate(bundle);
    const { errors } = validateProfile(bundle, profile);
    expect(errors.filter((e) => e.expression.startsWith(expression) && says.test(e.message))).not.toEqual([]);
  });
});
