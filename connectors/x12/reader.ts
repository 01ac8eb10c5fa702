/**
 * The lenient X12 reader: bytes in, interchanges → functional groups → transaction sets → segments out, with a
 * positioned diagnostic for every wart it tolerates. It exists because real partners send what node-x12's
 * fixed-offset parser cannot take: a UTF-8 byte-order mark, CRLF and indentation between segments, an ISA one
 * character short, a missing GE/IEA, wrong SE counts, ISA11 equal to ISA16, several interchanges in one file,
 * TA1 segments outside any group. What we generate is checked strictly elsewhere (validator.ts).
 *
 * Delimiters are taken from the ISA by walking its 16 elements (not by fixed offsets), so a short or long ISA
 * still yields the right element, component, repetition and segment separators.
 *
 * @see ASC X12 Standards for Electronic Data Interchange, Interchange Control Structures (ISA/IEA, GS/GE, ST/SE)
 */
import { diagnostic, type X12Diagnostic, type X12Position } from './diagnostics.ts';
import { X12ParseError } from './errors.ts';

export interface Delimiters {
  readonly element: string;
  readonly component: string;
  readonly segment: string;
  /** ISA11 in 00501 and later; absent in 4010 (where ISA11 is the standards id `U`). */
  readonly repetition?: string;
}

export interface Segment {
  readonly tag: string;
  /** elements[0] is XX01. */
  readonly elements: readonly string[];
  /** 1-based ordinal in the document. */
  readonly ordinal: number;
  /** Character offset of the tag in the original text. */
  readonly offset: number;
}

export interface IsaHeader {
  readonly senderQualifier: string;
  readonly senderId: string;
  readonly receiverQualifier: string;
  readonly receiverId: string;
  readonly date: string;
  readonly time: string;
  readonly version: string;
  readonly controlNumber: string;
  readonly ackRequested: string;
  readonly usage: string;
}

export interface TransactionSet {
  readonly header: Segment;
  trailer?: Segment;
  readonly segments: Segment[];
  /** ST01 (270, 271, 278, 999). */
  readonly id: string;
  /** ST02. */
  readonly controlNumber: string;
  /** ST03, else GS08 of the enclosing group. */
  readonly version: string;
  readonly group: FunctionalGroup;
  readonly interchange: Interchange;
}

export interface FunctionalGroup {
  /** Absent when an ST appeared without a GS (reported as an error diagnostic). */
  readonly header?: Segment;
  trailer?: Segment;
  readonly sets: TransactionSet[];
  /** GS01 (HI, HS, HB, FA …). */
  readonly functionalId: string;
  /** GS06. */
  readonly controlNumber: string;
  /** GS08. */
  readonly version: string;
}

export interface Interchange {
  readonly header: Segment;
  readonly isa: IsaHeader;
  trailer?: Segment;
  readonly groups: FunctionalGroup[];
  /** TA1 segments (interchange acknowledgments) between ISA and the first GS. */
  readonly ta1: Segment[];
  readonly delimiters: Delimiters;
}

export interface X12Document {
  readonly interchanges: Interchange[];
  readonly diagnostics: X12Diagnostic[];
  /** The text as read (byte-order mark included), for positions. */
  readonly text: string;
  /** Line/column position of a segment (and element), for diagnostics raised after reading. */
  positionOf(segment: Segment, element?: number, loop?: string, component?: number): X12Position;
}

/** Fixed widths of ISA01…ISA16. */
const isaWidths = [2, 10, 2, 10, 2, 15, 2, 15, 6, 4, 1, 5, 9, 1, 1, 1] as const;
const whitespace = new Set([' ', '\t', '\r', '\n', '\f', '\v']);
const tagPattern = /^[A-Z][A-Z0-9]{1,2}$/;

function isAlnum(ch: string): boolean {
  return /^[A-Za-z0-9]$/.test(ch);
}

/** A UTF-16 or UTF-32 byte-order mark at the start of the bytes, named for the error message. */
function wideByteOrderMark(bytes: Uint8Array): string | undefined {
  const [a, b, c, d] = bytes;
  if (a === 0x00 && b === 0x00 && c === 0xfe && d === 0xff) return 'UTF-32BE (00 00 FE FF)';
  if (a === 0xff && b === 0xfe)
    return c === 0x00 && d === 0x00 ? 'UTF-32LE (FF FE 00 00)' : 'UTF-16LE (FF FE)';
  if (a === 0xfe && b === 0xff) return 'UTF-16BE (FE FF)';
  return undefined;
}

function decode(input: string | Uint8Array): string {
  if (typeof input === 'string') {
    // U+FFFE is a UTF-16 byte-order mark read with the wrong byte order: the text was decoded as the wrong encoding.
    if (input.charCodeAt(0) === 0xfffe) throw encodingError('a byte-swapped byte-order mark (U+FFFE)');
    return input;
  }
  const wide = wideByteOrderMark(input);
  if (wide) throw encodingError(`a ${wide} byte-order mark`);
  // ignoreBOM keeps a byte-order mark in the text, so the reader can report it where it was.
  return new TextDecoder('utf-8', { fatal: false, ignoreBOM: true }).decode(input);
}

function encodingError(what: string): X12ParseError {
  const start: X12Position = { segment: 1, tag: 'ISA', line: 1, column: 1, offset: 0 };
  return new X12ParseError(
    'PAGW_X12_ENCODING',
    `Not readable as X12: the input begins with ${what}; X12 is read as ASCII or UTF-8`,
    [diagnostic('error', 'ENCODING', `The input begins with ${what}`, start)],
  );
}

class LineIndex {
  private starts: number[] | undefined;
  constructor(private readonly text: string) {}
  lineAndColumn(offset: number): { line: number; column: number } {
    if (!this.starts) {
      const starts = [0];
      for (let i = this.text.indexOf('\n'); i !== -1; i = this.text.indexOf('\n', i + 1)) starts.push(i + 1);
      this.starts = starts;
    }
    const starts = this.starts;
    let lo = 0;
    let hi = starts.length - 1;
    while (lo < hi) {
      const mid = (lo + hi + 1) >> 1;
      if (starts[mid]! <= offset) lo = mid;
      else hi = mid - 1;
    }
    // A byte-order mark is not a column: the first visible character of the file is column 1.
    const bom = lo === 0 && this.text.charCodeAt(0) === 0xfeff ? 1 : 0;
    return { line: lo + 1, column: offset - starts[lo]! + 1 - (offset > 0 ? bom : 0) };
  }
}

/**
 * Offset of element `n` (1-based) of a segment: every element before it plus one separator each. The sums are
 * kept per segment, so a segment with thousands of elements and a diagnostic on each stays linear.
 */
function elementOffsets(): (text: string, segment: Segment, element: number) => number {
  const sums = new WeakMap<Segment, number[]>();
  return (text, segment, element) => {
    let before = sums.get(segment);
    if (!before) {
      before = [0];
      for (const value of segment.elements) before.push(before[before.length - 1]! + 1 + value.length);
      sums.set(segment, before);
    }
    const known = Math.min(element - 1, segment.elements.length);
    // Elements past the last one present count one separator each.
    const offset = segment.offset + segment.tag.length + before[known]! + (element - 1 - known);
    return Math.min(offset + 1, text.length);
  };
}

interface IsaRead {
  segment: Segment;
  isa: IsaHeader;
  delimiters: Delimiters;
  next: number;
}

/**
 * Reads X12 text leniently. Throws X12ParseError only when nothing sensible can be read (not X12, unusable
 * delimiters); everything else becomes a diagnostic on the returned document.
 */
export function readX12(input: string | Uint8Array): X12Document {
  const text = decode(input);
  const lines = new LineIndex(text);
  const elementOffset = elementOffsets();
  const diagnostics: X12Diagnostic[] = [];
  const position = (segment: Segment, element?: number, loop?: string, component?: number): X12Position => {
    const offset = element === undefined ? segment.offset : elementOffset(text, segment, element);
    const { line, column } = lines.lineAndColumn(offset);
    return {
      segment: segment.ordinal,
      tag: segment.tag,
      ...(element === undefined ? {} : { element }),
      ...(component === undefined ? {} : { component }),
      ...(loop === undefined ? {} : { loop }),
      line,
      column,
      offset,
    };
  };
  const at = (offset: number, tag: string, ordinal: number): X12Position => {
    const { line, column } = lines.lineAndColumn(offset);
    return { segment: ordinal, tag, line, column, offset };
  };

  let pos = 0;
  if (text.charCodeAt(0) === 0xfeff) {
    pos = 1;
    diagnostics.push(
      diagnostic('info', 'BOM', 'A UTF-8 byte-order mark precedes the ISA; it was skipped', at(0, 'ISA', 1)),
    );
  }
  const skipWhitespace = (from: number): number => {
    let p = from;
    for (let c = text.charCodeAt(p); c === 32 || (c >= 9 && c <= 13); c = text.charCodeAt(++p));
    return p;
  };
  pos = skipWhitespace(pos);
  if (!text.startsWith('ISA', pos)) {
    throw new X12ParseError(
      'PAGW_X12_NOT_X12',
      'Not X12: the input does not begin with an ISA interchange header',
      [diagnostic('error', 'NOT_X12', 'Expected the first segment to be ISA', at(pos, 'ISA', 1))],
    );
  }

  const segments: Segment[] = [];
  const interchanges: Interchange[] = [];
  let delimiters: Delimiters | undefined;
  let sawInterSegmentWhitespace = false;
  let ordinal = 0;

  const readIsa = (start: number): IsaRead => {
    const tagOrdinal = ordinal + 1;
    const fail = (message: string): never => {
      throw new X12ParseError('PAGW_X12_DELIMITERS', `Unusable ISA header: ${message}`, [
        ...diagnostics,
        diagnostic('error', 'ISA_DELIMITERS', message, at(start, 'ISA', tagOrdinal)),
      ]);
    };
    // The input ends inside this ISA (a cut-off file, or a complete interchange followed by "ISA*00*"):
    // nothing after it can be read, and guessing would hide a transmission fault.
    const truncated = (message: string): never => {
      const which = isas.size + 1;
      throw new X12ParseError(
        'PAGW_X12_TRUNCATED',
        `The input ends inside the ISA header of interchange ${which}: ${message}`,
        [...diagnostics, diagnostic('error', 'ISA_TRUNCATED', message, at(start, 'ISA', tagOrdinal))],
      );
    };
    const element = text[start + 3];
    if (element === undefined) truncated('nothing follows "ISA"');
    if (isAlnum(element!) || whitespace.has(element!)) {
      fail('the character after "ISA" is not a usable element separator');
    }
    const fields: string[] = [];
    let p = start + 4;
    for (let i = 1; i <= 15; i++) {
      const q = text.indexOf(element!, p);
      if (q < 0) truncated(`the input ends after ${i - 1} of the ISA's 16 elements`);
      fields.push(text.slice(p, q));
      p = q + 1;
    }
    const component = text[p];
    const segment = text[p + 1];
    if (component === undefined || segment === undefined)
      truncated('the input ends before ISA16 and its terminator');
    if (isAlnum(component!) || component === element) fail('ISA16 (component separator) is not usable');
    if (isAlnum(segment!) || segment === element || segment === component) {
      fail('the character after ISA16 is not a usable segment terminator');
    }
    fields.push(component!);
    const raw: Segment = { tag: 'ISA', elements: fields, ordinal: tagOrdinal, offset: start };
    // Widths: every ISA element is fixed-width; a short one shifts every offset after it.
    const length = p + 2 - start;
    for (let i = 0; i < 15; i++) {
      if (fields[i]!.length !== isaWidths[i]) {
        diagnostics.push(
          diagnostic(
            'warning',
            'ISA_WIDTH',
            `ISA${String(i + 1).padStart(2, '0')} is ${fields[i]!.length} characters wide; the standard fixes it at ${isaWidths[i]}`,
            position(raw, i + 1),
          ),
        );
      }
    }
    if (length !== 106) {
      diagnostics.push(
        diagnostic(
          'warning',
          'ISA_LENGTH',
          `The ISA is ${length} characters including its terminator; the standard fixes it at 106 (delimiters were read element by element)`,
          position(raw),
        ),
      );
    }
    const version = fields[11]!.trim();
    let repetition: string | undefined;
    if (/^\d{5}$/.test(version) && Number(version) >= 501) {
      const candidate = fields[10]!;
      if (candidate.length !== 1 || isAlnum(candidate) || candidate === element || candidate === segment) {
        diagnostics.push(
          diagnostic(
            'warning',
            'ISA11_UNUSABLE',
            'ISA11 (repetition separator) is not a usable separator; repeated elements are read as single values',
            position(raw, 11),
          ),
        );
      } else {
        repetition = candidate;
        if (candidate === component) {
          diagnostics.push(
            diagnostic(
              'warning',
              'ISA11_EQ_ISA16',
              'ISA11 (repetition separator) equals ISA16 (component separator); repeatable simple elements (EB03, EQ01) are split as repetitions, composites as components',
              position(raw, 11),
            ),
          );
        }
      }
    }
    if (!/^\d{1,9}$/.test(fields[12]!.trim())) {
      diagnostics.push(
        diagnostic(
          'warning',
          'ISA13_FORMAT',
          'ISA13 (interchange control number) is not numeric',
          position(raw, 13),
        ),
      );
    }
    const isa: IsaHeader = {
      senderQualifier: fields[4]!.trim(),
      senderId: fields[5]!.trim(),
      receiverQualifier: fields[6]!.trim(),
      receiverId: fields[7]!.trim(),
      date: fields[8]!.trim(),
      time: fields[9]!.trim(),
      version,
      controlNumber: fields[12]!.trim(),
      ackRequested: fields[13]!.trim(),
      usage: fields[14]!.trim(),
    };
    return {
      segment: raw,
      isa,
      delimiters: { element: element!, component: component!, segment: segment!, repetition },
      next: p + 2,
    };
  };

  const isas = new Map<Segment, IsaRead>();
  /**
   * A byte-order mark (U+FEFF) anywhere but the start of the input or just before an ISA is an encoding fault:
   * inside an element it would change the value (a certification number, a member id) without a visible trace.
   */
  // The next byte-order mark at or after the segment being read: segments only move forward, so the text is
  // searched once in all (a search per segment to the end of the text would be quadratic).
  let mark = -2;
  const refuseByteOrderMark = (from: number, to: number, ordinal: number) => {
    if (mark !== -1 && mark < from) mark = text.indexOf('\uFEFF', from);
    if (mark < 0 || mark >= to) return;
    const tag = text.slice(from, from + 3).replaceAll('\uFEFF', '') || 'ISA';
    throw new X12ParseError(
      'PAGW_X12_ENCODING',
      'A byte-order mark (U+FEFF) inside the interchange: the file was joined or converted with the wrong encoding',
      [
        ...diagnostics,
        diagnostic(
          'error',
          'BOM_INSIDE',
          'Byte-order mark inside the interchange (only one before an ISA is read)',
          at(mark, tag, ordinal),
        ),
      ],
    );
  };
  while (true) {
    const before = pos;
    pos = skipWhitespace(pos);
    if (pos >= text.length) break;
    if (pos > before && segments.length > 0 && delimiters && !whitespace.has(delimiters.segment)) {
      sawInterSegmentWhitespace = true;
    }
    if (text.charCodeAt(pos) === 0xfeff) {
      // Files joined with `cat` keep each one's byte-order mark before its ISA: skip it as at the start.
      // Anywhere else a byte-order mark is an encoding fault (checked below).
      if (text.startsWith('ISA', pos + 1)) {
        diagnostics.push(
          diagnostic(
            'info',
            'BOM',
            'A UTF-8 byte-order mark precedes this ISA; it was skipped',
            at(pos + 1, 'ISA', ordinal + 1),
          ),
        );
        pos++;
      }
    }
    const afterTag = text[pos + 3];
    // "ISA" at the very end is a truncated ISA (readIsa says so), never a segment of its own.
    if (
      text.startsWith('ISA', pos) &&
      (delimiters === undefined || afterTag === undefined || !isAlnum(afterTag))
    ) {
      const read = readIsa(pos);
      refuseByteOrderMark(pos, read.next, ordinal + 1);
      ordinal++;
      delimiters = read.delimiters;
      segments.push(read.segment);
      isas.set(read.segment, read);
      pos = read.next;
      continue;
    }
    const d = delimiters!;
    let end = text.indexOf(d.segment, pos);
    ordinal++;
    if (end < 0) {
      end = text.length;
      diagnostics.push(
        diagnostic(
          'warning',
          'SEGMENT_UNTERMINATED',
          'The last segment has no segment terminator',
          at(pos, text.slice(pos, pos + 3), ordinal),
        ),
      );
    }
    refuseByteOrderMark(pos, end, ordinal);
    let raw = text.slice(pos, end);
    // A '\n' terminator with CRLF line ends leaves a '\r' behind.
    if (raw.endsWith('\r')) raw = raw.slice(0, -1);
    const parts = raw.split(d.element);
    const tag = parts.shift()!;
    const segment: Segment = { tag, elements: parts, ordinal, offset: pos };
    if (!tagPattern.test(tag)) {
      diagnostics.push(
        diagnostic(
          'error',
          'SEGMENT_TAG',
          'Not a segment identifier (2-3 upper-case letters and digits)',
          position(segment),
        ),
      );
    }
    segments.push(segment);
    pos = end + 1;
  }
  if (sawInterSegmentWhitespace) {
    diagnostics.push(
      diagnostic(
        'info',
        'WHITESPACE',
        'Line breaks or indentation between segments were skipped',
        segments[1] ? position(segments[1]) : undefined,
      ),
    );
  }

  // Envelope structure: ISA > (TA1 | GS > ST … SE > GE) > IEA, each mismatch a diagnostic.
  let interchange: Interchange | undefined;
  let group: FunctionalGroup | undefined;
  let set: TransactionSet | undefined;
  const closeSet = (reason: string) => {
    if (!set) return;
    diagnostics.push(
      diagnostic(
        'warning',
        'SE_MISSING',
        `Transaction set has no SE trailer (${reason})`,
        position(set.header),
      ),
    );
    set = undefined;
  };
  const closeGroup = (reason: string) => {
    closeSet(reason);
    if (!group) return;
    if (group.header) {
      diagnostics.push(
        diagnostic(
          'warning',
          'GE_MISSING',
          `Functional group has no GE trailer (${reason})`,
          position(group.header),
        ),
      );
    }
    group = undefined;
  };
  const closeInterchange = (reason: string) => {
    closeGroup(reason);
    if (!interchange) return;
    diagnostics.push(
      diagnostic(
        'warning',
        'IEA_MISSING',
        `Interchange has no IEA trailer (${reason})`,
        position(interchange.header),
      ),
    );
    interchange = undefined;
  };
  const stray = (segment: Segment, what: string) =>
    diagnostics.push(diagnostic('error', 'SEGMENT_OUTSIDE_ENVELOPE', what, position(segment)));
  const el = (segment: Segment, n: number) => segment.elements[n - 1] ?? '';
  const sameNumber = (a: string, b: string) =>
    a.trim() === b.trim() || (/^\d+$/.test(a.trim()) && /^\d+$/.test(b.trim()) && Number(a) === Number(b));

  for (const segment of segments) {
    switch (segment.tag) {
      case 'ISA': {
        if (interchange) closeInterchange('another ISA follows');
        const read = isas.get(segment);
        // Every ISA segment is read by readIsa; a gap here is a reader bug, reported as a typed error all the same.
        if (!read) {
          throw new X12ParseError('PAGW_X12_DELIMITERS', 'An ISA segment could not be read as a header', [
            ...diagnostics,
            diagnostic('error', 'ISA_UNREAD', 'ISA not read as an interchange header', position(segment)),
          ]);
        }
        interchange = { header: segment, isa: read.isa, groups: [], ta1: [], delimiters: read.delimiters };
        interchanges.push(interchange);
        break;
      }
      case 'IEA': {
        if (!interchange) {
          stray(segment, 'IEA without an open interchange');
          break;
        }
        closeGroup('IEA follows');
        interchange.trailer = segment;
        const groups = interchange.groups.filter((g) => g.header).length;
        if (!/^\d+$/.test(el(segment, 1)) || Number(el(segment, 1)) !== groups) {
          diagnostics.push(
            diagnostic(
              'warning',
              'IEA_COUNT',
              `IEA01 says ${el(segment, 1) || 'nothing'} functional groups; the interchange has ${groups}`,
              position(segment, 1),
            ),
          );
        }
        if (!sameNumber(el(segment, 2), interchange.isa.controlNumber)) {
          diagnostics.push(
            diagnostic(
              'warning',
              'IEA_CONTROL',
              'IEA02 does not match ISA13 (interchange control number)',
              position(segment, 2),
            ),
          );
        }
        interchange = undefined;
        break;
      }
      case 'TA1':
        if (!interchange) stray(segment, 'TA1 outside an interchange');
        else {
          if (group) stray(segment, 'TA1 inside a functional group');
          interchange.ta1.push(segment);
        }
        break;
      case 'GS':
        if (!interchange) {
          stray(segment, 'GS outside an interchange');
          break;
        }
        if (group) closeGroup('another GS follows');
        group = {
          header: segment,
          sets: [],
          functionalId: el(segment, 1),
          controlNumber: el(segment, 6),
          version: el(segment, 8),
        };
        interchange.groups.push(group);
        break;
      case 'GE': {
        if (!group?.header) {
          stray(segment, 'GE without an open functional group');
          break;
        }
        closeSet('GE follows');
        group.trailer = segment;
        if (!/^\d+$/.test(el(segment, 1)) || Number(el(segment, 1)) !== group.sets.length) {
          diagnostics.push(
            diagnostic(
              'warning',
              'GE_COUNT',
              `GE01 says ${el(segment, 1) || 'nothing'} transaction sets; the group has ${group.sets.length}`,
              position(segment, 1),
            ),
          );
        }
        if (!sameNumber(el(segment, 2), group.controlNumber)) {
          diagnostics.push(
            diagnostic(
              'warning',
              'GE_CONTROL',
              'GE02 does not match GS06 (group control number)',
              position(segment, 2),
            ),
          );
        }
        group = undefined;
        break;
      }
      case 'ST': {
        if (!interchange) {
          stray(segment, 'ST outside an interchange');
          break;
        }
        if (!group) {
          stray(segment, 'ST without a GS functional group header');
          group = { sets: [], functionalId: '', controlNumber: '', version: '' };
          interchange.groups.push(group);
        }
        if (set) closeSet('another ST follows');
        set = {
          header: segment,
          segments: [],
          id: el(segment, 1),
          controlNumber: el(segment, 2),
          version: el(segment, 3) || group.version,
          group,
          interchange,
        };
        group.sets.push(set);
        break;
      }
      case 'SE': {
        if (!set) {
          stray(segment, 'SE without an open transaction set');
          break;
        }
        set.trailer = segment;
        const count = set.segments.length + 2;
        if (!/^\d+$/.test(el(segment, 1)) || Number(el(segment, 1)) !== count) {
          diagnostics.push(
            diagnostic(
              'warning',
              'SE_COUNT',
              `SE01 says ${el(segment, 1) || 'nothing'} segments; the set has ${count} (ST through SE)`,
              position(segment, 1),
            ),
          );
        }
        if (el(segment, 2) !== set.controlNumber) {
          diagnostics.push(
            diagnostic(
              'warning',
              'SE_CONTROL',
              'SE02 does not match ST02 (transaction set control number)',
              position(segment, 2),
            ),
          );
        }
        set = undefined;
        break;
      }
      default:
        if (set) set.segments.push(segment);
        else stray(segment, `${segment.tag} outside a transaction set`);
    }
  }
  closeInterchange('end of input');

  return { interchanges, diagnostics, text, positionOf: position };
}

/** Position of a segment within its transaction set, ST being 1 (what 999 IK302 reports). */
export function positionInSet(set: TransactionSet, segment: Segment): number {
  if (segment === set.header) return 1;
  if (segment === set.trailer) return set.segments.length + 2;
  return set.segments.indexOf(segment) + 2;
}

/** Every transaction set of the document, in order. */
export function transactionSets(doc: X12Document): TransactionSet[] {
  return doc.interchanges.flatMap((i) => i.groups.flatMap((g) => g.sets));
}
