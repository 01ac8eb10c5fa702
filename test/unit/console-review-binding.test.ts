/** The review page sends back what the queue item lists as the binding, whatever shape the API gives it. */
import { describe, expect, it } from 'vitest';
// @ts-expect-error: the console's browser modules are plain JavaScript without types
import { bindingOf } from '../../src/console/web/pages/review.js';

describe('review binding in the console', () => {
  const described = { id: 'c1', payerId: 'acme', ruleVersion: 'r1', slaDueAt: null, urgency: 'standard' };

  it('today’s queue item: everything but the describing fields, including fields added later', () => {
    const item = {
      ...described,
      caseVersion: 4,
      patientIdentifiers: [{ value: 'MRN-1' }],
      serviceCodes: [{ system: 's', code: '70553' }],
      idempotencyKey: 'pa:k',
    };
    expect(bindingOf(item)).toEqual({
      caseVersion: 4,
      patientIdentifiers: [{ value: 'MRN-1' }],
      serviceCodes: [{ system: 's', code: '70553' }],
      idempotencyKey: 'pa:k',
    });
  });

  it('an item that names what must be repeated: exactly that', () => {
    const mustRepeat = {
      submissionKey: 'pa:k',
      caseVersion: 7,
      patientIdentifier: { value: 'MRN-1' },
      serviceCodes: [],
    };
    expect(
      bindingOf({ ...described, caseVersion: 7, gate: { requiredRole: 'medical_director' }, mustRepeat }),
    ).toBe(mustRepeat);
    expect(bindingOf({ ...described, binding: { caseVersion: 2 } })).toEqual({ caseVersion: 2 });
  });
});
