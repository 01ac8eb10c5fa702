/**
 * What may reach a text or jsonb column. PostgreSQL refuses U+0000 in both (SQLSTATE 22021, 22P05) and
 * unpaired UTF-16 surrogates in jsonb (22P02); a transaction that tries fails as a whole, and a transport
 * that answers "send it again" then loops forever on the same bytes.
 *
 * The mapper refuses message CONTENT holding them (PAGW_MAP_FORBIDDEN_CHARACTER). This module covers the
 * rest: transport metadata (a Kafka key or header, an MLLP peer label) and identifiers read from a message
 * before it was refused (MSH-10 with a \X00\ escape) are written with those characters as visible `\uXXXX`
 * escapes — nothing is dropped, nothing breaks the insert. And it recognises the database's own refusal of
 * a value (class 22, data exception), which no retry can cure.
 */
import type { MappingProblem } from '../mapping/index.ts';
import { forbiddenCharacterIn } from '../mapping/raw-text.ts';

/** U+0000 and unpaired surrogates as `\uXXXX` text; any other text unchanged. */
export function storableText(text: string): string;
export function storableText(text: string | undefined): string | undefined;
export function storableText(text: string | undefined): string | undefined {
  if (text === undefined) return undefined;
  // Fast path: nearly all text has neither.
  if (!forbiddenCharacterIn(text)) return text;
  let out = '';
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    const paired =
      c >= 0xd800 && c <= 0xdbff && text.charCodeAt(i + 1) >= 0xdc00 && text.charCodeAt(i + 1) <= 0xdfff;
    if (paired) {
      out += text.slice(i, i + 2);
      i++;
    } else if (c === 0 || (c >= 0xd800 && c <= 0xdfff)) {
      out += `\\u${c.toString(16).padStart(4, '0')}`;
    } else {
      out += text[i];
    }
  }
  return out;
}

export function storableProblems(problems: readonly MappingProblem[]): MappingProblem[] {
  return problems.map((p) => ({
    ...p,
    location: storableText(p.location),
    message: storableText(p.message),
  }));
}

/**
 * True for the database refusing a VALUE (SQLSTATE class 22, data exception: a character it cannot store,
 * a number out of range …): the same message would fail the same way every time.
 */
export function isDataException(error: unknown): boolean {
  const code = (error as { code?: unknown } | null)?.code;
  return typeof code === 'string' && /^22[0-9A-Z]{3}$/.test(code);
}
