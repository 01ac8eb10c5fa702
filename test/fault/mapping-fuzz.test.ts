/**
 * Whatever bytes arrive, the mapper answers: canonical requests that satisfy the schema, or a MappingError
 * naming its problems. Random bytes, truncations and field mutations of the corpus never escape as anything
 * else (a TypeError, a RangeError …) and never hang (each run is bounded by the test timeout).
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { checkAuthorizationRequest } from '../../src/canonical/index.ts';
import { type MapOutcome, MappingError, mapOrder } from '../../src/mapping/index.ts';
import { mappingCases, readFixture } from '../conformance/mapping-cases.ts';

const hl7Corpus = mappingCases.filter((c) => c.file.startsWith('hl7v2/')).map((c) => readFixture(c.file));
const fhirCorpus = mappingCases.filter((c) => !c.file.startsWith('hl7v2/')).map((c) => readFixture(c.file));
const input = { tenant: 'clinic-a', sender: 'fuzz' } as const;

function holds(outcome: MapOutcome): boolean {
  if (outcome.ok) {
    return outcome.requests.length > 0 && outcome.requests.every((r) => checkAuthorizationRequest(r).ok);
  }
  return (
    outcome.error instanceof MappingError &&
    outcome.error.problems.length > 0 &&
    outcome.error.problems.every((p) => p.location.length > 0 && p.message.length > 0) &&
    outcome.message.key.length > 0
  );
}

function mapSafely(raw: Uint8Array | string, format?: 'hl7v2' | 'fhir'): MapOutcome {
  return mapOrder({ ...input, raw, format });
}

const delimiterChars = fc.constantFrom('|', '^', '~', '\\', '&', '\r', '\n', '\r\n', '\x0b', '\x1c', '');
const fieldText = fc.oneof(
  fc.string({ maxLength: 40 }),
  fc.stringMatching(/^[0-9A-Za-z.\-+ ]{0,20}$/),
  fc
    .array(fc.oneof(fc.string({ maxLength: 6 }), delimiterChars), { maxLength: 8 })
    .map((parts) => parts.join('')),
  fc.constantFrom(
    '\\F\\',
    '\\S\\',
    '\\T\\',
    '\\R\\',
    '\\E\\',
    '\\X41\\',
    '\\X\\',
    '\\Xzz\\',
    '""',
    '\\H\\',
    '\\.br\\',
  ),
  fc.constantFrom(
    'NW',
    'SC',
    '20241399',
    '2024',
    '19700101120000+9999',
    '1234567893',
    'I10',
    'C4',
    'L',
    '99ZZZ',
  ),
);

describe('mapper robustness (fast-check)', () => {
  it('random bytes, as either format or detected, give the typed outcome', () => {
    fc.assert(
      fc.property(
        fc.uint8Array({ maxLength: 2048 }),
        fc.constantFrom(undefined, 'hl7v2', 'fhir'),
        (bytes, format) => holds(mapSafely(bytes, format as 'hl7v2' | 'fhir' | undefined)),
      ),
      { numRuns: 400 },
    );
  });

  it('random text that starts like an HL7 message gives the typed outcome', () => {
    fc.assert(
      fc.property(fc.string({ maxLength: 400 }), fc.string({ maxLength: 8 }), (rest, encoding) =>
        holds(mapSafely(`MSH${encoding}${rest}`, 'hl7v2')),
      ),
      { numRuns: 400 },
    );
  });

  it('every truncation of every HL7 v2 corpus message gives the typed outcome', () => {
    fc.assert(
      fc.property(fc.constantFrom(...hl7Corpus), fc.double({ min: 0, max: 1, noNaN: true }), (message, cut) =>
        holds(mapSafely(message.subarray(0, Math.floor(message.length * cut)))),
      ),
      { numRuns: 400 },
    );
  });

  it('field mutations of HL7 v2 corpus messages (values, delimiters, dropped and repeated segments) give the typed outcome', () => {
    fc.assert(
      fc.property(
        fc.constantFrom(...hl7Corpus),
        fc.array(
          fc.record({
            kind: fc.constantFrom('field', 'drop', 'repeat', 'swap'),
            segment: fc.nat(),
            field: fc.nat({ max: 40 }),
            other: fc.nat(),
            text: fieldText,
          }),
          { minLength: 1, maxLength: 6 },
        ),
        (message, mutations) => {
          const segments = message.toString('utf8').split(/\r\n|\n|\r/);
          for (const m of mutations) {
            if (segments.length === 0) break;
            const i = m.segment % segments.length;
            if (m.kind === 'drop') segments.splice(i, 1);
            else if (m.kind === 'repeat') segments.splice(i, 0, segments[i]!);
            else if (m.kind === 'swap') {
              const j = m.other % segments.length;
              [segments[i], segments[j]] = [segments[j]!, segments[i]!];
            } else {
              const fields = segments[i]!.split('|');
              while (fields.length <= m.field) fields.push('');
              fields[m.field] = m.text;
              segments[i] = fields.join('|');
            }
          }
          return holds(mapSafely(segments.join('\r')));
        },
      ),
      { numRuns: 500 },
    );
  });

  it('every truncation of every FHIR and PAS corpus payload gives the typed outcome', () => {
    fc.assert(
      fc.property(
        fc.constantFrom(...fhirCorpus),
        fc.double({ min: 0, max: 1, noNaN: true }),
        (payload, cut) => holds(mapSafely(payload.subarray(0, Math.floor(payload.length * cut)))),
      ),
      { numRuns: 300 },
    );
  });

  it('mutations of FHIR and PAS corpus payloads (values replaced, keys deleted) give the typed outcome', () => {
    fc.assert(
      fc.property(
        fc.constantFrom(...fhirCorpus),
        fc.array(fc.record({ pick: fc.nat(), remove: fc.boolean(), value: fc.jsonValue({ maxDepth: 3 }) }), {
          minLength: 1,
          maxLength: 6,
        }),
        (payload, mutations) => {
          const root = JSON.parse(payload.toString('utf8')) as unknown;
          for (const m of mutations) {
            const holders: Array<{ parent: Record<string, unknown> | unknown[]; key: string | number }> = [];
            const walk = (node: unknown) => {
              if (Array.isArray(node)) {
                node.forEach((child, i) => {
                  holders.push({ parent: node, key: i });
                  walk(child);
                });
              } else if (node && typeof node === 'object') {
                for (const [key, child] of Object.entries(node)) {
                  holders.push({ parent: node as Record<string, unknown>, key });
                  walk(child);
                }
              }
            };
            walk(root);
            if (holders.length === 0) break;
            const { parent, key } = holders[m.pick % holders.length]!;
            if (m.remove && !Array.isArray(parent)) delete parent[key as string];
            else (parent as Record<string | number, unknown>)[key] = m.value;
          }
          return holds(mapSafely(JSON.stringify(root)));
        },
      ),
      { numRuns: 400 },
    );
  });

  it('pathological inputs give the typed outcome: deep nesting, huge fields, thousands of segments', () => {
    const hl7Header = 'MSH|^~\\&|A|B|C|D|2024||ORM^O01|1|P|2.5\r';
    const inputs = [
      `{"resourceType":"ServiceRequest","x":${'['.repeat(200_000)}${']'.repeat(200_000)}}`,
      `{"resourceType":"Bundle","type":"collection","x":${'{"a":'.repeat(50_000)}1${'}'.repeat(50_000)}}`,
      JSON.stringify({
        resourceType: 'ServiceRequest',
        subject: { reference: `Patient/${'A'.repeat(300_000)}` },
      }),
      JSON.stringify({
        resourceType: 'Bundle',
        type: 'collection',
        entry: [{ fullUrl: 'Aa/'.repeat(100_000), resource: { resourceType: 'ServiceRequest' } }],
      }),
      `${hl7Header}PID|1||${'\\'.repeat(300_000)}\r`,
      `${hl7Header}${'ORC|NW|1\rOBR|1|1||1^a^C4\r'.repeat(5_000)}`,
      `MSH|^~\\&|A|B|C|D|${'2'.repeat(300_000)}||ORM^O01|1|P|2.5\r`,
      `${hl7Header}${'x'.repeat(500_000)}`,
    ];
    for (const raw of inputs) expect(holds(mapSafely(raw))).toBe(true);
  });

  it('a request that maps once maps the same way again (deterministic output and keys)', () => {
    for (const message of [...hl7Corpus, ...fhirCorpus]) {
      const first = mapSafely(message);
      const second = mapSafely(message);
      expect(JSON.stringify(second)).toEqual(JSON.stringify(first));
    }
  });
});
