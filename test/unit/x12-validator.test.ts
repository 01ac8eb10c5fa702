/**
 * The TR3 validator catches each kind of mistake a generator could make: order, usage, repeats, loop rules,
 * element usage, length, type and code values, envelope counts and the HL hierarchy — each reported at its
 * position with the 999-style code.
 */
import { describe, expect, it } from 'vitest';
import { build278 } from '../../connectors/x12/005010X217/build-278.ts';
import { request278Spec } from '../../connectors/x12/005010X217/spec.ts';
import type { BuildOptions } from '../../connectors/x12/build-parts.ts';
import { X12BuildError } from '../../connectors/x12/errors.ts';
import { assertValidInterchange, validateInterchange } from '../../connectors/x12/validator.ts';
import { sampleRequest } from '../helpers/fixtures.ts';

const options: BuildOptions = {
  envelope: {
    sender: { qualifier: 'ZZ', id: 'PAGATEWAY' },
    receiver: { qualifier: 'ZZ', id: 'PAGWSIMCH' },
    usage: 'T',
    interchangeControlNumber: 42,
    groupControlNumber: 42,
    at: new Date('2026-01-15T09:30:00Z'),
  },
  payer: { name: 'Example Health Plan', id: '87726' },
  traceNumber: 'PAGW-0001',
  traceOriginator: '9PAGATEWAY',
  submitterReference: 'CASE0001',
};
const good = build278(sampleRequest(), options);
const setCount = (text: string, delta: number) =>
  text.replace(/SE\*(\d+)\*/, (_m, n) => `SE*${Number(n) + delta}*`);

describe('TR3 validator (005010X217 request)', () => {
  it('accepts what the builder makes', () => {
    expect(validateInterchange(good, [request278Spec])).toEqual({ valid: true, diagnostics: [] });
  });

  it.each([
    [
      'a segment out of order',
      (s: string) => s.replace(/(TRN\*[^~]*~)(UM\*[^~]*~)/, '$2$1'),
      'IK304_2',
      'TRN (segment 14, loop 2000E',
    ],
    [
      'a required segment missing',
      (s: string) => setCount(s.replace(/(HL\*4\*3\*EV\*1~TRN\*[^~]*~)UM\*[^~]*~/, '$1'), -1),
      'IK304_3',
      'HI (segment 14, loop 2000E',
    ],
    [
      'a required loop missing',
      (s: string) => setCount(s.replace(/NM1\*X3\*[^~]*~/, ''), -1),
      'IK304_I7',
      'HL (segment 6, loop 2000A',
    ],
    [
      'a segment over its maximum use',
      (s: string) => setCount(s.replace(/(HI\*ABK[^~]*~)/, '$1$1'), 1),
      'IK304_5',
      'HI (segment 16, loop 2000E',
    ],
    [
      'a segment the TR3 does not have',
      (s: string) => setCount(s.replace(/(HI\*ABK[^~]*~)/, '$1ZZZ*1~'), 1),
      'IK304_2',
      'ZZZ (segment 16',
    ],
    [
      'a code the TR3 does not allow',
      (s: string) => s.replace('UM*HS*I*1~HI', 'UM*XX*I*1~HI'),
      'IK403_7',
      'UM01 (segment 14, loop 2000E',
    ],
    [
      'an element too long',
      (s: string) => s.replace('9PAGATEWAY~', '9PAGATEWAYX~'),
      'IK403_5',
      'TRN03 (segment 13, loop 2000E',
    ],
    [
      'an impossible date',
      (s: string) => s.replace('DMG*D8*19800412', 'DMG*D8*19801332'),
      'IK403_8',
      'DMG02 (segment 11, loop 2010C',
    ],
    [
      'a required element empty',
      (s: string) => s.replace('NM1*IL*1*Testpatient', 'NM1*IL*1*'),
      'IK403_1',
      'NM103 (segment 10, loop 2010C',
    ],
    [
      'a trailing separator',
      (s: string) => s.replace('UM*HS*I*1~HI', 'UM*HS*I*1*~HI'),
      'TRAILING_SEPARATOR',
      'UM04',
    ],
    ['a wrong SE count', (s: string) => setCount(s, 1), 'SE_COUNT', 'SE01'],
    [
      'a wrong HL child code',
      (s: string) => s.replace('HL*5*4*SS*0', 'HL*5*4*SS*1'),
      'HL_CHILD_CODE',
      'HL04 (segment 16',
    ],
    ['a wrong ISA usage indicator', (s: string) => s.replace('*0*T*:~', '*0*X*:~'), 'ISA_VALUE', 'ISA15'],
    [
      'a GS08 naming another guide',
      (s: string) => s.replace('*X*005010X217~', '*X*005010X216~'),
      'GS_VALUE',
      'GS08',
    ],
  ])('reports %s', (_name, mutate, code, location) => {
    const report = validateInterchange(mutate(good), [request278Spec]);
    expect(report.valid).toBe(false);
    expect(report.diagnostics).toContainEqual(
      expect.objectContaining({ code, location: expect.stringContaining(location) }),
    );
  });

  it('has node-x12 strict parsing agree on envelope counts', () => {
    const report = validateInterchange(setCount(good, 1), [request278Spec]);
    expect(report.diagnostics.map((d) => d.code)).toContain('NODE_X12_STRICT');
  });

  it('assertValidInterchange throws PAGW_X12_TR3_INVALID with every problem', () => {
    expect(() => assertValidInterchange(setCount(good, 1), [request278Spec])).toThrow(X12BuildError);
    try {
      assertValidInterchange(good.replace('UM*HS*I*1~HI', 'UM*XX*I*1~HI'), [request278Spec]);
    } catch (error) {
      expect((error as X12BuildError).code).toBe('PAGW_X12_TR3_INVALID');
      expect((error as X12BuildError).problems[0]?.location).toMatch(/^UM01/);
    }
  });
});
