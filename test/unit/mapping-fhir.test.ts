/**
 * FHIR R4 payloads: references resolved by fullUrl, by relative id against the entry's base, by urn:uuid and
 * by #contained; wrong payload types refused by name; the member-navigation fast path agrees with the FHIRPath
 * engine on every path of the corpus.
 */
import { evalFhirPath } from '@medplum/core';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { compileFhirPath, evaluateFhirPath } from '../../src/mapping/fhir/map.ts';
import { PayloadIndex } from '../../src/mapping/fhir/payload.ts';
import { type MapOutcome, mapOrder } from '../../src/mapping/index.ts';
import { mappingCases, readFixture } from '../conformance/mapping-cases.ts';

const base = { tenant: 'clinic-a', sender: 'unit' } as const;

function problemsOf(outcome: MapOutcome): string[] {
  return outcome.ok ? [] : outcome.error.problems.map((p) => `${p.location}: ${p.message}`);
}

const patient = { resourceType: 'Patient', identifier: [{ system: 'urn:oid:1.2', value: 'MRN-5' }] };
const coverage = (beneficiary: string, payor: string) => ({
  resourceType: 'Coverage',
  status: 'active',
  subscriberId: 'SUB-5',
  beneficiary: { reference: beneficiary },
  payor: [{ reference: payor }],
});
const payer = { resourceType: 'Organization', identifier: [{ value: 'PAYER-5' }], name: 'Payer Five' };
const serviceRequest = (subject: string, insurance: string) => ({
  resourceType: 'ServiceRequest',
  status: 'active',
  intent: 'order',
  code: { coding: [{ system: 'http://www.ama-assn.org/go/cpt', code: '97110' }] },
  subject: { reference: subject },
  insurance: [{ reference: insurance }],
});

describe('FHIR references', () => {
  it('resolves relative references against the referring entry’s fullUrl base, and absolute ones by fullUrl', () => {
    const bundle = {
      resourceType: 'Bundle',
      type: 'collection',
      entry: [
        {
          fullUrl: 'https://a.example/fhir/ServiceRequest/1',
          resource: serviceRequest('Patient/p', 'https://b.example/fhir/Coverage/c'),
        },
        { fullUrl: 'https://a.example/fhir/Patient/p', resource: { ...patient, id: 'p' } },
        // Same type and id on another server: the relative reference must not pick it.
        {
          fullUrl: 'https://other.example/fhir/Patient/p',
          resource: { ...patient, id: 'p', identifier: [{ value: 'WRONG' }] },
        },
        {
          fullUrl: 'https://b.example/fhir/Coverage/c',
          resource: { ...coverage('https://a.example/fhir/Patient/p', 'Organization/o'), id: 'c' },
        },
        { fullUrl: 'https://b.example/fhir/Organization/o', resource: { ...payer, id: 'o' } },
      ],
    };
    const outcome = mapOrder({ ...base, raw: JSON.stringify(bundle) });
    expect(problemsOf(outcome)).toEqual([]);
    expect(outcome.ok && outcome.requests[0]!.patient.identifiers[0]!.value).toBe('MRN-5');
    expect(outcome.ok && outcome.requests[0]!.coverage).toMatchObject({
      payerId: 'PAYER-5',
      memberId: 'SUB-5',
    });
  });

  it('resolves urn:uuid fullUrls and #contained, and #contained only within its own resource', () => {
    const index = new PayloadIndex({
      resourceType: 'Bundle',
      type: 'collection',
      entry: [
        {
          fullUrl: 'urn:uuid:1',
          resource: { resourceType: 'ServiceRequest', contained: [{ ...patient, id: 'x' }] },
        },
        { fullUrl: 'urn:uuid:2', resource: { resourceType: 'Claim', contained: [{ ...payer, id: 'x' }] } },
      ],
    } as never);
    const [sr, claim] = index.top;
    expect(index.resolve('#x', sr!)?.resource.resourceType).toBe('Patient');
    expect(index.resolve('#x', claim!)?.resource.resourceType).toBe('Organization');
    expect(index.resolve('urn:uuid:2', sr!)?.resource.resourceType).toBe('Claim');
    expect(index.resolve('Patient/x', sr!)).toBeUndefined();
  });

  it('says which reference does not resolve, and that nothing is referenced when nothing is', () => {
    const alone = serviceRequest('Patient/elsewhere', '#missing');
    expect(problemsOf(mapOrder({ ...base, raw: JSON.stringify(alone) }))).toEqual([
      'ServiceRequest.subject: no patient: the reference does not resolve to a resource in the payload (send a Bundle holding it, or contain it)',
      'ServiceRequest.insurance: no coverage: the reference does not resolve to a resource in the payload (send a Bundle holding it, or contain it)',
    ]);
    const wrongType = {
      ...serviceRequest('#p', '#p'),
      contained: [{ ...patient, id: 'p' }],
    };
    expect(problemsOf(mapOrder({ ...base, raw: JSON.stringify(wrongType) }))).toEqual([
      'ServiceRequest.insurance: no coverage: the reference is not to a Coverage',
    ]);
  });
});

describe('FHIR payload kinds', () => {
  it('maps a PAS Claim alone with its contained resources, as format pas', () => {
    const claim = {
      resourceType: 'Claim',
      id: 'c1',
      use: 'preauthorization',
      status: 'active',
      contained: [
        { ...patient, id: 'p' },
        { ...coverage('#p', '#o'), id: 'cov' },
        { ...payer, id: 'o' },
      ],
      patient: { reference: '#p' },
      insurer: { reference: '#o' },
      insurance: [{ sequence: 1, focal: true, coverage: { reference: '#cov' } }],
      priority: { coding: [{ code: 'stat' }] },
      item: [
        {
          sequence: 1,
          productOrService: { coding: [{ system: 'http://www.ama-assn.org/go/cpt', code: '97110' }] },
          quantity: { value: 12 },
        },
        {
          sequence: 2,
          productOrService: { coding: [{ system: 'http://www.ama-assn.org/go/cpt', code: '97112' }] },
          modifier: [{ coding: [{ code: 'GP' }] }],
        },
      ],
      diagnosis: [
        {
          sequence: 1,
          diagnosisCodeableConcept: {
            coding: [{ system: 'http://hl7.org/fhir/sid/icd-10-cm', code: 'M54.5' }],
          },
        },
      ],
    };
    const outcome = mapOrder({ ...base, raw: JSON.stringify(claim) });
    expect(problemsOf(outcome)).toEqual([]);
    if (!outcome.ok) return;
    const [request] = outcome.requests;
    expect(request!.source.format).toBe('pas');
    expect(request!.urgency).toBe('expedited');
    expect(request!.serviceLines).toEqual([
      {
        sequence: 1,
        code: { system: 'http://www.ama-assn.org/go/cpt', code: '97110' },
        quantity: { value: 12 },
      },
      { sequence: 2, code: { system: 'http://www.ama-assn.org/go/cpt', code: '97112' }, modifiers: ['GP'] },
    ]);
    expect(request!.diagnoses).toEqual([
      { code: { system: 'http://hl7.org/fhir/sid/icd-10-cm', code: 'M54.5' }, primary: true },
    ]);
  });

  it('refuses what is not an order by name, and unreadable JSON without quoting it', () => {
    const cases: Array<[unknown, string]> = [
      [{ resourceType: 'Coverage' }, 'Coverage: wrong payload type: a Coverage is not an order'],
      [{ resourceType: 'Bundle', type: 'searchset', entry: [] }, "Bundle.type: a Bundle of type 'searchset'"],
      [
        { resourceType: 'Bundle', type: 'collection', entry: [{ resource: payer }] },
        'Bundle: wrong payload type: the Bundle holds no order',
      ],
      [
        { resourceType: 'Parameters', parameter: [] },
        'Parameters: wrong payload type: a Parameters resource',
      ],
    ];
    for (const [payload, expected] of cases) {
      expect(problemsOf(mapOrder({ ...base, raw: JSON.stringify(payload) }))[0]).toContain(expected);
    }
    const secret = '{"resourceType": "Patient", "name": "SECRET-NAME", oops}';
    const unreadable = problemsOf(mapOrder({ ...base, raw: secret }));
    expect(unreadable[0]).toMatch(/^\$: not valid JSON/);
    expect(unreadable.join()).not.toContain('SECRET');
    expect(problemsOf(mapOrder({ ...base, raw: '<Patient xmlns="http://hl7.org/fhir"/>' }))).toEqual([
      '$: FHIR XML is not read: send FHIR JSON',
    ]);
  });
});

describe('FHIRPath member navigation fast path', () => {
  const resources = mappingCases
    .filter((c) => c.file.endsWith('.json'))
    .flatMap((c) => {
      const root = JSON.parse(readFixture(c.file).toString('utf8'));
      return [root, ...(root.entry ?? []).map((e: { resource: unknown }) => e.resource)].filter(Boolean);
    });

  /** Member paths that exist in a resource, a few levels deep, plus some that do not. */
  function pathsOf(value: unknown, prefix: string[] = [], depth = 0, out: string[][] = []): string[][] {
    if (depth > 4 || value === null || typeof value !== 'object') return out;
    const items = Array.isArray(value) ? value : [value];
    for (const item of items) {
      if (item === null || typeof item !== 'object' || Array.isArray(item)) continue;
      for (const key of Object.keys(item)) {
        if (!/^[a-z][A-Za-z0-9]*$/.test(key)) continue;
        out.push([...prefix, key]);
        pathsOf((item as Record<string, unknown>)[key], [...prefix, key], depth + 1, out);
      }
    }
    return out;
  }

  it('gives what the FHIRPath engine gives, for every member path of every corpus resource (and choice-type names)', () => {
    fc.assert(
      fc.property(
        fc.constantFrom(...resources),
        fc.nat(),
        fc.constantFrom(
          '',
          'value',
          'valueString',
          'occurrence',
          'medication',
          'code',
          'servicedDate',
          'missing',
        ),
        (resource, pick, suffix) => {
          const paths = pathsOf(resource);
          const chosen = paths.length > 0 ? paths[pick % paths.length]! : ['id'];
          const text = [...chosen, ...(suffix ? [suffix] : [])].join('.');
          let expected: unknown;
          try {
            expected = evalFhirPath(text, resource);
          } catch {
            expected = 'engine error';
          }
          let actual: unknown;
          try {
            actual = evaluateFhirPath(compileFhirPath(text), resource);
          } catch {
            actual = 'engine error';
          }
          expect(actual).toEqual(expected);
        },
      ),
      { numRuns: 1500 },
    );
  });
});
