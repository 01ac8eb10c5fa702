/**
 * Ceilings on one inbound message (config `inbound`): how many order groups it may hold — each becomes a case
 * in the one transaction that records the message — and how long and how repeated one HL7 v2 field may be.
 * Checked before the expensive part of mapping, so a message of 5,000 order groups is refused in
 * milliseconds, naming the limit and the value found (PAGW_MAP_LIMIT_EXCEEDED). Pure.
 */
import type { Hl7Document } from './hl7v2/message.ts';
import { hl7Problem, type MappingProblem, problem } from './problems.ts';

export interface MessageLimits {
  /** Most order groups (HL7 v2 order items; FHIR order resources) per message. */
  readonly maxOrderGroups: number;
  /** Longest HL7 v2 field, all repetitions together, in characters. */
  readonly maxFieldLength: number;
  /** Most repetitions of one HL7 v2 field. */
  readonly maxFieldRepetitions: number;
}

/** The defaults of schemas/config.json `inbound`, for callers without a config (CLI, tests). */
export const defaultMessageLimits: MessageLimits = {
  maxOrderGroups: 100,
  maxFieldLength: 65_536,
  maxFieldRepetitions: 100,
};

/** Problems reported per message at most: one is enough to act on, a few show the pattern. */
const maxReported = 10;

export function tooManyOrderGroups(
  found: number,
  limit: number,
  where: { format: 'hl7v2'; items: readonly string[] } | { format: 'fhir'; types: readonly string[] },
): MappingProblem {
  const what =
    where.format === 'hl7v2'
      ? `${found} order groups (${where.items.join('/')} segments)`
      : `${found} order resources (${where.types.join('/')})`;
  const message = `${what} in one message: the limit is ${limit} (inbound.maxOrderGroups); send them in several messages`;
  return where.format === 'hl7v2'
    ? hl7Problem('PAGW_MAP_LIMIT_EXCEEDED', { segment: where.items[0] ?? 'OBR' }, message)
    : problem('PAGW_MAP_LIMIT_EXCEEDED', 'Bundle.entry', message);
}

/** Fields over the length or repetition limit, in one pass over the raw segments (at most 10 reported). */
export function fieldLimitProblems(doc: Hl7Document, limits: MessageLimits): MappingProblem[] {
  const problems: MappingProblem[] = [];
  const { field: fieldSep, repetition } = doc.separators;
  for (const segment of doc.segments) {
    // Cheap test first: most segments are far below the limit.
    if (segment.raw.length <= limits.maxFieldLength && !segment.raw.includes(repetition)) continue;
    const fields = segment.raw.split(fieldSep);
    for (let i = 1; i < fields.length; i++) {
      const text = fields[i]!;
      const n = segment.id === 'MSH' ? i + 1 : i;
      if (segment.id === 'MSH' && n === 2) continue; // the encoding characters
      const position = { segment: segment.id, sequence: segment.sequence, field: n };
      if (text.length > limits.maxFieldLength) {
        problems.push(
          hl7Problem(
            'PAGW_MAP_LIMIT_EXCEEDED',
            position,
            `the field is ${text.length} characters long: the limit is ${limits.maxFieldLength} (inbound.maxFieldLength)`,
          ),
        );
      } else if (text.includes(repetition)) {
        const repetitions = text.split(repetition).length;
        if (repetitions > limits.maxFieldRepetitions) {
          problems.push(
            hl7Problem(
              'PAGW_MAP_LIMIT_EXCEEDED',
              position,
              `the field has ${repetitions} repetitions: the limit is ${limits.maxFieldRepetitions} (inbound.maxFieldRepetitions)`,
            ),
          );
        }
      }
      if (problems.length >= maxReported) return problems;
    }
  }
  return problems;
}
