/**
 * Checks on the raw bytes and text of an inbound message that the format parsers do not make, each answered
 * with a position a sender can act on (segment/field or JSON path, and the byte offset):
 * - characters no field may carry: U+0000 (PostgreSQL refuses it in text and jsonb, so such a message could
 *   never be recorded) and unpaired UTF-16 surrogates (jsonb refuses them, text silently turns them into
 *   U+FFFD — a mangled value);
 * - bytes that are not valid UTF-8 (issue #10 items 6 and 8).
 * Pure: no I/O.
 */
import type { Hl7Position } from './problems.ts';

export type ForbiddenKind = 'nul' | 'surrogate';

/** What a forbidden character is, in words for a problem message. */
export function describeForbidden(kind: ForbiddenKind): string {
  return kind === 'nul' ? 'a NUL character (U+0000)' : 'an unpaired UTF-16 surrogate';
}

/** The first U+0000 or unpaired surrogate in `text`, if any (index in UTF-16 code units). */
export function forbiddenCharacterIn(text: string): { index: number; kind: ForbiddenKind } | undefined {
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c === 0) return { index: i, kind: 'nul' };
    if (c >= 0xd800 && c <= 0xdbff) {
      const next = text.charCodeAt(i + 1);
      if (next >= 0xdc00 && next <= 0xdfff) {
        i++;
        continue;
      }
      return { index: i, kind: 'surrogate' };
    }
    if (c >= 0xdc00 && c <= 0xdfff) return { index: i, kind: 'surrogate' };
  }
  return undefined;
}

/** Every string (value or key) in a parsed JSON value that holds a forbidden character, with its path. */
export function findForbiddenStrings(
  value: unknown,
  path = '$',
  found: Array<{ path: string; kind: ForbiddenKind }> = [],
  limit = 20,
): Array<{ path: string; kind: ForbiddenKind }> {
  const stack: Array<[unknown, string]> = [[value, path]];
  while (stack.length > 0 && found.length < limit) {
    const [node, at] = stack.pop()!;
    if (typeof node === 'string') {
      const bad = forbiddenCharacterIn(node);
      if (bad) found.push({ path: at, kind: bad.kind });
    } else if (Array.isArray(node)) {
      for (let i = node.length - 1; i >= 0; i--) stack.push([node[i], `${at}[${i}]`]);
    } else if (node !== null && typeof node === 'object') {
      const entries = Object.entries(node);
      for (let i = entries.length - 1; i >= 0; i--) {
        const [key, child] = entries[i]!;
        const childPath = jsonPathStep(at, key);
        const bad = forbiddenCharacterIn(key);
        if (bad) found.push({ path: childPath, kind: bad.kind });
        stack.push([child, childPath]);
      }
    }
  }
  return found;
}

function jsonPathStep(base: string, key: string): string {
  return /^[A-Za-z_$][A-Za-z0-9_$]*$/.test(key) ? `${base}.${key}` : `${base}[${JSON.stringify(key)}]`;
}

/** Byte offset of the first 0x00 byte, or -1. */
export function firstNulByte(bytes: Uint8Array): number {
  return bytes.indexOf(0);
}

/**
 * Byte offset of the first byte that does not belong to a well-formed UTF-8 sequence (RFC 3629: no
 * overlong forms, no surrogates, nothing above U+10FFFF), or -1 when all of it is valid UTF-8.
 */
export function firstInvalidUtf8(bytes: Uint8Array, from = 0): number {
  let i = from;
  const n = bytes.length;
  while (i < n) {
    const b = bytes[i]!;
    if (b < 0x80) {
      i++;
      continue;
    }
    let need: number;
    let min: number;
    if (b >= 0xc2 && b <= 0xdf) {
      need = 1;
      min = 0x80;
    } else if (b >= 0xe0 && b <= 0xef) {
      need = 2;
      min = 0x800;
    } else if (b >= 0xf0 && b <= 0xf4) {
      need = 3;
      min = 0x10000;
    } else {
      return i;
    }
    let cp = b & (need === 1 ? 0x1f : need === 2 ? 0x0f : 0x07);
    for (let k = 1; k <= need; k++) {
      const c = bytes[i + k];
      if (c === undefined || (c & 0xc0) !== 0x80) return i;
      cp = (cp << 6) | (c & 0x3f);
    }
    if (cp < min || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff)) return i;
    i += need + 1;
  }
  return -1;
}

const CR = 0x0d;
const LF = 0x0a;
const segmentId = /^[A-Z][A-Z0-9]{2}$/;

function ascii(bytes: Uint8Array, start: number, end: number): string {
  let out = '';
  for (let i = start; i < end && i < bytes.length; i++) out += String.fromCharCode(bytes[i]!);
  return out;
}

/** Skips leading whitespace, VT and a UTF-8 BOM at the start of a line. */
function lineBody(bytes: Uint8Array, start: number): number {
  let i = start;
  if (bytes[i] === 0xef && bytes[i + 1] === 0xbb && bytes[i + 2] === 0xbf) i += 3;
  while (i < bytes.length && (bytes[i] === 0x0b || bytes[i] === 0x20 || bytes[i] === 0x09)) i++;
  return i;
}

/** Where the line starting at `start` ends (its CR or LF, or the end of the bytes). */
function lineEnd(bytes: Uint8Array, start: number): number {
  let i = start;
  while (i < bytes.length && bytes[i] !== CR && bytes[i] !== LF) i++;
  return i;
}

/** The start of the line after the one ending at `end` (CR, LF or CRLF). */
function nextLine(bytes: Uint8Array, end: number): number {
  return bytes[end] === CR && bytes[end + 1] === LF ? end + 2 : end + 1;
}

/**
 * Where byte `offset` of an ER7 message lies: segment (and its occurrence), field, repetition and component,
 * counted the way ERR-2 reports them. Reads only delimiters, which are ASCII in every character set HL7 uses
 * with ER7, so it works on undecoded bytes. Undefined when the bytes are not an MSH-led message.
 */
export function hl7PositionAt(bytes: Uint8Array, offset: number): Hl7Position | undefined {
  return hl7PositionsAt(bytes, [offset])[0];
}

/**
 * hl7PositionAt for many offsets in one pass over the bytes (O(bytes + offsets)); the result is aligned
 * with `offsets` (which need not be sorted). A line that does not start with a segment id is read as the rest
 * of the segment before it, as the HL7 reader does.
 */
export function hl7PositionsAt(
  bytes: Uint8Array,
  offsets: readonly number[],
): Array<Hl7Position | undefined> {
  const result: Array<Hl7Position | undefined> = offsets.map(() => undefined);
  const order = offsets.map((offset, index) => ({ offset, index })).sort((a, b) => a.offset - b.offset);
  let w = 0;
  let line = 0;
  let mshBody = -1;
  while (line < bytes.length) {
    const body = lineBody(bytes, line);
    if (ascii(bytes, body, body + 3) === 'MSH') {
      mshBody = body;
      break;
    }
    line = nextLine(bytes, lineEnd(bytes, line));
  }
  if (mshBody < 0) return result;
  while (w < order.length && order[w]!.offset < line) w++; // before the MSH: no position
  const fieldSep = bytes[mshBody + 3];
  const component = bytes[mshBody + 4];
  const repetition = bytes[mshBody + 5];
  const counts = new Map<string, number>();
  let id = 'MSH';
  let sequence = 0;
  let field = 0;
  let rep = 1;
  let comp = 1;
  const here = (): Hl7Position => {
    if (field === 0) return { segment: id, sequence };
    return {
      segment: id,
      sequence,
      field: id === 'MSH' ? field + 1 : field,
      ...(rep > 1 ? { repetition: rep } : {}),
      ...(comp > 1 ? { component: comp } : {}),
    };
  };
  while (line < bytes.length && w < order.length) {
    const end = lineEnd(bytes, line);
    const body = lineBody(bytes, line);
    const candidate = ascii(bytes, body, body + 3);
    const after = body + 3 < end ? bytes[body + 3] : undefined;
    let scanFrom = line;
    if (segmentId.test(candidate) && body + 3 <= end && (after === undefined || after === fieldSep)) {
      sequence = (counts.get(candidate) ?? 0) + 1;
      counts.set(candidate, sequence);
      id = candidate;
      field = 0;
      rep = 1;
      comp = 1;
      scanFrom = body + 3;
      while (w < order.length && order[w]!.offset < scanFrom)
        result[order[w++]!.index] = { segment: id, sequence };
    }
    const stop = Math.min(nextLine(bytes, end), bytes.length);
    for (let i = scanFrom; i < stop && w < order.length; i++) {
      while (w < order.length && order[w]!.offset === i) result[order[w++]!.index] = here();
      const b = bytes[i];
      if (b === fieldSep) {
        field++;
        rep = 1;
        comp = 1;
      } else if (id === 'MSH' && field === 1) {
        // MSH-2 holds the encoding characters themselves.
      } else if (b === repetition) {
        rep++;
        comp = 1;
      } else if (b === component) {
        comp++;
      }
    }
    line = stop;
  }
  return result;
}

interface JsonFrame {
  readonly kind: 'object' | 'array';
  key?: string;
  index: number;
  expectKey: boolean;
}

function pathOf(stack: readonly JsonFrame[]): string {
  let path = '$';
  for (const frame of stack) {
    if (frame.kind === 'array') path += `[${frame.index}]`;
    else if (frame.key !== undefined) path = jsonPathStep(path, frame.key);
  }
  return path;
}

export interface JsonFinding {
  /** JSON path of the value (or key) holding it, `$.entry[3].resource.name[0].family`. */
  readonly path: string;
  /** Byte offset in the body. */
  readonly offset: number;
  readonly kind: ForbiddenKind | 'invalid-utf8';
}

const hex = (b: number | undefined) =>
  b !== undefined && ((b >= 0x30 && b <= 0x39) || (b >= 0x41 && b <= 0x46) || (b >= 0x61 && b <= 0x66));

/**
 * Walks JSON text as bytes, tracking the path of every value, and reports (up to `limit`) the places no
 * field may hold: `\u0000` and unpaired surrogate escapes, raw NUL bytes, and — when `offsets` are given —
 * the paths of those byte offsets (invalid UTF-8 found beforehand). The text before each finding must be
 * JSON; after a syntax error the walk stops.
 */
export function scanJson(
  bytes: Uint8Array,
  options: { invalidUtf8At?: readonly number[]; limit?: number } = {},
): JsonFinding[] {
  const limit = options.limit ?? 20;
  const wanted = [...(options.invalidUtf8At ?? [])].sort((a, b) => a - b);
  const findings: JsonFinding[] = [];
  const stack: JsonFrame[] = [];
  const note = (offset: number, kind: JsonFinding['kind'], keyPath?: string) => {
    if (findings.length < limit) findings.push({ path: keyPath ?? pathOf(stack), offset, kind });
  };
  let i = 0;
  const n = bytes.length;
  while (i < n && findings.length < limit) {
    const b = bytes[i]!;
    const top = stack.at(-1);
    if (b === 0x7b || b === 0x5b) {
      stack.push({ kind: b === 0x7b ? 'object' : 'array', index: 0, expectKey: b === 0x7b });
      i++;
    } else if (b === 0x7d || b === 0x5d) {
      stack.pop();
      i++;
    } else if (b === 0x2c) {
      if (top?.kind === 'array') top.index++;
      else if (top) top.expectKey = true;
      i++;
    } else if (b === 0x3a) {
      if (top) top.expectKey = false;
      i++;
    } else if (b === 0x22) {
      const isKey = top?.kind === 'object' && top.expectKey;
      const start = i;
      i++;
      // In a property name: the object's path, said to be in a name (the name itself is not known yet).
      const keyPath = () =>
        isKey
          ? `${pathOf([...stack.slice(0, -1), { ...top!, key: undefined }])} (a property name)`
          : undefined;
      let pendingHigh = -1;
      while (i < n && bytes[i] !== 0x22) {
        while (wanted.length > 0 && wanted[0]! < i) wanted.shift();
        if (wanted[0] === i) {
          note(i, 'invalid-utf8', keyPath());
          wanted.shift();
        }
        if (bytes[i] === 0x00) note(i, 'nul', keyPath());
        if (bytes[i] === 0x5c) {
          if (
            bytes[i + 1] === 0x75 &&
            hex(bytes[i + 2]) &&
            hex(bytes[i + 3]) &&
            hex(bytes[i + 4]) &&
            hex(bytes[i + 5])
          ) {
            const unit = Number.parseInt(ascii(bytes, i + 2, i + 6), 16);
            if (pendingHigh >= 0 && !(unit >= 0xdc00 && unit <= 0xdfff)) {
              note(pendingHigh, 'surrogate', keyPath());
              pendingHigh = -1;
            }
            if (unit === 0) note(i, 'nul', keyPath());
            else if (unit >= 0xd800 && unit <= 0xdbff) pendingHigh = i;
            else if (unit >= 0xdc00 && unit <= 0xdfff) {
              if (pendingHigh < 0) note(i, 'surrogate', keyPath());
              pendingHigh = -1;
            }
            i += 6;
            continue;
          }
          if (pendingHigh >= 0) {
            note(pendingHigh, 'surrogate', keyPath());
            pendingHigh = -1;
          }
          // The escaped byte can itself be invalid UTF-8 (a backslash before a stray high byte): report it
          // before skipping it, or the refusal would name no place.
          if (wanted[0] === i + 1) {
            note(i + 1, 'invalid-utf8', keyPath());
            wanted.shift();
          }
          i += 2;
          continue;
        }
        if (pendingHigh >= 0) {
          note(pendingHigh, 'surrogate', keyPath());
          pendingHigh = -1;
        }
        i++;
      }
      if (pendingHigh >= 0) note(pendingHigh, 'surrogate', keyPath());
      i++;
      if (isKey && top) {
        let key: string;
        try {
          key = JSON.parse(new TextDecoder('utf-8').decode(bytes.subarray(start, i))) as string;
        } catch {
          key = '…';
        }
        top.key = key;
      }
    } else {
      // Whitespace, numbers, true/false/null (and a raw NUL outside a string, which is not JSON).
      while (wanted.length > 0 && wanted[0]! < i) wanted.shift();
      if (wanted[0] === i) {
        note(i, 'invalid-utf8');
        wanted.shift();
      }
      if (b === 0x00) note(i, 'nul');
      i++;
    }
  }
  for (const offset of wanted) if (findings.length < limit) note(offset, 'invalid-utf8', '$');
  return findings;
}
