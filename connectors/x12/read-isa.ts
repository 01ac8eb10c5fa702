/**
 * The ISA interchange header, read element by element: the element separator is the character after "ISA", the
 * next 15 elements end at it, ISA16 is the component separator and the character after it the segment
 * terminator; ISA11 is the repetition separator from 00501 on. Walking the elements rather than taking fixed
 * offsets is what lets a short or long ISA still yield the right delimiters (each fixed width it breaks is a
 * warning). Input that ends inside the ISA is `PAGW_X12_TRUNCATED`, delimiters that cannot be used
 * `PAGW_X12_DELIMITERS`. Its own module: the one part of reading that runs before the delimiters are known.
 *
 * @see ASC X12 Standards for Electronic Data Interchange, Interchange Control Structures (ISA)
 */
import { diagnostic, type X12Diagnostic, type X12Position } from './diagnostics.ts';
import { X12ParseError } from './errors.ts';
import type { Delimiters, IsaHeader, Segment, X12Document } from './x12-document.ts';

/** Fixed widths of ISA01…ISA16. */
const isaWidths = [2, 10, 2, 10, 2, 15, 2, 15, 6, 4, 1, 5, 9, 1, 1, 1] as const;
export const whitespace = new Set([' ', '\t', '\r', '\n', '\f', '\v']);

export function isAlnum(ch: string): boolean {
  return /^[A-Za-z0-9]$/.test(ch);
}

export interface IsaRead {
  segment: Segment;
  isa: IsaHeader;
  delimiters: Delimiters;
  next: number;
}

/**
 * Reads the ISA that starts at `start`. `ordinal` counts the segments read before it; `isas` holds the
 * interchanges' ISAs read so far (to name the interchange a truncated ISA belongs to); warts are pushed to
 * `diagnostics`, positioned with the reader's `position` and `at`.
 */
export function readIsa(
  text: string,
  start: number,
  ordinal: number,
  isas: ReadonlyMap<Segment, IsaRead>,
  diagnostics: X12Diagnostic[],
  position: X12Document['positionOf'],
  at: (offset: number, tag: string, ordinal: number) => X12Position,
): IsaRead {
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
}
