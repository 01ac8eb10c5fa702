/** Review policy conditions, operators and file checks (the full decisions are golden cases in test/conformance). */
import { describe, expect, it } from 'vitest';
import type { ReviewFacts } from '../../src/workflow/review/facts.ts';
import { conditionHolds, rolloutModeFor } from '../../src/workflow/review/policies.ts';
import { createReviewPolicyDirectory } from '../../src/workflow/review/policy-directory.ts';
import type { ReviewPolicyFile } from '../../src/workflow/review/types.generated.ts';

const facts: ReviewFacts = {
  serviceCode: ['J0135', '96372'],
  codeSystem: ['HCPCS', 'CPT'],
  drugClass: ['biologic'],
  serviceCategory: ['pharmacy', 'medicine'],
  estimatedCost: 4200,
  units: 2,
  urgency: 'standard',
  placeOfService: ['11'],
  siteOfCare: ['office'],
  diagnosisCode: ['L40.54'],
  payerId: 'example-health-plan',
  ruleVersion: 'example-health-plan@2026.1',
};

describe('review policy conditions', () => {
  it.each([
    ['equals on a list: any value', { fact: 'serviceCode', operator: 'equals', value: '96372' }, true],
    ['equals, no value matches', { fact: 'drugClass', operator: 'equals', value: 'antineoplastic' }, false],
    ['equals on a number', { fact: 'units', operator: 'equals', value: 2 }, true],
    ['in', { fact: 'urgency', operator: 'in', value: ['expedited', 'standard'] }, true],
    ['in, not listed', { fact: 'siteOfCare', operator: 'in', value: ['inpatient', 'emergency'] }, false],
    ['greater_than', { fact: 'estimatedCost', operator: 'greater_than', value: 1000 }, true],
    ['greater_than is strict', { fact: 'estimatedCost', operator: 'greater_than', value: 4200 }, false],
    ['less_than', { fact: 'units', operator: 'less_than', value: 3 }, true],
    [
      'greater_than on a string fact never holds',
      { fact: 'urgency', operator: 'greater_than', value: 1 },
      false,
    ],
    ['regex', { fact: 'ruleVersion', operator: 'regex', value: '^example-health-plan@2026\\.' }, true],
    ['regex on a list', { fact: 'diagnosisCode', operator: 'regex', value: '^L40' }, true],
    ['an unknown fact does not hold', { fact: 'draftConfidence', operator: 'less_than', value: 0.8 }, false],
    [
      'an unknown fact holds when ifUnknown says so',
      { fact: 'draftConfidence', operator: 'less_than', value: 0.8, ifUnknown: true },
      true,
    ],
  ] as const)('%s', (_label, condition, holds) => {
    expect(conditionHolds(condition as never, facts)).toBe(holds);
  });

  it('takes the most careful rollout mode among the case’s service lines', () => {
    const file = {
      tenant: 't',
      version: '1',
      rollout: { default: 'auto', serviceLines: { pharmacy: 'assistive', medicine: 'shadow' } },
      policies: [],
    } as ReviewPolicyFile;
    expect(rolloutModeFor(file, facts)).toBe('shadow');
    expect(rolloutModeFor(file, { serviceCategory: ['imaging'] })).toBe('auto');
    expect(rolloutModeFor(undefined, facts)).toBe('auto');
  });
});

describe('review policy files', () => {
  const good = {
    tenant: 'clinic-x',
    version: '1',
    rollout: { default: 'auto' },
    policies: [
      {
        id: 'p1',
        when: [{ fact: 'estimatedCost', operator: 'greater_than', value: 10 }],
        require: { role: 'medical_director' },
      },
    ],
  };

  it('loads a valid file with defaults filled in', () => {
    const dir = createReviewPolicyDirectory({
      policies: [{ source: 'clinic-x.json', document: good }],
      tables: [],
    });
    expect(dir.policiesFor('clinic-x')!.policies[0]).toMatchObject({
      severity: 'normal',
      require: { approvals: 1 },
    });
    expect(dir.policiesFor('other')).toBeUndefined();
  });

  it('names every problem: schema, file name, repeated id, bad regex, operator and value that do not fit', () => {
    const bad = {
      ...good,
      policies: [
        good.policies[0],
        { ...good.policies[0], when: [{ fact: 'serviceCode', operator: 'regex', value: '([' }] },
        {
          id: 'p2',
          when: [{ fact: 'units', operator: 'less_than', value: 'many' }],
          require: { role: 'medical_director' },
        },
        { id: 'p3', when: [{ fact: 'nope', operator: 'equals', value: 'x' }], require: { role: 'surgeon' } },
      ],
    };
    let caught: unknown;
    try {
      createReviewPolicyDirectory({ policies: [{ source: 'clinic-y.json', document: bad }], tables: [] });
    } catch (error) {
      caught = error;
    }
    expect(caught).toMatchObject({ code: 'PAGW_REVIEW_POLICY_INVALID' });
    const where = (caught as { problems: Array<{ location: string }> }).problems.map((p) => p.location);
    expect(where.some((w) => w.includes('$.policies[3]'))).toBe(true);
    const good2 = { ...bad, policies: bad.policies.slice(0, 3) };
    try {
      createReviewPolicyDirectory({ policies: [{ source: 'clinic-y.json', document: good2 }], tables: [] });
    } catch (error) {
      caught = error;
    }
    const messages = (caught as { problems: Array<{ location: string; message: string }> }).problems;
    expect(messages).toEqual(
      expect.arrayContaining([
        expect.objectContaining({ location: 'clinic-y.json: $.tenant' }),
        expect.objectContaining({ location: 'clinic-y.json: $.policies[1].id' }),
        expect.objectContaining({
          location: 'clinic-y.json: $.policies[1].when[0].value',
          message: 'is not a valid regular expression',
        }),
        expect.objectContaining({ location: 'clinic-y.json: $.policies[2].when[0].value' }),
      ]),
    );
  });
});
