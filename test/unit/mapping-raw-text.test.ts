/**
 * The raw-byte checks behind PAGW_MAP_FORBIDDEN_CHARACTER and PAGW_MAP_UNDECODABLE: where a byte offset lies
 * in an ER7 message or a JSON document, UTF-8 validity exactly as the WHATWG decoder sees it, and what the
 * database cannot store.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { readHl7Bytes } from '../../src/mapping/hl7v2/charset.ts';
import type { MappingProblem } from '../../src/mapping/index.ts';
import {
  findForbiddenStrings,
  firstInvalidUtf8,
  forbiddenCharacterIn,
  hl7PositionAt,
  scanJson,
} from '../../src/mapping/raw-text.ts';

const bytes = (text: string) => Buffer.from(text, 'latin1');

describe('firstInvalidUtf8', () => {
  it('agrees with the fatal WHATWG UTF-8 decoder on any bytes', () => {
    const fatal = new TextDecoder('utf-8', { fatal: true });
    fc.assert(
      fc.property(
        fc.oneof(
          fc.uint8Array({ maxLength: 64 }),
          // Valid UTF-8 of any code points, with random bytes spliced in (truncated and stray sequences).
          // (Built from code points: fast-check's 'binary' string unit is very slow to generate.)
          fc
            .tuple(
              fc.array(fc.integer({ min: 0, max: 0x10ffff }), { maxLength: 16 }),
              fc.uint8Array({ maxLength: 3 }),
              fc.nat({ max: 64 }),
            )
            .map(([points, noise, at]) => {
              const valid = Buffer.from(String.fromCodePoint(...points), 'utf8');
              const cut = Math.min(at, valid.length);
              return new Uint8Array(Buffer.concat([valid.subarray(0, cut), noise, valid.subarray(cut)]));
            }),
        ),
        (input) => {
          let valid = true;
          try {
            fatal.decode(input);
          } catch {
            valid = false;
          }
          return (firstInvalidUtf8(input) === -1) === valid;
        },
      ),
    );
  });

  it('names the first bad byte: a lone continuation, a truncated sequence, an overlong form, a surrogate', () => {
    expect(firstInvalidUtf8(Buffer.from('Ábc', 'utf8'))).toBe(-1);
    expect(firstInvalidUtf8(bytes('ab\x80c'))).toBe(2);
    expect(firstInvalidUtf8(bytes('abc\xc3'))).toBe(3);
    expect(firstInvalidUtf8(bytes('a\xc0\xafb'))).toBe(1);
    expect(firstInvalidUtf8(bytes('a\xed\xa0\x80'))).toBe(1);
    expect(firstInvalidUtf8(bytes('MUELLER^J\xdcRGEN'))).toBe(9);
  });
});

describe('hl7PositionAt', () => {
  const message = bytes(
    'MSH|^~\\&|A|B|C|D|20260101||ORM^O01|ID-1|P|2.5.1\rPID|1||MRN||DOE^JOHN~ROE^JANE\nPID|2\r\nOBR|1',
  );

  it('names segment, occurrence, field, repetition and component of a byte, MSH counted from MSH-1', () => {
    const at = (needle: string, plus = 0) => hl7PositionAt(message, message.indexOf(needle) + plus);
    expect(at('ID-1')).toEqual({ segment: 'MSH', sequence: 1, field: 10 });
    expect(at('^~\\&', 1)).toEqual({ segment: 'MSH', sequence: 1, field: 2 });
    expect(at('JOHN')).toEqual({ segment: 'PID', sequence: 1, field: 5, component: 2 });
    expect(at('JANE')).toEqual({ segment: 'PID', sequence: 1, field: 5, repetition: 2, component: 2 });
    expect(at('PID|2', 4)).toEqual({ segment: 'PID', sequence: 2, field: 1 });
    expect(at('OBR', 1)).toEqual({ segment: 'OBR', sequence: 1 });
  });

  it('uses the message own field separator', () => {
    const custom = bytes('MSH#$*@!#A#B\rPID#1##MRN');
    expect(hl7PositionAt(custom, custom.indexOf('MRN'))).toEqual({ segment: 'PID', sequence: 1, field: 3 });
  });
});

describe('scanJson', () => {
  it('reports \\u0000 and unpaired surrogate escapes with their JSON path and byte offset', () => {
    const text =
      '{"entry":[{"resource":{"name":[{"family":"Po\\u0000e"}]}},{"a b":"x\\ud800y","ok":"\\ud83d\\ude00"}]}';
    const found = scanJson(bytes(text));
    expect(found).toEqual([
      { path: '$.entry[0].resource.name[0].family', offset: text.indexOf('\\u0000'), kind: 'nul' },
      { path: '$.entry[1]["a b"]', offset: text.indexOf('\\ud800'), kind: 'surrogate' },
    ]);
  });

  it('finds the path of invalid UTF-8 bytes it is given', () => {
    const raw = Buffer.concat([bytes('{"name":[{"given":["J'), Buffer.from([0xfc]), bytes('rgen"]}]}')]);
    expect(scanJson(raw, { invalidUtf8At: [firstInvalidUtf8(raw)] })).toEqual([
      { path: '$.name[0].given[0]', offset: 21, kind: 'invalid-utf8' },
    ]);
  });

  it('finds an invalid byte right after a backslash (fuzz finding: it was skipped as an escape)', () => {
    const raw = Buffer.concat([bytes('{"div":"<p>\\'), Buffer.from([0xad]), bytes('</p>"}')]);
    const at = firstInvalidUtf8(raw);
    expect(scanJson(raw, { invalidUtf8At: [at] })).toEqual([
      { path: '$.div', offset: at, kind: 'invalid-utf8' },
    ]);
  });
});

describe('forbidden characters', () => {
  it('are NUL and unpaired surrogates, wherever they are in parsed JSON (keys too)', () => {
    expect(forbiddenCharacterIn('a\u0000')).toEqual({ index: 1, kind: 'nul' });
    expect(forbiddenCharacterIn('😀\udc00')).toEqual({ index: 2, kind: 'surrogate' });
    expect(forbiddenCharacterIn('ÁÉ\u0001\u007f😀')).toBeUndefined();
    const found = findForbiddenStrings({ a: [{ b: 'x\u0000' }], 'k\ud800': 1 });
    expect(found).toHaveLength(2);
    expect(found).toEqual(
      expect.arrayContaining([
        { path: '$.a[0].b', kind: 'nul' },
        { path: `$[${JSON.stringify('k\ud800')}]`, kind: 'surrogate' },
      ]),
    );
  });
});

describe('readHl7Bytes (MSH-18)', () => {
  const msh = (charset: string) =>
    `MSH|^~\\&|A|B|C|D|20260101||ORM^O01|X|P|2.5.1||||||${charset}\rPID|1||M||`;

  it('decodes by table 0211 and lists the bytes the set cannot decode', () => {
    const latin = readHl7Bytes(Buffer.concat([bytes(msh('8859/1')), bytes('M\xdcLLER\x81')]), []);
    expect(latin.text.endsWith('MÜLLER\u0081')).toBe(true);
    expect(latin.suspects).toEqual([{ offset: latin.text.length - 1, kind: 'undecodable' }]);
    const korean = Buffer.concat([bytes(msh('KS X 1001')), Buffer.from([0xb1, 0xe8, 0xff, 0xff])]);
    const read = readHl7Bytes(korean, []);
    expect(read.text).toContain('김');
    expect(read.suspects.map((s) => s.offset)).toContain(korean.length - 2);
    const ascii = readHl7Bytes(Buffer.concat([bytes(msh('ASCII')), bytes('caf\xe9')]), []);
    expect(ascii.suspects).toEqual([{ offset: ascii.text.length - 1, kind: 'undecodable' }]);
  });

  it('notes UTF-8 characters in a message that declares a single-byte set but is UTF-8 throughout', () => {
    const raw = Buffer.concat([bytes(msh('8859/1')), Buffer.from('MÜLLER', 'utf8')]);
    expect(readHl7Bytes(raw, []).suspects).toEqual([
      { offset: raw.indexOf(0xc3), kind: 'utf8-under-single-byte' },
    ]);
  });

  it('reads an unknown MSH-18 as UTF-8, with a warning', () => {
    const warnings: MappingProblem[] = [];
    const read = readHl7Bytes(Buffer.from(`${msh('KLINGON')}Ü`, 'utf8'), warnings);
    expect(read.suspects).toEqual([]);
    expect(warnings.map((w) => w.location)).toEqual(['MSH-18']);
  });
});
