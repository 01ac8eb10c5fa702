/**
 * Every inbound fixture (the public HL7 v2, FHIR and Da Vinci PAS corpus, and the messages written for this
 * project) maps to valid canonical requests or is refused with a specific reason; the whole outcome equals
 * its golden file. A missing golden fails: regenerate on purpose with `npx tsx scripts/regenerate-goldens.ts`.
 */
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { checkAuthorizationRequest } from '../../src/canonical/index.ts';
import { mapOrder } from '../../src/mapping/index.ts';
import { caseInput, fixturesDir, goldenOf, goldenPath, mappingCases, readFixture } from './mapping-cases.ts';

function describeExpectation(expect: (typeof mappingCases)[number]['expect']): string {
  return 'maps' in expect
    ? `maps to ${expect.maps} request(s)`
    : `is refused: ${expect.code} "${expect.problem}"`;
}

describe('inbound corpus conformance', () => {
  it.each(mappingCases.map((c) => [c.file, describeExpectation(c.expect), c] as const))(
    '%s %s',
    (_file, _expected, testCase) => {
      const outcome = mapOrder({ ...caseInput, raw: readFixture(testCase.file), profile: testCase.profile });
      if ('maps' in testCase.expect) {
        expect(outcome.ok ? [] : outcome.error.problems, 'problems').toEqual([]);
        if (!outcome.ok) return;
        expect(outcome.requests).toHaveLength(testCase.expect.maps);
        for (const request of outcome.requests) expect(checkAuthorizationRequest(request).ok).toBe(true);
      } else {
        expect(outcome.ok).toBe(false);
        if (outcome.ok) return;
        const expected = testCase.expect;
        expect(outcome.error.code).toBe(expected.code);
        expect(
          outcome.error.problems.some(
            (p) =>
              p.message.includes(expected.problem) &&
              (!expected.location || p.location === expected.location),
          ),
          `a problem at ${expected.location ?? 'any location'} saying "${expected.problem}" among ${JSON.stringify(outcome.error.problems)}`,
        ).toBe(true);
      }
      const golden = goldenPath(testCase.file);
      expect(
        existsSync(golden),
        `missing golden ${path.relative(process.cwd(), golden)}: run scripts/regenerate-goldens.ts`,
      ).toBe(true);
      expect(goldenOf(outcome)).toEqual(JSON.parse(readFileSync(golden, 'utf8')));
    },
  );

  it.each(['hl7v2', 'fhir', 'pas'])(
    'every fixture in test/fixtures/%s has a case and a source row',
    (format) => {
      const dir = path.join(fixturesDir, format);
      const inputs = readdirSync(dir).filter((f) => /\.(hl7|json)$/.test(f) && !f.endsWith('.expected.json'));
      const covered = new Set(mappingCases.map((c) => c.file));
      expect(inputs.filter((f) => !covered.has(`${format}/${f}`))).toEqual([]);
      const sources = readFileSync(path.join(dir, 'SOURCES.md'), 'utf8');
      expect(inputs.filter((f) => !sources.includes(f))).toEqual([]);
    },
  );

  it('every PAS request bundle of the corpus maps, and every other PAS example is refused', () => {
    const pas = mappingCases.filter((c) => c.file.startsWith('pas/'));
    const requests = pas.filter((c) => 'maps' in c.expect).map((c) => path.basename(c.file));
    expect(requests.sort()).toEqual([
      'Bundle-HomecareAuthorizationBundleExample.json',
      'Bundle-MedicalServicesAuthorizationBundleExample.json',
      'Bundle-ReferralAuthorizationBundleExample.json',
      'Bundle-SurgicalRequestBundleExample.json',
    ]);
  });
});
