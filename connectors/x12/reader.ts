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
 * This file reads the segments (the per-segment loop) and is the entry point; its parts: x12-document.ts (the
 * document's shapes, re-exported here), text-encoding.ts (bytes to text), text-positions.ts (line/column and
 * element positions), read-isa.ts (the ISA header and its delimiters) and read-envelopes.ts (ISA/GS/ST nesting,
 * counts and control numbers).
 *
 * @see ASC X12 Standards for Electronic Data Interchange, Interchange Control Structures (ISA/IEA, GS/GE, ST/SE)
 */
import { diagnostic, type X12Diagnostic, type X12Position } from './diagnostics.ts';
import { X12ParseError } from './errors.ts';
import { readEnvelopes } from './read-envelopes.ts';
import { type IsaRead, isAlnum, readIsa, whitespace } from './read-isa.ts';
import { decode } from './text-encoding.ts';
import { elementOffsets, LineIndex } from './text-positions.ts';
import type { Delimiters, Segment, TransactionSet, X12Document } from './x12-document.ts';

export type {
  Delimiters,
  FunctionalGroup,
  Interchange,
  IsaHeader,
  Segment,
  TransactionSet,
  X12Document,
} from './x12-document.ts';

const tagPattern = /^[A-Z][A-Z0-9]{1,2}$/;

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
  let delimiters: Delimiters | undefined;
  let sawInterSegmentWhitespace = false;
  let ordinal = 0;

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
      const read = readIsa(text, pos, ordinal, isas, diagnostics, position, at);
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

  const interchanges = readEnvelopes(segments, isas, diagnostics, position);

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
