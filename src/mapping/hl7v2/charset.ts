/**
 * Reading the bytes of an ER7 message in the character set it declares (MSH-18, HL7 table 0211), and noting
 * every byte that set cannot decode, so the mapper can refuse a field it reads rather than map a mangled
 * value (U+FFFD in a patient's name, sent on to the payer in a 270/278).
 *
 * - A byte-order mark wins; then MSH-18 (its first repetition); UTF-8 when MSH-18 is empty (HL7's default
 *   is ASCII, of which UTF-8 is a superset: senders that write UTF-8 without saying so are common).
 * - `8859/1` is read as windows-1252, as browsers and most engines read ISO-8859-1 (the C1 range holds
 *   € ‚ „ … there); `8859/9` likewise as windows-1254 (the WHATWG Encoding Standard's mapping of both).
 * - Suspect bytes: bytes the set cannot decode (U+FFFD, or a C1 control from a single-byte set), any byte
 *   over 0x7F under ASCII; and, under an ASCII or single-byte declaration, the UTF-8 characters of a message
 *   that is valid UTF-8 throughout (a mislabelled message: decoded as declared, `Ü` would become `Ãœ`).
 * - An unknown MSH-18 is a warning and the bytes are read as UTF-8 (still checked).
 * @see HL7 v2.5.1 section 2.15.9.18 (MSH-18) and table 0211; https://encoding.spec.whatwg.org/
 */
import { hl7Problem, type MappingProblem } from '../problems.ts';
import { firstInvalidUtf8 } from '../raw-text.ts';

type CharsetKind = 'utf-8' | 'ascii' | 'single-byte' | 'multi-byte' | 'utf-16';

interface Charset {
  /** WHATWG encoding label for TextDecoder. */
  readonly label: string;
  readonly kind: CharsetKind;
}

/** HL7 table 0211 → how the bytes are decoded. */
const table0211: Readonly<Record<string, Charset>> = {
  ASCII: { label: 'ascii', kind: 'ascii' },
  'ISO IR6': { label: 'ascii', kind: 'ascii' },
  '8859/1': { label: 'windows-1252', kind: 'single-byte' },
  '8859/2': { label: 'iso-8859-2', kind: 'single-byte' },
  '8859/3': { label: 'iso-8859-3', kind: 'single-byte' },
  '8859/4': { label: 'iso-8859-4', kind: 'single-byte' },
  '8859/5': { label: 'iso-8859-5', kind: 'single-byte' },
  '8859/6': { label: 'iso-8859-6', kind: 'single-byte' },
  '8859/7': { label: 'iso-8859-7', kind: 'single-byte' },
  '8859/8': { label: 'iso-8859-8', kind: 'single-byte' },
  '8859/9': { label: 'windows-1254', kind: 'single-byte' },
  '8859/15': { label: 'iso-8859-15', kind: 'single-byte' },
  'UNICODE UTF-8': { label: 'utf-8', kind: 'utf-8' },
  UNICODE: { label: 'utf-16le', kind: 'utf-16' },
  'UNICODE UTF-16': { label: 'utf-16le', kind: 'utf-16' },
  'ISO IR14': { label: 'iso-2022-jp', kind: 'multi-byte' },
  'ISO IR87': { label: 'iso-2022-jp', kind: 'multi-byte' },
  'ISO IR159': { label: 'iso-2022-jp', kind: 'multi-byte' },
  'GB 18030-2000': { label: 'gb18030', kind: 'multi-byte' },
  'KS X 1001': { label: 'euc-kr', kind: 'multi-byte' },
  'BIG-5': { label: 'big5', kind: 'multi-byte' },
};

const utf8: Charset = { label: 'utf-8', kind: 'utf-8' };

export type SuspectKind = 'undecodable' | 'utf8-under-single-byte';

export interface Hl7Reading {
  readonly text: string;
  /** What the bytes were read as, for problem messages: `8859/1 (MSH-18)`, `UTF-8 (MSH-18 is empty)`. */
  readonly described: string;
  /** The MSH-18 value as written ('' when empty). */
  readonly declared: string;
  /** Byte offsets (ascending) of characters the mapper must not read through. Empty for string input. */
  readonly suspects: ReadonlyArray<{ readonly offset: number; readonly kind: SuspectKind }>;
}

/** MSH-18, read from the raw first line (delimiters are ASCII in every set ER7 is written in). */
function declaredCharset(input: Uint8Array): string {
  let end = 0;
  const limit = Math.min(input.length, 8192);
  while (end < limit && input[end] !== 0x0d && input[end] !== 0x0a) end++;
  const head = new TextDecoder('latin1').decode(input.subarray(0, end)).replace(/^[\s\v]+/, '');
  if (!head.startsWith('MSH') || head.length <= 3) return '';
  const field = head
    .split(head[3]!)[17]
    ?.split(head[5] ?? '~')[0]
    ?.split(head[4] ?? '^')[0];
  return field?.trim() ?? '';
}

const singleByteTables = new Map<string, boolean[]>();

/** For a single-byte set: which byte values it cannot decode to a character (U+FFFD, C1 controls). */
function undecodableBytes(label: string): boolean[] {
  let table = singleByteTables.get(label);
  if (!table) {
    const decoder = new TextDecoder(label);
    table = Array.from({ length: 256 }, (_, b) => {
      if (b < 0x80) return false;
      const c = decoder.decode(new Uint8Array([b])).charCodeAt(0);
      return c === 0xfffd || (c >= 0x80 && c <= 0x9f);
    });
    singleByteTables.set(label, table);
  }
  return table;
}

/** The offsets of the bytes a multi-byte set cannot decode (each found by bisecting a strict decode). */
function multiByteSuspects(input: Uint8Array, label: string): number[] {
  const found: number[] = [];
  let from = 0;
  while (from < input.length && found.length < 100) {
    try {
      new TextDecoder(label, { fatal: true }).decode(input.subarray(from));
      break;
    } catch {
      let good = from;
      let bad = input.length;
      while (bad - good > 1) {
        const mid = (good + bad) >>> 1;
        try {
          new TextDecoder(label, { fatal: true }).decode(input.subarray(from, mid), { stream: true });
          good = mid;
        } catch {
          bad = mid;
        }
      }
      found.push(bad - 1);
      from = bad;
    }
  }
  return found;
}

/** Start offsets of the multi-byte characters of input that is valid UTF-8. */
function utf8CharacterStarts(input: Uint8Array): number[] {
  const starts: number[] = [];
  for (let i = 0; i < input.length; i++) if (input[i]! >= 0xc0) starts.push(i);
  return starts;
}

function invalidUtf8Offsets(input: Uint8Array, from = 0): number[] {
  const offsets: number[] = [];
  let at = firstInvalidUtf8(input, from);
  while (at >= 0) {
    offsets.push(at);
    at = firstInvalidUtf8(input, at + 1);
  }
  return offsets;
}

/**
 * Decodes an ER7 message (see the file comment). Never throws: undecodable bytes become U+FFFD in `text`
 * and are listed in `suspects` (for the mapper to refuse the fields it reads that hold them).
 */
export function readHl7Bytes(input: Uint8Array, warnings: MappingProblem[]): Hl7Reading {
  if (input[0] === 0xef && input[1] === 0xbb && input[2] === 0xbf) {
    return {
      text: new TextDecoder('utf-8').decode(input.subarray(3)),
      described: 'UTF-8 (byte-order mark)',
      declared: declaredCharset(input.subarray(3)),
      suspects: invalidUtf8Offsets(input, 3).map((offset) => ({ offset, kind: 'undecodable' as const })),
    };
  }
  if ((input[0] === 0xff && input[1] === 0xfe) || (input[0] === 0xfe && input[1] === 0xff)) {
    // ER7 in UTF-16 is rare; its delimiters are not single bytes, so no per-field byte positions.
    const label = input[0] === 0xff ? 'utf-16le' : 'utf-16be';
    return {
      text: new TextDecoder(label).decode(input.subarray(2)),
      described: label,
      declared: '',
      suspects: [],
    };
  }
  const declared = declaredCharset(input);
  let charset = utf8;
  let described = 'UTF-8 (MSH-18 is empty)';
  if (declared) {
    const name = declared.toUpperCase();
    const known = Object.hasOwn(table0211, name) ? table0211[name] : undefined;
    if (known) {
      charset = known;
      described = `${declared} (MSH-18)`;
    } else {
      described = `UTF-8 (MSH-18 '${declared}' is not a character set the gateway knows)`;
      warnings.push(
        hl7Problem(
          'PAGW_MAP_INVALID_VALUE',
          { segment: 'MSH', field: 18 },
          'unknown character set: read as UTF-8',
          'warning',
        ),
      );
    }
  }
  const text = new TextDecoder(charset.label).decode(input);
  let suspects: Array<{ offset: number; kind: SuspectKind }> = [];
  if (charset.kind === 'utf-8') {
    suspects = invalidUtf8Offsets(input).map((offset) => ({ offset, kind: 'undecodable' }));
  } else if (charset.kind === 'ascii' || charset.kind === 'single-byte') {
    const hasHighBytes = input.some((b) => b >= 0x80);
    if (hasHighBytes && firstInvalidUtf8(input) < 0) {
      suspects = utf8CharacterStarts(input).map((offset) => ({ offset, kind: 'utf8-under-single-byte' }));
    } else if (hasHighBytes) {
      const bad = charset.kind === 'ascii' ? undefined : undecodableBytes(charset.label);
      input.forEach((b, offset) => {
        if (b >= 0x80 && (bad === undefined || bad[b])) suspects.push({ offset, kind: 'undecodable' });
      });
    }
  } else if (charset.kind === 'multi-byte') {
    suspects = multiByteSuspects(input, charset.label).map((offset) => ({ offset, kind: 'undecodable' }));
  }
  return { text, described, declared, suspects };
}

/** The problem for a suspect byte in a field the mapping reads. */
export function suspectMessage(
  kind: SuspectKind,
  offset: number,
  byte: number | undefined,
  reading: Pick<Hl7Reading, 'described' | 'declared'>,
): string {
  if (kind === 'utf8-under-single-byte') {
    return `the bytes at byte offset ${offset} form a UTF-8 character, but MSH-18 declares '${reading.declared}': read as declared they would be garbled; declare 'UNICODE UTF-8' in MSH-18, or send ${reading.declared} bytes`;
  }
  const hex = byte === undefined ? '' : ` 0x${byte.toString(16).toUpperCase().padStart(2, '0')}`;
  return `byte${hex} at byte offset ${offset} is not a character in ${reading.described}: declare the character set the message is written in, in MSH-18 (HL7 table 0211, e.g. 8859/1 or UNICODE UTF-8)`;
}
