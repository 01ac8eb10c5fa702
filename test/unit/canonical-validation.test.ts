import { describe, expect, it } from 'vitest';
import {
  type AuthorizationRequest,
  assertAuthorizationRequest,
  checkAuthorizationRequest,
} from '../../src/canonical/index.ts';
import { ValidationError } from '../../src/errors/index.ts';
import { readJsonFixture } from '../helpers/fixtures.ts';

describe('canonical AuthorizationRequest validation', () => {
  it('accepts a complete request', () => {
    expect(
      checkAuthorizationRequest(readJsonFixture('canonical', 'authorization-request.valid.json')),
    ).toMatchObject({ ok: true });
  });

  it('accepts a pharmacy-benefit request: BIN/PCN/group/cardholder, NDC with prescription, drafted checklist', () => {
    expect(
      checkAuthorizationRequest(readJsonFixture('canonical', 'pharmacy-request.valid.json')),
    ).toMatchObject({
      ok: true,
    });
  });

  it('names the path of a bad BIN, days supply and checklist status', () => {
    const request = readJsonFixture<AuthorizationRequest>('canonical', 'pharmacy-request.valid.json');
    request.coverage.pharmacyBenefit!.bin = '61001';
    request.serviceLines[0]!.prescription!.daysSupply = 0;
    request.clinicalCriteria!.items[0]!.status = 'probably' as 'met';
    const result = checkAuthorizationRequest(request);
    expect(result.ok).toBe(false);
    if (result.ok) return;
    expect(result.problems.map((p) => p.location).sort()).toEqual([
      '$.clinicalCriteria.items[0].status',
      '$.coverage.pharmacyBenefit.bin',
      '$.serviceLines[0].prescription.daysSupply',
    ]);
  });

  it('reports every problem with its JSON path and reason', () => {
    const result = checkAuthorizationRequest(
      readJsonFixture('canonical', 'authorization-request.invalid.json'),
    );
    expect(result.ok).toBe(false);
    if (result.ok) return;
    const byPath = Object.fromEntries(result.problems.map((p) => [p.location, p.message]));
    expect(byPath).toMatchObject({
      '$.patient.identifiers': expect.stringContaining('fewer than 1'),
      '$.patient.birthDate': expect.stringContaining('format'),
      '$.coverage.memberId': 'is required but missing',
      '$.coverage.relationshipToSubscriber': expect.stringContaining('must be one of'),
      '$.serviceLines[0].code.system': 'must be a valid uri',
      '$.serviceLines[0].code.code': expect.stringMatching(/fewer than 1|format/),
      '$.urgency': expect.stringContaining('"standard", "expedited"'),
      '$.colour': 'is not a known property',
    });
  });

  it('throws a typed ValidationError carrying the problems', () => {
    try {
      assertAuthorizationRequest({ tenant: 'a' });
      expect.unreachable();
    } catch (error) {
      expect(error).toBeInstanceOf(ValidationError);
      const v = error as ValidationError;
      expect(v.code).toBe('PAGW_VALIDATION_FAILED');
      expect(v.problems.map((p) => p.location)).toEqual(
        expect.arrayContaining([
          '$.source',
          '$.patient',
          '$.coverage',
          '$.serviceLines',
          '$.urgency',
          '$.idempotencyKey',
        ]),
      );
    }
  });

  it('rejects a code without a system', () => {
    const request = readJsonFixture<Record<string, unknown>>('canonical', 'authorization-request.valid.json');
    request.serviceLines = [{ sequence: 1, code: { code: '70553' } }];
    const result = checkAuthorizationRequest(request);
    expect(result.ok ? [] : result.problems).toContainEqual({
      location: '$.serviceLines[0].code.system',
      message: 'is required but missing',
    });
  });

  it.each([
    ['2026', true],
    ['2026-02', true],
    ['2026-02-28', true],
    ['2026-13-01', false],
    ['26-01-01', false],
    ['2026-01-01T10:00:00Z', false],
  ])('birthDate %s valid=%s (ISO-8601 date, possibly partial)', (birthDate, valid) => {
    const request = readJsonFixture<{ patient: Record<string, unknown> }>(
      'canonical',
      'authorization-request.valid.json',
    );
    request.patient.birthDate = birthDate;
    expect(checkAuthorizationRequest(request).ok).toBe(valid);
  });
});
