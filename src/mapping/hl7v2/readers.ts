/**
 * HL7 v2 datatype readers: small pure functions from one field repetition (components of subcomponents) to a
 * piece of the canonical model. Mapping files name them in `read` (CX, XPN, XAD, CWE, XCN …).
 * @see HL7 v2.5.1 chapter 2A (data types)
 */
import type {
  Address,
  Coding,
  Diagnosis,
  HumanName,
  Identifier,
  Provider,
  Quantity,
} from '../../canonical/index.ts';
import { CodeSystem, localCodeSystem } from '../../canonical/index.ts';
import { formatDate, formatDateTime, parseHl7Timestamp } from '../dates.ts';
import type { Hl7Position, MappingProblem } from '../problems.ts';
import type { CodeTables } from '../tables.ts';
import type { Hl7V2Reader } from '../types.generated.ts';
import type { Hl7Components, Hl7Document, Hl7Segment } from './message.ts';

export interface Hl7ReadContext {
  readonly doc: Hl7Document;
  readonly segment: Hl7Segment;
  readonly position: Hl7Position;
  readonly location: string;
  readonly tables: CodeTables;
  /** Whose local code systems unnamed or local codes belong to (urn:pagw:local:<sender>:<system>). */
  readonly sender: string;
  /** Sender profile: coding-system names → HL7 names or URIs ("" = codes sent with no system). */
  readonly codeSystems: Readonly<Record<string, string>>;
  readonly timeZone?: string;
  report(problem: Omit<MappingProblem, 'location' | 'hl7'> & { position?: Hl7Position }): void;
}

export type Hl7Reader = (value: Hl7Components, ctx: Hl7ReadContext) => unknown;

/** Component c (1-based), subcomponent s, trimmed; '' when absent. */
export function part(value: Hl7Components, c: number, s = 1): string {
  return value[c - 1]?.[s - 1]?.trim() ?? '';
}

/** The components from `from` on, as their own value (CWE alternate code: components 4-6). */
function shift(value: Hl7Components, by: number): Hl7Components {
  return value.slice(by);
}

function compact<T extends object>(value: T): T | undefined {
  const out: Record<string, unknown> = {};
  let any = false;
  for (const [key, v] of Object.entries(value)) {
    if (v === undefined || v === '' || (Array.isArray(v) && v.length === 0)) continue;
    out[key] = v;
    any = true;
  }
  return any ? (out as T) : undefined;
}

const oidPattern = /^[0-2](\.(0|[1-9][0-9]*))+$/;

/** HD (namespace ^ universal id ^ type) → a URI naming the authority, and the name as written. */
function authority(namespace: string, universalId: string, type: string): { system?: string; name?: string } {
  const name = namespace || universalId || undefined;
  if (
    universalId &&
    (type.toUpperCase() === 'ISO' || oidPattern.test(universalId)) &&
    oidPattern.test(universalId)
  ) {
    return { system: `urn:oid:${universalId}`, name };
  }
  if (universalId && /^(URI|URL)$/i.test(type) && /^[a-z][a-z0-9+.-]*:/i.test(universalId)) {
    return { system: universalId, name };
  }
  if (name) return { system: `urn:pagw:authority:${encodeURIComponent(name)}`, name };
  return {};
}

function readTimestamp(value: Hl7Components, ctx: Hl7ReadContext, dateOnly: boolean): string | undefined {
  const text = part(value, 1);
  if (!text) return undefined;
  const parts = parseHl7Timestamp(text);
  if (!parts) {
    ctx.report({
      code: 'PAGW_MAP_INVALID_VALUE',
      severity: 'error',
      message: dateOnly
        ? 'not a valid date (YYYY[MM[DD]])'
        : 'not a valid date/time (YYYY[MM[DD[HHMM[SS]]]][+/-ZZZZ])',
    });
    return undefined;
  }
  return dateOnly ? formatDate(parts) : formatDateTime(parts, ctx.timeZone);
}

/** NPI check digit: Luhn over the 9 digits with the card-issuer prefix 80840. */
export function isValidNpi(npi: string): boolean {
  if (!/^[0-9]{10}$/.test(npi)) return false;
  const digits = `80840${npi}`;
  let sum = 0;
  for (let i = 0; i < digits.length; i++) {
    let d = Number(digits[digits.length - 1 - i]);
    if (i % 2 === 1) {
      d *= 2;
      if (d > 9) d -= 9;
    }
    sum += d;
  }
  return sum % 10 === 0;
}

/** CWE/CE code ^ text ^ system → Coding, the system translated by table 0396 or the sender's profile. */
function coding(value: Hl7Components, ctx: Hl7ReadContext): Coding | undefined {
  const code = part(value, 1);
  if (!code) return undefined;
  const display = part(value, 2);
  const system = codeSystemUri(part(value, 3), ctx);
  return compact({ system, code, display }) as Coding;
}

export function codeSystemUri(
  name: string,
  ctx: Pick<Hl7ReadContext, 'tables' | 'codeSystems' | 'sender'>,
): string {
  let written = name.trim();
  // Own keys only: a coding system written as `toString` must not find Object.prototype's function.
  const profiled = Object.hasOwn(ctx.codeSystems, written) ? ctx.codeSystems[written] : undefined;
  if (profiled !== undefined) {
    if (/^[a-z][a-z0-9+.-]*:/i.test(profiled)) return profiled;
    written = profiled;
  }
  if (written === '') return localCodeSystem(ctx.sender, '');
  const known = ctx.tables.exact('hl7-coding-systems', written);
  if (typeof known === 'string' && known !== 'local') return known;
  // 'L', 99zzz (HL7's locally defined range) and names the table does not know are the sender's own.
  return localCodeSystem(ctx.sender, written);
}

function street(subcomponents: string[] | undefined): string {
  return (subcomponents ?? [])
    .map((s) => s.trim())
    .filter(Boolean)
    .join(' ');
}

function name(value: Hl7Components, offset: number): HumanName | undefined {
  // XPN: family ^ given ^ middle ^ suffix ^ prefix; XCN starts one component later (after the id).
  const given = [part(value, offset + 2), part(value, offset + 3)].filter(Boolean);
  return compact({
    family: part(value, offset + 1),
    given,
    suffix: part(value, offset + 4),
    prefix: part(value, offset + 5),
  });
}

const readers: Record<Hl7V2Reader, Hl7Reader> = {
  ST: (value) => part(value, 1) || undefined,
  /** Formatted text: every component and subcomponent as written, separators included. */
  TX: (value, ctx) =>
    value
      .map((c) => c.join(ctx.doc.separators.subcomponent))
      .join(ctx.doc.separators.component)
      .trim() || undefined,
  NM: (value, ctx) => {
    const text = part(value, 1);
    if (!text) return undefined;
    const n = Number(text);
    if (!/^[+-]?(\d+\.?\d*|\.\d+)$/.test(text) || !Number.isFinite(n)) {
      ctx.report({ code: 'PAGW_MAP_INVALID_VALUE', severity: 'error', message: 'not a number' });
      return undefined;
    }
    return n;
  },
  DT: (value, ctx) => readTimestamp(value, ctx, true),
  DTM: (value, ctx) => readTimestamp(value, ctx, false),
  EI: (value) => part(value, 1) || undefined,
  HD: (value) => authority(part(value, 1), part(value, 2), part(value, 3)).system,
  CX: (value) => {
    const id = part(value, 1);
    if (!id) return undefined;
    const { system, name: assigner } = authority(part(value, 4, 1), part(value, 4, 2), part(value, 4, 3));
    return compact<Identifier>({ value: id, system, type: part(value, 5), assigner });
  },
  XPN: (value) => name(value, 0),
  XAD: (value) =>
    compact<Address>({
      // XAD-1 is SAD: street or mailing address & street name & dwelling number; some senders split it.
      line: [street(value[0]), part(value, 2)].filter(Boolean),
      city: part(value, 3),
      state: part(value, 4),
      postalCode: part(value, 5),
      country: part(value, 6),
    }),
  XON: (value) => part(value, 1) || undefined,
  /** XCN → Provider: the id is the NPI when XCN-9 (authority) or XCN-13 (id type) says NPI and it checks out. */
  XCN: (value, ctx) => {
    const id = part(value, 1);
    const personName = name(value, 1);
    if (!id && !personName) return undefined;
    const authorityName = part(value, 9, 1);
    const authorityId = part(value, 9, 2);
    const typeCode = part(value, 13);
    const saysNpi =
      /^NPI$/i.test(authorityName) || authorityId === '2.16.840.1.113883.4.6' || /^NPI$/i.test(typeCode);
    const provider: Provider = {};
    if (id && saysNpi && isValidNpi(id)) {
      provider.npi = id;
    } else if (id) {
      if (saysNpi) {
        ctx.report({
          code: 'PAGW_MAP_INVALID_VALUE',
          severity: 'warning',
          message: 'the identifier is marked NPI but fails the NPI check digit: kept as an identifier only',
        });
      }
      const { system, name: assigner } = saysNpi
        ? { system: CodeSystem.NPI, name: authorityName || undefined }
        : authority(authorityName, authorityId, part(value, 9, 3));
      provider.identifiers = [
        compact<Identifier>({ value: id, system, type: typeCode || (saysNpi ? 'NPI' : ''), assigner })!,
      ];
    }
    if (personName) provider.name = personName;
    return provider;
  },
  CWE: (value, ctx) => coding(value, ctx),
  'CWE.alternate': (value, ctx) => coding(shift(value, 3), ctx),
  /** CQ: quantity ^ units (CWE in the units' subcomponents). */
  CQ: (value, ctx) => {
    const text = part(value, 1);
    if (!text) return undefined;
    const n = Number(text);
    if (!Number.isFinite(n) || n <= 0) {
      ctx.report({ code: 'PAGW_MAP_INVALID_VALUE', severity: 'error', message: 'not a positive quantity' });
      return undefined;
    }
    return compact<Quantity>({ value: n, unit: part(value, 2, 1) });
  },
  /**
   * A DG1 segment → Diagnosis: DG1-3 code (system from DG1-3.3, else DG1-2, the v2.3 coding method), primary
   * when DG1-15 (diagnosis priority) is 1.
   */
  DG1: (_value, ctx) => {
    const code = ctx.doc.field(ctx.segment, 3)[0];
    if (!code || !part(code, 1)) return undefined;
    const system = part(code, 3) || part(ctx.doc.field(ctx.segment, 2)[0] ?? [], 1);
    const withSystem: Hl7Components = [[part(code, 1)], [part(code, 2)], [system]];
    const diagnosis: Diagnosis = { code: coding(withSystem, ctx)! };
    if (part(ctx.doc.field(ctx.segment, 15)[0] ?? [], 1) === '1') diagnosis.primary = true;
    return diagnosis;
  },
};

export function hl7Reader(name: Hl7V2Reader): Hl7Reader {
  return readers[name];
}
