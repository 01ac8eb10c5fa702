/**
 * Mutations of seed documents, as fast-check arbitraries, for `npm run fuzz`: edits a sender's bad day could
 * make (truncation, a dropped or doubled segment, a value with delimiters or control characters in it, a wrong
 * byte) plus edits that look for slow paths (a token repeated thousands of times). Every arbitrary yields the
 * bytes a transport would hand the parser.
 */
import fc from 'fast-check';

/** How a format splits into segments (for drop/duplicate/swap) and into elements (for value edits). */
export interface TextFormat {
  readonly segment: RegExp;
  readonly segmentJoin: string;
  readonly element: string;
  /** Tokens worth inserting: delimiters, segment starts, escapes, odd characters. */
  readonly tokens: readonly string[];
}

/** Codes that name Object.prototype members: a lookup in a plain object literal finds a function. */
const prototypeNames = ['toString', 'constructor', '__proto__', 'valueOf', 'hasOwnProperty'];

const oddCharacters = [
  '\u0000',
  '\uFEFF',
  '\uFFFD',
  '\uD800',
  '\uDC00',
  '\u2028',
  'é',
  '😀',
  '\x1b',
  '\x7f',
  '\t',
  ' ',
  '',
];

export const hl7Format: TextFormat = {
  segment: /\r\n|\n|\r/,
  segmentJoin: '\r',
  element: '|',
  tokens: [
    '|',
    '^',
    '~',
    '\\',
    '&',
    '\r',
    '\n',
    '\r\n',
    '\x0b',
    '\x1c',
    'MSH|^~\\&|',
    'MSH|',
    'ORC|NW|',
    'OBR|1|',
    'PID|1||',
    'IN1|1|',
    'DG1|1|',
    'NTE|1|',
    'FHS|',
    'BHS|',
    '\\X41\\',
    '\\Xzz\\',
    '\\F\\',
    '\\E\\',
    '\\.br\\',
    '\\H\\',
    '""',
    '20241399',
    '19700101120000+9999',
    '^^^^^^^^',
    'UNICODE UTF-8',
    '8859/1',
    'ISO IR87',
    ...prototypeNames,
    ...oddCharacters,
  ],
};

export const x12Format: TextFormat = {
  segment: /~/,
  segmentJoin: '~',
  element: '*',
  tokens: [
    '*',
    '~',
    ':',
    '^',
    '\n',
    '\r\n',
    '>',
    '|',
    'ISA',
    'ISA*00*',
    'IEA*1*000000001~',
    'GS*HI*',
    'GE*1*1~',
    'ST*278*0001*005010X217~',
    'ST*271*',
    'ST*999*',
    'SE*2*0001~',
    'HL*1**20*1~',
    'HL*',
    'HCR*A1*',
    'HCR*A3*',
    'UM*HS*',
    'AAA*N**42*C~',
    'TA1*',
    'IK3*',
    'EB*1*',
    'TRN*2*',
    'DTP*472*RD8*20260101-20260101~',
    ...prototypeNames,
    ...oddCharacters,
  ],
};

export const jsonFormat: TextFormat = {
  segment: /,/,
  segmentJoin: ',',
  element: ':',
  tokens: [
    '{',
    '}',
    '[',
    ']',
    ',',
    ':',
    '"',
    '\\',
    '\\u0000',
    '\\ud800',
    '\\"',
    'null',
    'true',
    '1e999',
    '-0',
    '1.7976931348623157e309',
    '"resourceType":"Bundle"',
    '"resourceType":"ServiceRequest"',
    '"reference":"#x"',
    '"reference":"Patient/1"',
    '"entry":[',
    '"contained":[',
    ...prototypeNames.map((name) => `"${name}"`),
    ...oddCharacters,
  ],
};

type TextEdit =
  | { op: 'cut'; at: number }
  | { op: 'insert'; at: number; text: string }
  | { op: 'delete'; at: number; length: number }
  | { op: 'drop' | 'duplicate'; a: number }
  | { op: 'swap'; a: number; b: number }
  | { op: 'element'; at: number; text: string }
  | { op: 'repeat'; at: number; text: string; times: number };

function textEdit(format: TextFormat): fc.Arbitrary<TextEdit> {
  const token = fc.constantFrom(...format.tokens);
  const value = fc.oneof(
    fc.string({ maxLength: 16 }),
    fc.string({ maxLength: 16, unit: 'binary' }),
    fc.array(fc.oneof(token, fc.string({ maxLength: 4 })), { maxLength: 6 }).map((a) => a.join('')),
    fc.constantFrom('', ' ', '0', '-1', '99999999999999999999', 'A'.repeat(300)),
  );
  return fc.oneof(
    { weight: 1, arbitrary: fc.record({ op: fc.constant('cut' as const), at: fc.nat() }) },
    {
      weight: 4,
      arbitrary: fc.record({
        op: fc.constant('insert' as const),
        at: fc.nat(),
        text: fc.array(token, { minLength: 1, maxLength: 6 }).map((a) => a.join('')),
      }),
    },
    {
      weight: 2,
      arbitrary: fc.record({
        op: fc.constant('delete' as const),
        at: fc.nat(),
        length: fc.integer({ min: 1, max: 60 }),
      }),
    },
    {
      weight: 2,
      arbitrary: fc.record({ op: fc.constantFrom('drop' as const, 'duplicate' as const), a: fc.nat() }),
    },
    { weight: 1, arbitrary: fc.record({ op: fc.constant('swap' as const), a: fc.nat(), b: fc.nat() }) },
    { weight: 4, arbitrary: fc.record({ op: fc.constant('element' as const), at: fc.nat(), text: value }) },
    {
      weight: 1,
      arbitrary: fc.record({
        op: fc.constant('repeat' as const),
        at: fc.nat(),
        text: fc.oneof(token, fc.string({ minLength: 1, maxLength: 3 })),
        times: fc.integer({ min: 2, max: 5000 }),
      }),
    },
  );
}

function applyTextEdit(text: string, edit: TextEdit, format: TextFormat): string {
  const n = Math.max(text.length, 1);
  switch (edit.op) {
    case 'cut':
      return text.slice(0, edit.at % n);
    case 'insert':
      return text.slice(0, edit.at % n) + edit.text + text.slice(edit.at % n);
    case 'repeat':
      return text.slice(0, edit.at % n) + edit.text.repeat(edit.times) + text.slice(edit.at % n);
    case 'delete':
      return text.slice(0, edit.at % n) + text.slice((edit.at % n) + edit.length);
    case 'drop':
    case 'duplicate':
    case 'swap': {
      const segments = text.split(format.segment);
      const a = edit.a % segments.length;
      if (edit.op === 'drop') segments.splice(a, 1);
      else if (edit.op === 'duplicate') segments.splice(a, 0, segments[a]!);
      else if (edit.op === 'swap') {
        const b = edit.b % segments.length;
        [segments[a], segments[b]] = [segments[b]!, segments[a]!];
      }
      return segments.join(format.segmentJoin);
    }
    case 'element': {
      // Replace the value after the next element separator (up to the following separator or segment end).
      const start = text.indexOf(format.element, edit.at % n);
      if (start < 0) return text;
      let end = start + 1;
      while (end < text.length && text[end] !== format.element && !format.segment.test(text[end]!)) end++;
      return text.slice(0, start + 1) + edit.text + text.slice(end);
    }
  }
}

/** A byte edit after encoding: what a bad link or a wrong code page does (invalid UTF-8, stray high bytes). */
const byteEdit = fc.record({ at: fc.nat(), byte: fc.integer({ min: 0, max: 255 }) });

/** Seeds mutated by 1–6 text edits, then (sometimes) 1–3 byte edits. */
export function mutatedText(seeds: readonly string[], format: TextFormat): fc.Arbitrary<Uint8Array> {
  return fc
    .tuple(
      fc.constantFrom(...seeds),
      fc.array(textEdit(format), { minLength: 1, maxLength: 6 }),
      fc.array(byteEdit, { maxLength: 3 }),
    )
    .map(([seed, edits, bytes]) => {
      let text = seed;
      for (const edit of edits) text = applyTextEdit(text, edit, format);
      const out = Buffer.from(text, 'utf8');
      for (const b of bytes) if (out.length > 0) out[b.at % out.length] = b.byte;
      return out;
    });
}

/** HL7-specific: replace field N of a random segment, the way mapping-fuzz.test.ts does. */
export function mutatedHl7Fields(seeds: readonly string[]): fc.Arbitrary<Uint8Array> {
  const fieldText = fc.oneof(
    fc.string({ maxLength: 40 }),
    fc.array(fc.constantFrom(...hl7Format.tokens), { maxLength: 8 }).map((a) => a.join('')),
    fc.constantFrom(
      'NW',
      'SC',
      'CA',
      '20241399',
      '2024',
      '1234567893',
      'I10',
      'C4',
      'L',
      '99ZZZ',
      'ORM^O01',
      'OML^O21',
    ),
  );
  return fc
    .tuple(
      fc.constantFrom(...seeds),
      fc.array(fc.record({ segment: fc.nat(), field: fc.nat({ max: 40 }), text: fieldText }), {
        minLength: 1,
        maxLength: 6,
      }),
    )
    .map(([seed, edits]) => {
      const segments = seed.split(hl7Format.segment);
      for (const e of edits) {
        const i = e.segment % segments.length;
        const fields = segments[i]!.split('|');
        while (fields.length <= e.field) fields.push('');
        fields[e.field] = e.text;
        segments[i] = fields.join('|');
      }
      return Buffer.from(segments.join('\r'), 'utf8');
    });
}

type JsonEdit =
  | { op: 'replace'; pick: number; value: unknown }
  | { op: 'remove' | 'duplicate'; pick: number }
  | { op: 'string'; pick: number; text: string };

const jsonEdit: fc.Arbitrary<JsonEdit> = fc.oneof(
  {
    weight: 3,
    arbitrary: fc.record({
      op: fc.constant('replace' as const),
      pick: fc.nat(),
      value: fc.oneof(
        fc.jsonValue({ maxDepth: 3 }),
        fc.constantFrom(
          null,
          [],
          {},
          '',
          0,
          -1,
          1e308,
          'Bundle',
          'ServiceRequest',
          'Claim',
          'Patient/1',
          '#contained',
          'urn:uuid:1',
          '2024-13-45',
          { reference: '#x' },
          { resourceType: 'Patient' },
          { coding: [{ system: 'http://www.ama-assn.org/go/cpt', code: '99213' }] },
          Array.from({ length: 300 }, () => ({ resourceType: 'ServiceRequest' })),
        ),
      ),
    }),
  },
  {
    weight: 2,
    arbitrary: fc.record({ op: fc.constantFrom('remove' as const, 'duplicate' as const), pick: fc.nat() }),
  },
  {
    weight: 2,
    arbitrary: fc.record({
      op: fc.constant('string' as const),
      pick: fc.nat(),
      text: fc.oneof(fc.string({ maxLength: 20 }), fc.constantFrom(...oddCharacters)),
    }),
  },
);

function applyJsonEdit(root: unknown, edit: JsonEdit): void {
  const holders: Array<{ parent: Record<string, unknown> | unknown[]; key: string | number }> = [];
  const stack: unknown[] = [root];
  while (stack.length > 0) {
    const node = stack.pop();
    if (Array.isArray(node)) {
      node.forEach((child, i) => {
        holders.push({ parent: node, key: i });
        stack.push(child);
      });
    } else if (node && typeof node === 'object') {
      for (const [key, child] of Object.entries(node)) {
        holders.push({ parent: node as Record<string, unknown>, key });
        stack.push(child);
      }
    }
  }
  if (holders.length === 0) return;
  const { parent, key } = holders[edit.pick % holders.length]!;
  const slot = parent as Record<string | number, unknown>;
  switch (edit.op) {
    case 'replace':
      slot[key] = structuredClone(edit.value);
      break;
    case 'remove':
      if (Array.isArray(parent)) parent.splice(key as number, 1);
      else delete slot[key];
      break;
    case 'duplicate':
      if (Array.isArray(parent)) parent.splice(key as number, 0, structuredClone(parent[key as number]));
      else slot[`${key}`] = structuredClone(slot[key]);
      break;
    case 'string':
      slot[key] = typeof slot[key] === 'string' ? `${slot[key]}${edit.text}` : edit.text;
      break;
  }
}

/** JSON seeds: 1–6 structural edits, serialized, then sometimes text and byte edits on the serialization. */
export function mutatedJson(seeds: readonly string[]): fc.Arbitrary<Uint8Array> {
  const parsed = seeds.map((s) => JSON.parse(s) as unknown);
  return fc
    .tuple(
      fc.nat({ max: parsed.length - 1 }),
      fc.array(jsonEdit, { minLength: 1, maxLength: 6 }),
      fc.array(textEdit(jsonFormat), { maxLength: 2 }),
      fc.array(byteEdit, { maxLength: 2 }),
    )
    .map(([which, edits, texts, bytes]) => {
      const root = structuredClone(parsed[which]);
      for (const edit of edits) applyJsonEdit(root, edit);
      let text = JSON.stringify(root) ?? 'null';
      for (const edit of texts) text = applyTextEdit(text, edit, jsonFormat);
      const out = Buffer.from(text, 'utf8');
      for (const b of bytes) if (out.length > 0) out[b.at % out.length] = b.byte;
      return out;
    });
}
