/**
 * Bytes to text for the reader (reader.ts): UTF-8 decoded with a byte-order mark kept (so the reader can report
 * it where it was); a UTF-16 or UTF-32 byte-order mark, or text decoded with the wrong byte order, is refused as
 * `PAGW_X12_ENCODING`, because X12 is read as ASCII or UTF-8. Its own module: the encoding is settled before any
 * segment is read.
 */
import { diagnostic, type X12Position } from './diagnostics.ts';
import { X12ParseError } from './errors.ts';

/** A UTF-16 or UTF-32 byte-order mark at the start of the bytes, named for the error message. */
function wideByteOrderMark(bytes: Uint8Array): string | undefined {
  const [a, b, c, d] = bytes;
  if (a === 0x00 && b === 0x00 && c === 0xfe && d === 0xff) return 'UTF-32BE (00 00 FE FF)';
  if (a === 0xff && b === 0xfe)
    return c === 0x00 && d === 0x00 ? 'UTF-32LE (FF FE 00 00)' : 'UTF-16LE (FF FE)';
  if (a === 0xfe && b === 0xff) return 'UTF-16BE (FE FF)';
  return undefined;
}

export function decode(input: string | Uint8Array): string {
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
