/**
 * Helpers every transaction reader shares: element, component and repetition access; the HL hierarchy;
 * entity (NM1 and the segments that follow it) reading, with the NM1-shifted-by-one wart repaired; AAA
 * request validations; dates. Pure functions over the reader's segments.
 */
import { CodeSystem } from '../../src/canonical/index.ts';
import type { Period } from '../../src/canonical/types.generated.ts';
import { codeTable, followUpActionCodes, idQualifiers, rejectReasonCodes } from './code-lists.ts';
import { diagnostic, elementRef, type X12Diagnostic } from './diagnostics.ts';
import { X12ParseError } from './errors.ts';
import type { Delimiters, Segment, TransactionSet, X12Document } from './reader.ts';

/** Element n (1-based) of a segment, '' when absent. */
export function el(segment: Segment | undefined, n: number): string {
  return segment?.elements[n - 1] ?? '';
}

/** A transaction set being read: its segments, delimiters, and the diagnostics the reader adds. */
export class SetContext {
  readonly diagnostics: X12Diagnostic[] = [];
  readonly delimiters: Delimiters;
  constructor(
    readonly doc: X12Document,
    readonly set: TransactionSet,
  ) {
    this.delimiters = set.interchange.delimiters;
  }

  components(value: string): string[] {
    return value.split(this.delimiters.component);
  }

  /** Repetitions of a simple element (EB03, EQ01). When ISA11 equals ISA16 this splits on that character too. */
  repetitions(value: string): string[] {
    if (value === '') return [];
    const rep = this.delimiters.repetition;
    return rep ? value.split(rep) : [value];
  }

  add(
    level: X12Diagnostic['level'],
    code: string,
    message: string,
    segment: Segment,
    element?: number,
    loop?: string,
  ) {
    this.diagnostics.push(diagnostic(level, code, message, this.doc.positionOf(segment, element, loop)));
  }

  /** Throws a parse error naming the position; the diagnostics gathered so far travel with it. */
  fail(
    code: 'PAGW_X12_MISSING_SEGMENT' | 'PAGW_X12_INVALID_VALUE' | 'PAGW_X12_ENVELOPE',
    message: string,
    segment: Segment,
    element?: number,
    loop?: string,
  ): never {
    const here = diagnostic(
      'error',
      code.replace('PAGW_X12_', ''),
      message,
      this.doc.positionOf(segment, element, loop),
    );
    throw new X12ParseError(code, `${message} at ${here.location}`, [
      ...this.doc.diagnostics,
      ...this.diagnostics,
      here,
    ]);
  }

  /** An X12 date (CCYYMMDD) as ISO YYYY-MM-DD; a warning and undefined when it is not a real date. */
  date(value: string, segment: Segment, element: number, loop?: string): string | undefined {
    const iso = x12DateToIso(value);
    if (value !== '' && iso === undefined) {
      this.add(
        'warning',
        'BAD_DATE',
        `${elementRef(segment.tag, element)} is not a CCYYMMDD date`,
        segment,
        element,
        loop,
      );
    }
    return iso;
  }

  /** A DTP (qualifier, format D8/RD8, value) as a period. */
  dtpPeriod(dtp: Segment, loop?: string): Period | undefined {
    const format = el(dtp, 2);
    const value = el(dtp, 3);
    if (format === 'D8') {
      const day = this.date(value, dtp, 3, loop);
      return day ? { start: day, end: day } : undefined;
    }
    if (format === 'RD8') {
      const [from = '', to = ''] = value.split('-');
      const start = this.date(from, dtp, 3, loop);
      const end = this.date(to, dtp, 3, loop);
      if (!start && !end) return undefined;
      return { ...(start ? { start } : {}), ...(end ? { end } : {}) };
    }
    this.add('warning', 'DTP_FORMAT', `DTP02 is neither D8 nor RD8`, dtp, 2, loop);
    return undefined;
  }
}

const daysInMonth = [31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31];

export function x12DateToIso(value: string): string | undefined {
  if (value.length !== 8 || !/^\d{8}$/.test(value)) return undefined;
  const year = Number(value.slice(0, 4));
  const month = Number(value.slice(4, 6));
  const day = Number(value.slice(6, 8));
  const leap = (year % 4 === 0 && year % 100 !== 0) || year % 400 === 0;
  const max = month === 2 && leap ? 29 : daysInMonth[month - 1];
  if (max === undefined || day < 1 || day > max) return undefined;
  return `${value.slice(0, 4)}-${value.slice(4, 6)}-${value.slice(6, 8)}`;
}

export function isoDateToX12(value: string): string {
  return value.slice(0, 10).replace(/-/g, '');
}

// ─── HL hierarchy ───────────────────────────────────────────────────────────────────────────────

export interface HlNode {
  readonly hl: Segment;
  readonly id: string;
  readonly parentId: string;
  /** HL03: 20 information source, 21 receiver/requester, 22 subscriber, 23 dependent, EV event, SS service. */
  readonly level: string;
  readonly loop: string;
  /** Segments after the HL up to the next HL. */
  readonly segments: Segment[];
  readonly children: HlNode[];
  parent?: HlNode;
}

export interface HlTree {
  /** Segments before the first HL (BHT). */
  readonly preamble: Segment[];
  readonly nodes: HlNode[];
  readonly roots: HlNode[];
}

/** Builds the HL tree from HL01/HL02, reporting dangling parents and out-of-order ids. */
export function buildHlTree(ctx: SetContext, loopOf: (level: string) => string): HlTree {
  const preamble: Segment[] = [];
  const nodes: HlNode[] = [];
  const byId = new Map<string, HlNode>();
  let current: HlNode | undefined;
  for (const segment of ctx.set.segments) {
    if (segment.tag === 'HL') {
      const level = el(segment, 3);
      current = {
        hl: segment,
        id: el(segment, 1),
        parentId: el(segment, 2),
        level,
        loop: loopOf(level),
        segments: [],
        children: [],
      };
      if (byId.has(current.id))
        ctx.add('warning', 'HL_DUPLICATE', 'HL01 repeats an earlier HL id', segment, 1, current.loop);
      if (String(nodes.length + 1) !== current.id) {
        ctx.add(
          'warning',
          'HL_SEQUENCE',
          `HL01 should be ${nodes.length + 1} (HL ids count up from 1)`,
          segment,
          1,
          current.loop,
        );
      }
      byId.set(current.id, current);
      nodes.push(current);
    } else if (current) current.segments.push(segment);
    else preamble.push(segment);
  }
  const roots: HlNode[] = [];
  for (const node of nodes) {
    if (node.parentId === '') {
      roots.push(node);
      continue;
    }
    const parent = byId.get(node.parentId);
    if (!parent) {
      ctx.add('warning', 'HL_PARENT', 'HL02 names a parent HL that does not exist', node.hl, 2, node.loop);
      roots.push(node);
      continue;
    }
    node.parent = parent;
    parent.children.push(node);
  }
  return { preamble, nodes, roots };
}

// ─── Entities (NM1 + N3/N4/REF/PRV/DMG/INS/PER …) ─────────────────────────────────────────────────

export interface EntityName {
  family?: string;
  given?: string[];
  suffix?: string;
}

export interface Entity {
  readonly loop: string;
  /** NM101 entity identifier code (X3, PR, 1P, FA, IL, QC, 03, SJ …). */
  readonly code: string;
  /** NM102: 1 person, 2 non-person. */
  readonly entityType: string;
  readonly name?: EntityName;
  readonly organizationName?: string;
  readonly idQualifier?: string;
  readonly id?: string;
  readonly address?: { line: string[]; city?: string; state?: string; postalCode?: string; country?: string };
  /** PRV01 provider role and PRV03 taxonomy. */
  readonly providerRole?: string;
  readonly taxonomy?: string;
  readonly birthDate?: string;
  readonly sex?: 'male' | 'female' | 'unknown';
  /** INS01/INS02 (dependent relationship). */
  readonly relationship?: string;
  readonly references: { qualifier: string; value: string }[];
  readonly segment: Segment;
  /** Segments that belong to this entity's loop after the NM1. */
  readonly rest: Segment[];
}

/** Splits an HL level's segments into those before the first NM1 and one group per NM1 (LS…LE kept inside). */
export function splitEntities(segments: readonly Segment[]): {
  head: Segment[];
  groups: { nm1: Segment; rest: Segment[] }[];
} {
  const head: Segment[] = [];
  const groups: { nm1: Segment; rest: Segment[] }[] = [];
  let depth = 0;
  for (const segment of segments) {
    if (segment.tag === 'LS') depth++;
    if (segment.tag === 'LE') depth = Math.max(0, depth - 1);
    if (segment.tag === 'NM1' && depth === 0) groups.push({ nm1: segment, rest: [] });
    else if (groups.length > 0) groups[groups.length - 1]!.rest.push(segment);
    else head.push(segment);
  }
  return { head, groups };
}

const sexCodes: Record<string, 'male' | 'female' | 'unknown'> = codeTable({
  M: 'male',
  F: 'female',
  U: 'unknown',
});

/** Reads an NM1 and its following N3/N4/REF/PRV/DMG/INS, repairing an NM1 whose id sits one element early. */
export function readEntity(ctx: SetContext, nm1: Segment, rest: readonly Segment[], loop: string): Entity {
  let idQualifier = el(nm1, 8);
  let id = el(nm1, 9);
  let shifted = false;
  if (!idQualifiers.has(idQualifier) && idQualifiers.has(el(nm1, 7)) && id === '' && idQualifier !== '') {
    ctx.add(
      'warning',
      'NM1_SHIFTED',
      'NM1 is one element short: the identification code qualifier sits in NM107 and the id in NM108; read as NM108/NM109',
      nm1,
      7,
      loop,
    );
    idQualifier = el(nm1, 7);
    id = el(nm1, 8);
    shifted = true;
  }
  const entityType = el(nm1, 2);
  const family = el(nm1, 3);
  const given = [el(nm1, 4), el(nm1, 5)].filter((v) => v !== '');
  const suffix = shifted ? '' : el(nm1, 7);
  const person = entityType === '1';
  const references: { qualifier: string; value: string }[] = [];
  let address: Entity['address'];
  let providerRole: string | undefined;
  let taxonomy: string | undefined;
  let birthDate: string | undefined;
  let sex: Entity['sex'];
  let relationship: string | undefined;
  let depth = 0;
  for (const segment of rest) {
    if (segment.tag === 'LS') depth++;
    if (segment.tag === 'LE') depth = Math.max(0, depth - 1);
    if (depth > 0) continue;
    switch (segment.tag) {
      case 'N3':
        address = {
          ...(address ?? { line: [] }),
          line: [el(segment, 1), el(segment, 2)].filter((v) => v !== ''),
        };
        break;
      case 'N4':
        address = {
          line: address?.line ?? [],
          ...(el(segment, 1) ? { city: el(segment, 1) } : {}),
          ...(el(segment, 2) ? { state: el(segment, 2) } : {}),
          ...(el(segment, 3) ? { postalCode: el(segment, 3) } : {}),
          ...(el(segment, 4) ? { country: el(segment, 4) } : {}),
        };
        break;
      case 'REF':
        references.push({ qualifier: el(segment, 1), value: el(segment, 2) });
        break;
      case 'PRV':
        providerRole = el(segment, 1) || undefined;
        taxonomy = el(segment, 3) || undefined;
        break;
      case 'DMG':
        if (el(segment, 1) === 'D8') birthDate = ctx.date(el(segment, 2), segment, 2, loop);
        sex = sexCodes[el(segment, 3)];
        break;
      case 'INS':
        relationship = el(segment, 2) || undefined;
        break;
    }
  }
  return {
    loop,
    code: el(nm1, 1),
    entityType,
    ...(person && (family || given.length)
      ? {
          name: {
            ...(family ? { family } : {}),
            ...(given.length ? { given } : {}),
            ...(suffix ? { suffix } : {}),
          },
        }
      : {}),
    ...(!person && family ? { organizationName: family } : {}),
    ...(idQualifier ? { idQualifier } : {}),
    ...(id ? { id } : {}),
    ...(address ? { address } : {}),
    ...(providerRole ? { providerRole } : {}),
    ...(taxonomy ? { taxonomy } : {}),
    ...(birthDate ? { birthDate } : {}),
    ...(sex ? { sex } : {}),
    ...(relationship ? { relationship } : {}),
    references,
    segment: nm1,
    rest: [...rest],
  };
}

// ─── AAA request validation ──────────────────────────────────────────────────────────────────────

export interface RequestRejection {
  /** The loop the AAA sits in (2000A UMO, 2010B requester, 2010C subscriber, 2000E event …). */
  readonly loop: string;
  /** AAA01: Y the request was valid but could not be processed, N it was not valid. */
  readonly validRequest: boolean;
  /** AAA03, element 901. */
  readonly reason: string;
  readonly reasonText?: string;
  /** AAA04, element 889. */
  readonly followUp: string;
  readonly followUpText?: string;
}

export function readAaa(aaa: Segment, loop: string): RequestRejection {
  const reason = el(aaa, 3);
  const followUp = el(aaa, 4);
  const reasonText = rejectReasonCodes[reason];
  const followUpText = followUpActionCodes[followUp];
  return {
    loop,
    validRequest: el(aaa, 1) === 'Y',
    reason,
    ...(reasonText ? { reasonText } : {}),
    followUp,
    ...(followUpText ? { followUpText } : {}),
  };
}

/** True when the payer says a later resubmission can succeed without changes (AAA03 42, AAA04 R/P/W/X). */
export function isTransientRejection(rejection: RequestRejection): boolean {
  return rejection.reason === '42' || rejection.reason === '80';
}

// ─── Codes ───────────────────────────────────────────────────────────────────────────────────────

/** Canonical code system of a procedure code sent under SV101-1/SV202-1/EQ02-1 qualifier HC, N4 … */
export function procedureSystem(qualifier: string, code: string): string | undefined {
  switch (qualifier) {
    case 'HC':
      // CPT (level I HCPCS) is five digits or four digits and F/T/U; level II HCPCS is a letter and four digits.
      return /^[A-V]\d{4}$/.test(code) ? CodeSystem.HCPCS : CodeSystem.CPT;
    case 'N4':
      return CodeSystem.NDC;
    default:
      return undefined;
  }
}

/** ICD codes travel without their dot in X12; the canonical model writes them with it. */
export function icdWithDot(code: string, system: string): string {
  if (code.includes('.') || code.length <= 3) return code;
  if (system === CodeSystem.ICD9CM && code.startsWith('E'))
    return code.length > 4 ? `${code.slice(0, 4)}.${code.slice(4)}` : code;
  return `${code.slice(0, 3)}.${code.slice(3)}`;
}

/** HI composite qualifiers: ICD-10-CM ABK principal / ABF other / ABJ admitting; ICD-9-CM BK / BF / BJ. */
export const diagnosisQualifiers: Readonly<Record<string, { system: string; principal: boolean }>> =
  codeTable({
    ABK: { system: CodeSystem.ICD10CM, principal: true },
    ABF: { system: CodeSystem.ICD10CM, principal: false },
    ABJ: { system: CodeSystem.ICD10CM, principal: false },
    BK: { system: CodeSystem.ICD9CM, principal: true },
    BF: { system: CodeSystem.ICD9CM, principal: false },
    BJ: { system: CodeSystem.ICD9CM, principal: false },
  });
