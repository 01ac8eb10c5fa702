/**
 * Regressions of the lenient X12 reader (issue #10 item 1), one fixture each in test/fixtures/x12/handmade/:
 * a trailing truncated ISA crashed with `TypeError: Cannot read properties of undefined (reading 'isa')`, and
 * byte-order marks anywhere but the start were read as part of a segment. Every failure must be an
 * X12ParseError with a stable code and a position; a leading UTF-8 byte-order mark is read.
 */
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { toAuthorizationDecision } from '../../connectors/x12/005010X217/read-278.ts';
import { X12ParseError } from '../../connectors/x12/errors.ts';
import { parseX12 } from '../../connectors/x12/parse.ts';
import { checkAuthorizationDecision } from '../../src/canonical/validate.ts';
import { fixturePath } from '../helpers/fixtures.ts';

const bytes = (file: string) => readFileSync(fixturePath('x12', 'handmade', file));

function parseError(input: string | Uint8Array): X12ParseError {
  try {
    parseX12(input);
  } catch (error) {
    expect(error).toBeInstanceOf(X12ParseError);
    return error as X12ParseError;
  }
  throw new Error('expected an X12ParseError');
}

describe('X12 reader: truncated trailing ISA', () => {
  it.each([
    ['278-resp-then-truncated-isa.x12', "the input ends after 1 of the ISA's 16 elements"],
    ['278-resp-then-bare-isa.x12', 'nothing follows "ISA"'],
  ])('%s is PAGW_X12_TRUNCATED at the second ISA', (file, detail) => {
    const error = parseError(bytes(file));
    expect(error.code).toBe('PAGW_X12_TRUNCATED');
    expect(error.message).toContain('interchange 2');
    expect(error.message).toContain(detail);
    // The valid interchange before it has 29 segments on 29 lines: the cut-off ISA is segment 30 on line 30.
    expect(error.position).toMatchObject({ tag: 'ISA', segment: 30, line: 30, column: 1 });
    expect(error.location).toBe('ISA (segment 30, line 30, column 1)');
  });

  it.each(['ISA', 'ISA*', 'ISA*00*', 'ISA*00*          *00*'])(
    '%j alone is PAGW_X12_TRUNCATED at line 1',
    (text) => {
      const error = parseError(text);
      expect(error.code).toBe('PAGW_X12_TRUNCATED');
      expect(error.position).toMatchObject({ segment: 1, line: 1, column: 1 });
    },
  );

  it('every prefix of a valid interchange fails with a typed error or reads (never a TypeError)', () => {
    const text = bytes('278-resp-A3-A1-service-level.x12').toString('utf8');
    for (let end = 0; end <= text.length; end++) {
      try {
        parseX12(text.slice(0, end) + (end % 2 ? 'ISA' : ''));
      } catch (error) {
        expect(error).toBeInstanceOf(X12ParseError);
      }
    }
  });

  it('an alphanumeric character after ISA is still PAGW_X12_DELIMITERS', () => {
    expect(parseError(bytes('isa-alphanumeric-separator.x12')).code).toBe('PAGW_X12_DELIMITERS');
  });
});

describe('X12 reader: byte-order marks', () => {
  it('reads a 278 after a leading UTF-8 byte-order mark, reporting it as info, positions unshifted', () => {
    const parsed = parseX12(bytes('278-resp-utf8-bom.x12'));
    expect(parsed.diagnostics.find((d) => d.code === 'BOM')).toMatchObject({ level: 'info' });
    const [result] = parsed.results;
    expect(result?.kind).toBe('278-response');
    expect(result?.kind === '278-response' && toAuthorizationDecision(result)).toMatchObject({
      certificationNumber: 'CERT7781',
    });
    const plain = parseX12(bytes('278-resp-A3-A1-service-level.x12'));
    expect(parsed.results).toHaveLength(plain.results.length);
  });

  it('reads two interchanges joined with `cat`, each behind its own byte-order mark', () => {
    const parsed = parseX12(bytes('278-resp-twice-joined-with-boms.x12'));
    expect(parsed.results.map((r) => r.kind)).toEqual(['278-response', '278-response']);
    expect(parsed.diagnostics.filter((d) => d.code === 'BOM')).toHaveLength(2);
  });

  it('refuses a byte-order mark inside the interchange with PAGW_X12_ENCODING at its segment', () => {
    const error = parseError(bytes('278-resp-bom-inside.x12'));
    expect(error.code).toBe('PAGW_X12_ENCODING');
    expect(error.position).toMatchObject({ line: 2, column: 1 });
  });

  it('refuses a byte-order mark inside an element', () => {
    const text = bytes('278-resp-A3-A1-service-level.x12')
      .toString('utf8')
      .replace('CERT7781', 'CERT\uFEFF7781');
    const error = parseError(text);
    expect(error.code).toBe('PAGW_X12_ENCODING');
    expect(error.position).toMatchObject({ tag: 'HCR', line: 14, column: 12 });
  });

  it.each([
    ['278-resp-utf16le-bom.x12', 'UTF-16LE'],
    ['278-resp-utf16be-bom.x12', 'UTF-16BE'],
  ])('refuses %s with PAGW_X12_ENCODING naming %s', (file, name) => {
    const error = parseError(bytes(file));
    expect(error.code).toBe('PAGW_X12_ENCODING');
    expect(error.message).toContain(name);
    expect(error.position).toMatchObject({ line: 1, column: 1, offset: 0 });
  });
});

describe('X12 278 response: values the canonical decision cannot carry (fuzz findings)', () => {
  it.each([
    ['longer than the TR3 allows', `72148${'F'.repeat(60)}`],
    ['blank', '   '],
  ])('a procedure code %s gives a line without a code and a warning, and a valid decision', (_, code) => {
    const text = bytes('278-resp-A3-A1-service-level.x12')
      .toString('utf8')
      .replace('SV1*HC:72148*', `SV1*HC:${code}*`);
    const [result] = parseX12(text).results;
    if (result?.kind !== '278-response') throw new Error('expected a 278 response');
    expect(result.diagnostics.find((d) => d.code === 'PROCEDURE_CODE_LENGTH')).toMatchObject({
      level: 'warning',
      position: { tag: 'SV1', element: 1 },
    });
    const decision = toAuthorizationDecision(result);
    expect(checkAuthorizationDecision(decision)).toMatchObject({ ok: true });
    expect(decision?.lines[1]).not.toHaveProperty('code');
    expect(decision?.lines[0]?.code).toEqual({ system: 'http://www.ama-assn.org/go/cpt', code: '70553' });
  });
});

describe('X12 278 response: a PWK01 report type the decision cannot carry (fuzz findings)', () => {
  const corpus = (file: string) => readFileSync(fixturePath('x12', 'corpus', file)).toString('utf8');
  it.each([
    ['longer than 64 characters', 'A'.repeat(65)],
    ['blank', '  '],
  ])('a report type %s gives a warning and a valid decision that still waits for documents', (_, type) => {
    const text = corpus('278-resp-A4-oopfactory-ig-3_3_2.x12').replace('PWK*AS*VO~', `PWK*${type}*VO~`);
    const [result] = parseX12(text).results;
    if (result?.kind !== '278-response') throw new Error('expected a 278 response');
    expect(result.diagnostics.find((d) => d.code === 'PAPERWORK_REPORT_TYPE')).toMatchObject({
      level: 'warning',
      position: { tag: 'PWK', element: 1 },
    });
    const decision = toAuthorizationDecision(result);
    expect(checkAuthorizationDecision(decision)).toMatchObject({ ok: true });
    expect(decision).toMatchObject({ outcome: 'pended', followUp: 'send_documentation' });
    expect(decision).not.toHaveProperty('documentsRequested');
  });

  it('the corpus PWK*AS is read as a request for an admission summary', () => {
    const [result] = parseX12(corpus('278-resp-A4-oopfactory-ig-3_3_2.x12')).results;
    if (result?.kind !== '278-response') throw new Error('expected a 278 response');
    expect(toAuthorizationDecision(result)?.documentsRequested?.[0]?.type).toMatchObject({ code: 'AS' });
  });
});

describe('X12 codes named like Object.prototype members (fuzz finding: HCR01 "toString")', () => {
  const prototypeNames = ['toString', 'constructor', '__proto__', 'valueOf', 'hasOwnProperty'];

  it.each(prototypeNames)('HCR01 %s is an unknown action: a valid decision, outcome "error"', (name) => {
    const text = bytes('278-resp-A3-A1-service-level.x12')
      .toString('utf8')
      .replace('HCR*A3*', `HCR*${name}*`);
    const [result] = parseX12(text).results;
    if (result?.kind !== '278-response') throw new Error('expected a 278 response');
    const decision = toAuthorizationDecision(result);
    expect(checkAuthorizationDecision(decision)).toMatchObject({ ok: true });
    expect(decision?.lines[1]).toMatchObject({ outcome: 'error' });
    expect(decision?.lines[1]).not.toHaveProperty('reviewActionCode');
  });

  it('any element of a 278 response replaced by such a name reads to a typed result or a typed error', () => {
    const segments = bytes('278-resp-A3-A1-service-level.x12').toString('utf8').split('~');
    for (let s = 1; s < segments.length; s++) {
      const elements = segments[s]!.split('*');
      for (let e = 1; e < elements.length; e++) {
        for (const name of prototypeNames) {
          const edited = [...segments];
          edited[s] = [...elements.slice(0, e), name, ...elements.slice(e + 1)].join('*');
          try {
            for (const result of parseX12(edited.join('~')).results) {
              if (result.kind !== '278-response') continue;
              const decision = toAuthorizationDecision(result);
              if (decision) expect(checkAuthorizationDecision(decision).ok).toBe(true);
            }
          } catch (error) {
            expect(error).toBeInstanceOf(X12ParseError);
          }
        }
      }
    }
  });
});
