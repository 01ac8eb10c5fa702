/**
 * Fuzzed 278, 271 and 999 input never crashes the parser: it returns a result or throws an X12ParseError
 * (a GatewayError with a stable code), nothing else. Decisions read from whatever survives still satisfy the
 * canonical AuthorizationDecision schema.
 */
import { readFileSync } from 'node:fs';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { toAuthorizationDecision } from '../../connectors/x12/005010X217/read-278.ts';
import { X12ParseError } from '../../connectors/x12/errors.ts';
import { parseX12 } from '../../connectors/x12/parse.ts';
import { checkAuthorizationDecision } from '../../src/canonical/validate.ts';
import { fixturePath } from '../helpers/fixtures.ts';

const seeds = {
  '278': [
    'corpus/278-resp-A1-oopfactory-ig-3_1_2.x12',
    'corpus/278-resp-A6-A1-oopfactory-ig-3_2_2.x12',
    'corpus/278-resp-A4-oopfactory-ig-3_3_2.x12',
    'handmade/278-resp-A3-A1-service-level.x12',
  ],
  '271': [
    'corpus/271-lfh-subscriber-active.x12',
    'corpus/271-oopfactory-AAA-42.x12',
    'corpus/271-4010-oopfactory-inactive-EB6.x12',
    'corpus/271-oopfactory-ig-3_1_2-isa11-eq-isa16.x12',
  ],
  '999': [
    'corpus/999-imsweb-rejected.x12',
    'corpus/999-oopfactory-partial-dhs-wisconsin.x12',
    'corpus/999-pyx12-multi-GS.x12',
    'corpus/ta1-oopfactory-two-TA1.x12',
  ],
};
const texts = Object.fromEntries(
  Object.entries(seeds).map(([kind, files]) => [
    kind,
    files.map((f) => readFileSync(fixturePath('x12', f), 'utf8')),
  ]),
) as Record<keyof typeof seeds, string[]>;

/** Parses and, for 278 responses, derives the decision; anything thrown must be an X12ParseError. */
function survive(input: string): void {
  try {
    const parsed = parseX12(input);
    for (const result of parsed.results) {
      if (result.kind !== '278-response') continue;
      const decision = toAuthorizationDecision(result);
      if (decision) {
        const check = checkAuthorizationDecision(decision);
        expect(check.ok ? [] : check.problems).toEqual([]);
      }
    }
  } catch (error) {
    if (!(error instanceof X12ParseError)) throw error;
    expect(error.code).toMatch(/^PAGW_X12_/);
  }
}

const x12Char = fc.constantFrom(
  '*',
  '~',
  ':',
  '^',
  '\n',
  '\r',
  ' ',
  'A',
  '1',
  'HL',
  'HCR',
  'ISA',
  'SE',
  'GS',
  'ST',
  'IEA',
  '\uFEFF',
  '|',
  '>',
);

/** Random edits of a seed: cut, insert delimiter-heavy text, delete, duplicate or swap segments. */
function mutated(seedsOfKind: string[]) {
  return fc
    .tuple(
      fc.constantFrom(...seedsOfKind),
      fc.array(
        fc.oneof(
          fc.record({ op: fc.constant('cut' as const), at: fc.nat() }),
          fc.record({
            op: fc.constant('insert' as const),
            at: fc.nat(),
            text: fc.array(x12Char, { maxLength: 6 }).map((a) => a.join('')),
          }),
          fc.record({
            op: fc.constant('delete' as const),
            at: fc.nat(),
            length: fc.integer({ min: 1, max: 40 }),
          }),
          fc.record({ op: fc.constant('swap' as const), a: fc.nat(), b: fc.nat() }),
          fc.record({ op: fc.constant('duplicate' as const), a: fc.nat() }),
          fc.record({
            op: fc.constant('element' as const),
            at: fc.nat(),
            text: fc.string({ maxLength: 12 }),
          }),
        ),
        { minLength: 1, maxLength: 5 },
      ),
    )
    .map(([seed, edits]) => {
      let text = seed;
      for (const edit of edits) {
        const n = Math.max(text.length, 1);
        switch (edit.op) {
          case 'cut':
            text = text.slice(0, edit.at % n);
            break;
          case 'insert':
            text = text.slice(0, edit.at % n) + edit.text + text.slice(edit.at % n);
            break;
          case 'delete':
            text = text.slice(0, edit.at % n) + text.slice((edit.at % n) + edit.length);
            break;
          case 'swap':
          case 'duplicate': {
            const segments = text.split('~');
            const a = edit.a % segments.length;
            if (edit.op === 'duplicate') segments.splice(a, 0, segments[a]!);
            else {
              const b = edit.b % segments.length;
              [segments[a], segments[b]] = [segments[b]!, segments[a]!];
            }
            text = segments.join('~');
            break;
          }
          case 'element': {
            const at = edit.at % n;
            const star = text.indexOf('*', at);
            if (star >= 0) {
              const end = text.slice(star + 1).search(/[*~]/);
              text = `${text.slice(0, star + 1)}${edit.text}${end < 0 ? '' : text.slice(star + 1 + end)}`;
            }
            break;
          }
        }
      }
      return text;
    });
}

describe('x12 parser under fuzzed input never crashes (only X12ParseError)', () => {
  it.each(Object.keys(seeds))('mutated %s documents', (kind) => {
    fc.assert(fc.property(mutated(texts[kind as keyof typeof seeds]), survive), { numRuns: 600 });
  });

  it('arbitrary text, with and without an ISA prefix', () => {
    const isa =
      'ISA*00*          *00*          *ZZ*SENDER         *ZZ*RECEIVER       *240101*1200*^*00501*000000001*0*T*:~';
    fc.assert(
      fc.property(fc.string({ maxLength: 300 }), fc.boolean(), (body, prefixed) =>
        survive(prefixed ? isa + body : body),
      ),
      { numRuns: 600 },
    );
  });

  it('arbitrary segments inside a 278 response envelope', () => {
    const segment = fc
      .tuple(
        fc.constantFrom(
          'HL',
          'NM1',
          'HCR',
          'UM',
          'TRN',
          'DTP',
          'HI',
          'HSD',
          'SV1',
          'SV2',
          'REF',
          'AAA',
          'MSG',
          'PWK',
          'BHT',
          'XX',
        ),
        fc.array(
          fc.oneof(
            fc.string({ maxLength: 8 }),
            fc.constantFrom(
              'A1',
              'A3',
              'A4',
              'A6',
              'EV',
              'SS',
              '20',
              '21',
              '22',
              '23',
              'D8',
              'RD8',
              'HC:99213',
              '20260101-20260101',
              '1',
              '0',
            ),
          ),
          { maxLength: 8 },
        ),
      )
      .map(([tag, elements]) => [tag, ...elements.map((e) => e.replace(/[*~]/g, ''))].join('*'));
    fc.assert(
      fc.property(fc.array(segment, { maxLength: 25 }), (segments) => {
        const body = ['ST*278*0001*005010X217', ...segments, `SE*${segments.length + 2}*0001`].join('~');
        survive(
          `ISA*00*          *00*          *ZZ*SENDER         *ZZ*RECEIVER       *240101*1200*^*00501*000000001*0*T*:~GS*HI*S*R*20240101*1200*1*X*005010X217~${body}~GE*1*1~IEA*1*000000001~`,
        );
      }),
      { numRuns: 800 },
    );
  });
});
