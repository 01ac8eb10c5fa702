/**
 * Reading an HL7 v2 message as real senders write it, then parsing its fields with the `hl7v2` package.
 *
 * Before the package sees anything, the framing is normalised, each wart noted as a warning:
 * - bytes are decoded by the byte-order mark or MSH-18 (UTF-8 when neither says otherwise; charset.ts), and
 *   the offsets of bytes that set cannot decode are kept, so that a field read from them is refused;
 * - segments may end in CR, LF or CRLF (the standard says CR; most files on disk use LF); blank lines and
 *   MLLP framing bytes are dropped;
 * - a line that does not start with a segment id continues the segment before it (a segment break lost
 *   inside a field, as in node-hl7-complete's orm-example: `(608)258-` LF `8866|…`);
 * - MSH-2 written `^~\\&` (a doubled escape character, a Java-escaping leftover) is read as `^~\&`;
 * - one message per input: batch headers (FHS/BHS/BTS/FTS) are skipped, a second MSH is refused.
 *
 * Delimiters come from MSH-1/MSH-2 (HL7Message.parseRaw). Fields are parsed lazily, one at a time, by the
 * package's field grammar (repetitions, components, subcomponents, escape sequences \F\ \S\ \T\ \R\ \E\
 * \Xhh\) with a syntax-only dictionary: every field is read as text, so no dictionary type can lose data
 * (hl7v2 1.8.0's typed components shift CX/XCN subcomponents by one position).
 * @see HL7 v2.5.1 chapter 2, sections 2.5 (message construction rules) and 2.7 (escape sequences)
 */
import {
  HL7Dictionary,
  type HL7Field,
  HL7Message,
  HL7Segment,
  type HL7Version,
  type Hl7SubComponent,
} from 'hl7v2';
import { type Hl7Position, hl7Problem, MappingError, type MappingProblem } from '../problems.ts';
import { describeForbidden, forbiddenCharacterIn, hl7PositionsAt } from '../raw-text.ts';
import { type Hl7Reading, readHl7Bytes, suspectMessage } from './charset.ts';

/** One repetition of a field: components, each a list of subcomponents (unescaped text, '' when empty). */
export type Hl7Components = string[][];

const syntaxOnly = new HL7Dictionary({
  version: '2.5.1' as HL7Version,
  segments: {},
  // Every field and component is "ST" with (empty) component definitions, i.e. composite: the package then
  // splits every component into subcomponents and decodes nothing (no dates, no numbers).
  types: { ST: { desc: 'text', fields: {} } },
  messages: {},
});
const knownVersions = ['2.1', '2.2', '2.3', '2.3.1', '2.4', '2.5', '2.5.1', '2.6', '2.7', '2.7.1', '2.8'];
const dictionaries = Object.fromEntries(knownVersions.map((v) => [v, syntaxOnly])) as Record<
  string,
  HL7Dictionary
>;

export interface Hl7Segment {
  readonly id: string;
  /** 0-based position in the message. */
  readonly index: number;
  /** 1-based occurrence among segments with the same id (ERR-2.2). */
  readonly sequence: number;
  /** 1-based line of the (rejoined) segment in the input. */
  readonly line: number;
  readonly raw: string;
}

export interface Hl7Separators {
  readonly field: string;
  readonly component: string;
  readonly repetition: string;
  readonly escape: string;
  readonly subcomponent: string;
}

export interface Hl7Document {
  readonly segments: readonly Hl7Segment[];
  readonly separators: Hl7Separators;
  /** MSH-9.1^MSH-9.2 (ORM^O01). */
  readonly messageType: string;
  /** MSH-9 as written, with standard separators. */
  readonly messageTypeRaw: string;
  readonly version: string;
  readonly controlId: string;
  readonly sendingApplication: string;
  readonly sendingFacility: string;
  /** The segments joined with CR: what a duplicate is recognised by when MSH-10 is empty. */
  readonly normalized: string;
  /** `normalized` without MSH-7 (a resend may restamp it): what tells a resend from another message. */
  readonly fingerprintText: string;
  readonly warnings: readonly MappingProblem[];
  /**
   * Fields read so far whose escape sequences decode to something no field may carry (\X00\ → NUL, \M…\ →
   * an unpaired surrogate): errors, added by the mapper to the message's problems.
   */
  readonly decodingProblems: readonly MappingProblem[];
  /** Repetitions of field `n` of a segment (MSH-1 is the field separator itself). Cached. */
  field(segment: Hl7Segment, n: number): readonly Hl7Components[];
  /**
   * Errors for the fields read so far (by `field`) that hold bytes the message's character set cannot
   * decode, or UTF-8 under a single-byte MSH-18: one per field, naming its first such byte offset.
   */
  undecodedFieldsRead(): MappingProblem[];
}

const segmentIdPattern = /^[A-Z][A-Z0-9]{2}$/;
const batchSegments = new Set(['FHS', 'BHS', 'BTS', 'FTS']);

function unreadable(message: string, position: Hl7Position = { segment: 'MSH' }): MappingError {
  return new MappingError([hl7Problem('PAGW_MAP_UNREADABLE', position, message)]);
}

/**
 * Decodes bytes by BOM, else by MSH-18, else as UTF-8 (see charset.ts). Never throws: bad bytes become
 * U+FFFD here; readHl7 keeps where they were, and the mapper refuses any field it reads that holds them.
 */
export function decodeHl7(input: Uint8Array | string, warnings: MappingProblem[]): string {
  return typeof input === 'string' ? input : readHl7Bytes(input, warnings).text;
}

function readSeparators(
  msh: string,
  warnings: MappingProblem[],
): { separators: Hl7Separators; line: string } {
  const field = msh[3];
  if (field === undefined || /[A-Za-z0-9\s]/.test(field)) {
    throw unreadable('MSH-1: no field separator after MSH', { segment: 'MSH', field: 1 });
  }
  let end = msh.indexOf(field, 4);
  if (end < 0) end = msh.length;
  let encoding = msh.slice(4, end);
  let line = msh;
  if (encoding.length === 5 && encoding[2] === '\\' && encoding[3] === '\\') {
    encoding = `${encoding.slice(0, 3)}${encoding.slice(4)}`;
    line = `${msh.slice(0, 4)}${encoding}${msh.slice(end)}`;
    warnings.push(
      hl7Problem(
        'PAGW_MAP_INVALID_VALUE',
        { segment: 'MSH', field: 2 },
        'the encoding characters repeat the escape character (^~\\\\&): read as ^~\\&',
        'warning',
      ),
    );
  }
  const [component = '^', repetition = '~', escapeChar = '\\', subcomponent = '&'] = encoding;
  const all = [field, component, repetition, escapeChar, subcomponent];
  if (encoding.length < 2 || new Set(all).size !== all.length || all.some((c) => /[A-Za-z0-9\s]/.test(c))) {
    throw unreadable('MSH-2: the encoding characters are missing or not distinct', {
      segment: 'MSH',
      field: 2,
    });
  }
  return { separators: { field, component, repetition, escape: escapeChar, subcomponent }, line };
}

/**
 * The package's message object only carries the delimiters and the (syntax-only) dictionary for the field
 * parser; one per delimiter set is reused (parsing is synchronous and never mutates it).
 */
const libraryMessages = new Map<string, HL7Message>();

function libraryMessage(separators: Hl7Separators): HL7Message {
  const key = `${separators.field}${separators.component}${separators.repetition}${separators.escape}${separators.subcomponent}`;
  let message = libraryMessages.get(key);
  if (!message) {
    message = new HL7Message('2.5.1' as HL7Version, dictionaries);
    message.fieldSeparator = separators.field;
    message.componentSeparator = separators.component;
    message.repetitionSeparator = separators.repetition;
    message.escapeCharacter = separators.escape;
    message.subComponentSeparator = separators.subcomponent;
    if (libraryMessages.size < 64) libraryMessages.set(key, message);
  }
  return message;
}

class ParsedHl7 implements Hl7Document {
  readonly segments: Hl7Segment[];
  readonly separators: Hl7Separators;
  readonly messageType: string;
  readonly messageTypeRaw: string;
  readonly version: string;
  readonly controlId: string;
  readonly sendingApplication: string;
  readonly sendingFacility: string;
  readonly normalized: string;
  readonly fingerprintText: string;
  readonly warnings: MappingProblem[];
  readonly decodingProblems: MappingProblem[] = [];
  private readonly library: HL7Message;
  private readonly split = new Map<Hl7Segment, string[]>();
  private readonly cache = new Map<Hl7Segment, Map<number, Hl7Components[]>>();

  constructor(
    segments: Hl7Segment[],
    separators: Hl7Separators,
    warnings: MappingProblem[],
    private readonly source?: { readonly bytes: Uint8Array; readonly reading: Hl7Reading },
  ) {
    this.segments = segments;
    this.separators = separators;
    this.warnings = warnings;
    this.normalized = segments.map((s) => s.raw).join('\r');
    const mshFields = segments[0]!.raw.split(separators.field);
    if (mshFields.length > 6) mshFields[6] = '';
    this.fingerprintText = [mshFields.join(separators.field), ...segments.slice(1).map((s) => s.raw)].join(
      '\r',
    );
    const msh = segments[0]!;
    this.library = libraryMessage(separators);
    const first = (n: number, c = 1) => this.field(msh, n)[0]?.[c - 1]?.[0]?.trim() ?? '';
    // MSH-9 with the standard separators, whatever the message declared (ORM^O01^ORM_O01).
    this.messageTypeRaw = (this.field(msh, 9)[0] ?? []).map((c) => c.join('&')).join('^');
    this.messageType = `${first(9, 1)}^${first(9, 2)}`;
    this.version = first(12);
    this.controlId = first(10);
    this.sendingApplication = first(3);
    this.sendingFacility = first(4);
  }

  private rawFields(segment: Hl7Segment): string[] {
    let fields = this.split.get(segment);
    if (!fields) {
      fields = segment.raw.split(this.separators.field);
      this.split.set(segment, fields);
    }
    return fields;
  }

  /** Field n as written (escape sequences and all), for MSH-9 and diagnostics. */
  fieldText(segment: Hl7Segment, n: number): string {
    const fields = this.rawFields(segment);
    if (segment.id === 'MSH') return n === 1 ? this.separators.field : (fields[n - 1] ?? '');
    return fields[n] ?? '';
  }

  field(segment: Hl7Segment, n: number): Hl7Components[] {
    let bySegment = this.cache.get(segment);
    if (!bySegment) {
      bySegment = new Map();
      this.cache.set(segment, bySegment);
    }
    let value = bySegment.get(n);
    if (value) return value;
    const text = this.fieldText(segment, n);
    if (text === '' || (segment.id === 'MSH' && n <= 2)) {
      value = text === '' ? [] : [[[text]]];
    } else if (this.isPlain(text)) {
      // No delimiter and no escape character: the package would give back the text itself, as one
      // repetition of one component of one subcomponent ('""', HL7's explicit null, reads as empty).
      value = [[[text === '""' ? '' : text]]];
    } else {
      const shell = new HL7Segment(this.library, segment.id);
      const parsed: HL7Field = shell.field(n);
      try {
        parsed.fromHL7String(this.escapeForLibrary(text));
      } catch {
        // hl7v2 1.8.0 throws on some malformed escape sequences: `\M\` or `\M41\` (a multi-byte escape
        // without whole two-byte characters) is a RangeError out of Buffer.readUInt16BE. The field is refused
        // with its position, never guessed at, and never a crash.
        this.decodingProblems.push(
          hl7Problem(
            'PAGW_MAP_UNDECODABLE',
            { segment: segment.id, sequence: segment.sequence, field: n },
            'an escape sequence in this field cannot be decoded (\\M..\\ must hold whole two-byte characters): send the text itself',
          ),
        );
        bySegment.set(n, []);
        return [];
      }
      value = parsed.repetitions.map((repetition) =>
        (repetition.components ?? []).map((component) =>
          (component.subComponents ?? []).map((sub) => subcomponentText(sub)),
        ),
      );
      this.checkDecoded(segment, n, value, text);
    }
    bySegment.set(n, value);
    return value;
  }

  undecodedFieldsRead(): MappingProblem[] {
    const source = this.source;
    if (!source || source.reading.suspects.length === 0) return [];
    const { bytes, reading } = source;
    const positions = hl7PositionsAt(
      bytes,
      reading.suspects.map((s) => s.offset),
    );
    const problems: MappingProblem[] = [];
    const seen = new Set<string>();
    const byPosition = new Map(this.segments.map((s) => [`${s.id}:${s.sequence}`, s]));
    positions.forEach((position, i) => {
      if (position?.field === undefined) return;
      const segment = byPosition.get(`${position.segment}:${position.sequence ?? 1}`);
      if (!segment || !this.cache.get(segment)?.has(position.field)) return;
      const key = `${segment.index}:${position.field}`;
      if (seen.has(key)) return;
      seen.add(key);
      const suspect = reading.suspects[i]!;
      problems.push(
        hl7Problem(
          'PAGW_MAP_UNDECODABLE',
          { segment: position.segment, sequence: position.sequence, field: position.field },
          suspectMessage(suspect.kind, suspect.offset, bytes[suspect.offset], reading),
        ),
      );
    });
    return problems;
  }

  /**
   * Escape sequences can produce what the raw bytes could not carry: a NUL, an unpaired surrogate, or bytes
   * that are not UTF-8 (\XDC\ decodes to U+FFFD: the package reads hex data as UTF-8).
   */
  private checkDecoded(segment: Hl7Segment, n: number, value: Hl7Components[], raw: string): void {
    for (const [r, repetition] of value.entries()) {
      for (const [c, component] of repetition.entries()) {
        for (const text of component) {
          const bad = forbiddenCharacterIn(text);
          if (!bad && text.includes('\uFFFD') && !raw.includes('\uFFFD')) {
            this.decodingProblems.push(
              hl7Problem(
                'PAGW_MAP_UNDECODABLE',
                { segment: segment.id, sequence: segment.sequence, field: n },
                'an escape sequence in this field (\\X..\\) decodes to bytes that are not UTF-8: send the text itself, or its UTF-8 bytes',
              ),
            );
            return;
          }
          if (!bad) continue;
          this.decodingProblems.push(
            hl7Problem(
              'PAGW_MAP_FORBIDDEN_CHARACTER',
              {
                segment: segment.id,
                sequence: segment.sequence,
                field: n,
                ...(value.length > 1 ? { repetition: r + 1 } : {}),
                component: c + 1,
              },
              `an escape sequence in this field decodes to ${describeForbidden(bad.kind)}, which no field may carry`,
            ),
          );
          return;
        }
      }
    }
  }

  private isPlain(text: string): boolean {
    const { component, repetition, escape: escapeChar, subcomponent } = this.separators;
    return (
      !text.includes(component) &&
      !text.includes(repetition) &&
      !text.includes(escapeChar) &&
      !text.includes(subcomponent)
    );
  }

  /** The package only knows the backslash as escape character; translate a declared other one. */
  private escapeForLibrary(text: string): string {
    const declared = this.separators.escape;
    if (declared === '\\' || !text.includes(declared)) return text;
    const e = declared.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
    return text.replace(new RegExp(`${e}([A-Za-z0-9.]+)${e}`, 'g'), '\\$1\\');
  }
}

function subcomponentText(sub: Hl7SubComponent): string {
  const value: unknown = sub.value;
  if (value === undefined || value === null) return '';
  if (typeof value === 'string') return value;
  if (value instanceof Uint8Array) return new TextDecoder('utf-8').decode(value);
  return String(value);
}

/**
 * Splits, repairs and parses one HL7 v2 message. Throws a MappingError (PAGW_MAP_UNREADABLE) when the input
 * is not one HL7 v2 message; every repair made is in `warnings`.
 */
export function readHl7(input: Uint8Array | string): Hl7Document {
  const warnings: MappingProblem[] = [];
  const reading = typeof input === 'string' ? undefined : readHl7Bytes(input, warnings);
  let text = reading ? reading.text : (input as string);
  if (text.charCodeAt(0) === 0xfeff) text = text.slice(1);
  const fs = text.indexOf('\x1c');
  if (fs >= 0) text = text.slice(0, fs);
  const lines = text.split(/\r\n|\n|\r/);
  let start = 0;
  while (start < lines.length) {
    const line = lines[start]!.replace(/^[\s\v]+/, '');
    if (line.startsWith('MSH')) break;
    if (line === '' || batchSegments.has(line.slice(0, 3))) {
      start++;
      continue;
    }
    throw unreadable('not an HL7 v2 message: it does not start with an MSH segment');
  }
  if (start >= lines.length) throw unreadable('not an HL7 v2 message: it has no MSH segment');
  const { separators, line: mshLine } = readSeparators(lines[start]!.replace(/^[\s\v]+/, ''), warnings);

  const segments: Hl7Segment[] = [];
  const counts = new Map<string, number>();
  const mshLines: number[] = [];
  const push = (id: string, raw: string, line: number) => {
    const sequence = (counts.get(id) ?? 0) + 1;
    counts.set(id, sequence);
    segments.push({ id, index: segments.length, sequence, line, raw });
  };
  push('MSH', mshLine, start + 1);
  mshLines.push(start + 1);
  for (let i = start + 1; i < lines.length; i++) {
    const line = lines[i]!;
    if (line.trim() === '') continue;
    const id = line.slice(0, 3);
    const isSegment = segmentIdPattern.test(id) && (line.length === 3 || line[3] === separators.field);
    if (isSegment) {
      if (id === 'MSH') {
        mshLines.push(i + 1);
        continue;
      }
      if (batchSegments.has(id)) continue;
      push(id, line, i + 1);
      continue;
    }
    const previous = segments.at(-1)!;
    segments[segments.length - 1] = { ...previous, raw: previous.raw + line };
    const fieldNumber = previous.raw.split(separators.field).length - (previous.id === 'MSH' ? 0 : 1);
    warnings.push(
      hl7Problem(
        'PAGW_MAP_STRUCTURE',
        { segment: previous.id, sequence: previous.sequence, field: Math.max(fieldNumber, 1) },
        `line ${i + 1} does not start with a segment id: read as the rest of the ${previous.id} segment (a segment break inside a field)`,
        'warning',
      ),
    );
  }
  if (mshLines.length > 1) {
    throw unreadable(
      `the input holds ${mshLines.length} messages (MSH at lines ${mshLines.join(', ')}): send one message per delivery`,
    );
  }
  return new ParsedHl7(
    segments,
    separators,
    warnings,
    reading && typeof input !== 'string' ? { bytes: input, reading } : undefined,
  );
}

/** The whole message through the package's own parser: the bench's baseline ("hl7v2 parse alone"). */
export function parseWithLibraryOnly(text: string): HL7Message {
  return HL7Message.parse(text.replace(/\r\n|\n/g, '\r'));
}
