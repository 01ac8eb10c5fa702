/**
 * PA rules as data: evaluatePaRules picks the rule version in effect, the first matching rule per line, the
 * strictest review policy and the SLA deadline — deterministically, from the request, the payer and the time.
 */
import { describe, expect, it } from 'vitest';
import { loadPayerDirectory } from '../../connectors/payer-directory.ts';
import { CodeSystem } from '../../src/canonical/index.ts';
import type { AuthorizationRequest, ServiceLine } from '../../src/canonical/types.generated.ts';
import { evaluatePaRules, PayerRulesError } from '../../src/workflow/rules/index.ts';
import { sampleRequest } from '../helpers/fixtures.ts';

const directory = loadPayerDirectory();
const ehp = directory.byId('example-health-plan')!;
const at = new Date('2026-02-01T10:00:00Z');

function withLines(
  lines: Omit<ServiceLine, 'sequence'>[],
  extra: Partial<AuthorizationRequest> = {},
): AuthorizationRequest {
  return sampleRequest({ serviceLines: lines.map((l, i) => ({ sequence: i + 1, ...l })), ...extra });
}
const cpt = (code: string, more: Partial<ServiceLine> = {}) => ({
  code: { system: CodeSystem.CPT, code },
  ...more,
});

describe('evaluatePaRules', () => {
  it('requires PA for advanced imaging under the version in effect, with its SLA deadline and the rule that decided', () => {
    const result = evaluatePaRules(sampleRequest(), ehp, at);
    expect(result).toMatchObject({
      payerId: 'example-health-plan',
      ruleVersion: 'example-health-plan@2026.1',
      paRequired: true,
      reviewPolicy: 'none',
      ruleIds: ['advanced-imaging'],
      urgency: 'standard',
      slaHours: 168,
      slaDueAt: '2026-02-08T10:00:00.000Z',
    });
    expect(result.explanation).toMatch(
      /^Prior authorization required under example-health-plan@2026.1: line 1 CPT 70553/,
    );
  });

  it('gives expedited requests the expedited SLA', () => {
    const result = evaluatePaRules(sampleRequest({ urgency: 'expedited' }), ehp, at);
    expect(result.slaHours).toBe(72);
    expect(result.slaDueAt).toBe('2026-02-04T10:00:00.000Z');
  });

  it('says not required for an office visit, naming the rule', () => {
    const result = evaluatePaRules(withLines([cpt('99213')]), ehp, at);
    expect(result.paRequired).toBe(false);
    expect(result.ruleIds).toEqual(['office-visits']);
    expect(result.lines[0]?.explanation).toContain('not required by rule office-visits');
  });

  it('lets the place of service exclude a rule: imaging in the emergency room (23) falls to the default', () => {
    const result = evaluatePaRules(withLines([cpt('70553', { placeOfService: '23' })]), ehp, at);
    expect(result.paRequired).toBe(false);
    expect(result.lines[0]?.ruleId).toBe('default');
  });

  it('is conservative when the place of service is unknown: a PA-requiring rule still applies', () => {
    const request = withLines([cpt('70553')], { requestingProvider: { npi: '1234567893' } });
    expect(evaluatePaRules(request, ehp, at).lines[0]?.ruleId).toBe('advanced-imaging');
  });

  it('applies the strictest review policy across lines and lists only the rules that required PA', () => {
    const result = evaluatePaRules(
      withLines([cpt('99213'), cpt('70553', { placeOfService: '11' }), cpt('22612')]),
      ehp,
      at,
    );
    expect(result.paRequired).toBe(true);
    expect(result.reviewPolicy).toBe('reviewer-approval');
    expect(result.ruleIds).toEqual(['advanced-imaging', 'spinal-surgery']);
    expect(result.lines.map((l) => [l.sequence, l.paRequired, l.ruleId])).toEqual([
      [1, false, 'office-visits'],
      [2, true, 'advanced-imaging'],
      [3, true, 'spinal-surgery'],
    ]);
  });

  it.each([
    ['GOLD-PPO', true],
    ['SILVER-HMO', true],
    ['BRONZE-EPO', false],
    [undefined, true],
  ])(
    'matches plan-restricted rules by plan code (%s → PA %s), conservatively when the plan is unknown',
    (planCode, required) => {
      const request = withLines([{ code: { system: CodeSystem.HCPCS, code: 'J9035' } }], {
        coverage: { ...sampleRequest().coverage, ...(planCode ? { planCode } : {}) },
      });
      const result = evaluatePaRules(request, ehp, at);
      expect(result.paRequired).toBe(required);
      expect(result.reviewPolicy).toBe(required ? 'reviewer-approval' : 'none');
    },
  );

  it('matches a line on its alternate codes too', () => {
    const line = {
      code: { system: 'urn:pagw:local:EPIC:proc', code: 'MRI-BRAIN' },
      alternateCodes: [{ system: CodeSystem.CPT, code: '70551' }],
    };
    expect(evaluatePaRules(withLines([line]), ehp, at).ruleIds).toEqual(['advanced-imaging']);
  });

  it('reads the expected reimbursement from the fee schedule, per unit and for the quantity asked', () => {
    const result = evaluatePaRules(
      withLines([cpt('72148', { quantity: { value: 2, unit: 'UN' }, placeOfService: '11' })]),
      ehp,
      at,
    );
    expect(result.lines[0]?.expectedReimbursement).toEqual({ amount: 398.25, currency: 'USD', total: 796.5 });
  });

  it('chooses the rule version by date: the 2025.2 rules (and their 14-day SLA) before 2026-01-01', () => {
    const result = evaluatePaRules(sampleRequest(), ehp, new Date('2025-09-01T00:00:00Z'));
    expect(result.ruleVersion).toBe('example-health-plan@2025.2');
    expect(result.slaHours).toBe(336);
  });

  it('refuses a date no version covers with PAGW_RULES_NO_VERSION', () => {
    expect(() => evaluatePaRules(sampleRequest(), ehp, new Date('2024-01-01T00:00:00Z'))).toThrowError(
      expect.objectContaining({ code: 'PAGW_RULES_NO_VERSION', retriable: false }),
    );
  });

  it('uses a payer whose default is "PA required" for codes no rule names', () => {
    const maryland = directory.byId('maryland-capital')!;
    const result = evaluatePaRules(sampleRequest(), maryland, new Date('2026-01-01T00:00:00Z'));
    expect(result).toMatchObject({
      paRequired: true,
      ruleIds: ['default'],
      ruleVersion: 'maryland-capital@2005.1',
    });
  });

  it('is deterministic: the same inputs give the same evaluation', () => {
    const request = withLines([cpt('99213'), cpt('95810')]);
    expect(evaluatePaRules(request, ehp, at)).toEqual(evaluatePaRules(structuredClone(request), ehp, at));
  });

  it('throws typed errors only', () => {
    expect(() => evaluatePaRules(sampleRequest(), ehp, new Date('2000-01-01T00:00:00Z'))).toThrow(
      PayerRulesError,
    );
  });
});
