/**
 * The check before any parsing: a message holding what no field may carry (a NUL byte; for FHIR also `\u0000`
 * and unpaired surrogate escapes) is refused whole, each place named. Apart from the format mappers because it
 * reads only bytes and must run before either of them.
 */
import { messageKey, sha256 } from './message-facts.ts';
import type { InboundFormat, MapInput, MapOutcome } from './outcome.ts';
import { hl7Problem, MappingError, type MappingProblem, problem } from './problems.ts';
import {
  describeForbidden,
  firstNulByte,
  forbiddenCharacterIn,
  hl7PositionAt,
  scanJson,
} from './raw-text.ts';

const encoder = new TextEncoder();
const latin1 = new TextDecoder('latin1');
/** A `\u` escape of U+0000 or of a surrogate (possibly a false alarm: `\\u0000` is a backslash and text). */
const suspectJsonEscape = /\\u(?:0000|[dD][89a-fA-F])/;

function asBytes(raw: Uint8Array | string): Uint8Array {
  return typeof raw === 'string' ? encoder.encode(raw) : raw;
}

/**
 * Refuses, before any parsing, a message holding what no field may carry (a NUL byte; for FHIR also
 * `\u0000` and unpaired surrogate escapes): such a message could never be recorded as text or jsonb, so it
 * is refused with each place named (segment/field or JSON path, and byte offset) under a key that is a hash
 * of its bytes — nothing read from it reaches the database but the bytes themselves.
 */
export function forbiddenBytes(input: MapInput, format: InboundFormat): MapOutcome | undefined {
  const { raw } = input;
  const bytes = asBytes(raw);
  const problems: MappingProblem[] = [];
  // A string input can hold a lone surrogate that its UTF-8 encoding would hide (as U+FFFD).
  const inText = typeof raw === 'string' ? forbiddenCharacterIn(raw) : undefined;
  if (format === 'hl7v2' || inText?.kind === 'surrogate') {
    const offset =
      inText?.kind === 'surrogate'
        ? encoder.encode((raw as string).slice(0, inText.index)).length
        : firstNulByte(bytes);
    if (offset < 0) return undefined;
    const kind = inText?.kind === 'surrogate' ? 'surrogate' : 'nul';
    const where = `${describeForbidden(kind)} at byte offset ${offset}`;
    problems.push(
      format === 'hl7v2'
        ? hl7Problem(
            'PAGW_MAP_FORBIDDEN_CHARACTER',
            hl7PositionAt(bytes, offset) ?? { segment: 'MSH' },
            `${where}: no HL7 v2 field may carry it; remove it and send the message again`,
          )
        : problem('PAGW_MAP_FORBIDDEN_CHARACTER', '$', `${where}: no FHIR string may carry it`),
    );
  } else {
    // The walk is linear but not free (a few MB take a few hundred ms): only when there is something to find.
    if (firstNulByte(bytes) < 0 && !suspectJsonEscape.test(latin1.decode(bytes))) return undefined;
    for (const found of scanJson(bytes, { limit: 10 })) {
      if (found.kind === 'invalid-utf8') continue;
      problems.push(
        problem(
          'PAGW_MAP_FORBIDDEN_CHARACTER',
          found.path,
          `${describeForbidden(found.kind)} at byte offset ${found.offset}: no FHIR string may carry it`,
        ),
      );
    }
    if (problems.length === 0) return undefined;
  }
  return {
    ok: false,
    message: {
      format,
      key: messageKey([format, 'sha256', sha256(bytes)]),
      sender: input.sender,
      fingerprint: sha256(bytes),
    },
    error: new MappingError(problems),
    warnings: [],
  };
}
