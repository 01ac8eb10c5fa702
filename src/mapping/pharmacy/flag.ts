/**
 * The PA flag a pharmacy system posts when a prescription needs prior authorization, read from the sender's JSON
 * through its mapping file (mappings/pharmacy/<id>.json: where each field is, never how it is read). Pure and
 * deterministic. Every problem names the path in the SENDER's payload (`$.drug_ndc`, `$.insurance[0].bin`), so
 * a 422 tells the pharmacy's integrator exactly what to fix; nothing is guessed: a 10-digit NDC without hyphens
 * (ambiguous), an NPI with a wrong check digit or a diagnosis that is not ICD-10-CM is refused, not repaired.
 * @see NCPDP Telecommunication Standard D.0 for the field meanings (BIN 101-A1, PCN 104-A4, group 301-C1,
 * cardholder 302-C2, days supply 405-D5, refills 415-DF); FDA NDC Directory for the 10 → 11 digit rule.
 */
import type { Problem } from '../../errors/index.ts';
import { isValidNpi } from '../hl7v2/readers.ts';
import type { PharmacyWebhookMapping, Target } from './types.generated.ts';

export type PaFlagEvent = 'pa_flagged';

/** The gateway's PA flag: identifiers and codes only (the rest is fetched from the pharmacy system). */
export interface PaFlag {
  readonly event: PaFlagEvent;
  /** The event type as the sender wrote it (part of the idempotency key). */
  readonly eventType: string;
  /** The sender's timestamp, RFC 3339 UTC: the replay window is checked against it. */
  readonly occurredAt: string;
  readonly prescriptionId: string;
  /** The patient's id in the pharmacy system (a FHIR id: the context is fetched by it). */
  readonly patientId: string;
  /** 11 digits, no hyphens. */
  readonly ndc: string;
  readonly drugName?: string;
  readonly quantity?: number;
  readonly quantityUnit?: string;
  readonly daysSupply?: number;
  readonly refills?: number;
  readonly writtenDate?: string;
  /** ICD-10-CM codes with their dot (M05.70), primary first. */
  readonly diagnosisCodes: readonly string[];
  readonly prescriberNpi: string;
  readonly bin: string;
  readonly pcn?: string;
  readonly group?: string;
  readonly cardholderId?: string;
  readonly personCode?: string;
  readonly urgency: 'standard' | 'expedited';
  readonly contextUrl?: string;
}

export type PaFlagOutcome =
  | { readonly ok: true; readonly flag: PaFlag }
  | { readonly ok: false; readonly problems: readonly Problem[] };

const requiredTargets: readonly Target[] = [
  'eventType',
  'timestamp',
  'prescriptionId',
  'patientId',
  'ndc',
  'diagnosisCodes',
  'prescriberNpi',
  'bin',
];

/** `a.b.0.c` → `$.a.b[0].c`: the location as a JSONPath the sender reads. */
export function locationOf(path: string): string {
  return `$${path
    .split('.')
    .map((part) => (/^[0-9]+$/.test(part) ? `[${part}]` : `.${part}`))
    .join('')}`;
}

function valueAt(payload: unknown, path: string): unknown {
  let node: unknown = payload;
  for (const part of path.split('.')) {
    if (node === null || typeof node !== 'object') return undefined;
    if (Array.isArray(node)) {
      if (!/^[0-9]+$/.test(part)) return undefined;
      node = node[Number(part)];
    } else {
      // Own properties only: a path segment such as `constructor` must not reach Object.prototype.
      if (!Object.hasOwn(node, part)) return undefined;
      node = (node as Record<string, unknown>)[part];
    }
  }
  return node;
}

type Read<T> = { value: T } | { problem: string };

const text =
  (max: number, pattern?: RegExp, what = 'a text') =>
  (raw: unknown): Read<string> => {
    const value = typeof raw === 'number' && Number.isInteger(raw) ? String(raw) : raw;
    if (typeof value !== 'string') return { problem: `must be ${what}` };
    const trimmed = value.trim();
    if (trimmed.length === 0) return { problem: 'must not be empty' };
    if (trimmed.length > max) return { problem: `must be at most ${max} characters` };
    if (pattern && !pattern.test(trimmed)) return { problem: `must be ${what}` };
    return { value: trimmed };
  };

const integer =
  (min: number, max: number) =>
  (raw: unknown): Read<number> => {
    const value = typeof raw === 'string' && /^[0-9]+$/.test(raw.trim()) ? Number(raw.trim()) : raw;
    if (typeof value !== 'number' || !Number.isInteger(value) || value < min || value > max)
      return { problem: `must be a whole number from ${min} to ${max}` };
    return { value };
  };

/** RFC 3339 with an offset, or Unix seconds. Returned as UTC ISO. */
function timestamp(raw: unknown): Read<string> {
  if (typeof raw === 'number' && Number.isInteger(raw) && raw > 1e9 && raw < 1e11)
    return { value: new Date(raw * 1000).toISOString() };
  if (
    typeof raw !== 'string' ||
    !/^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}(\.[0-9]{1,9})?(Z|[+-][0-9]{2}:[0-9]{2})$/.test(
      raw,
    )
  )
    return { problem: 'must be an RFC 3339 date-time with an offset (2026-03-02T14:05:00Z) or Unix seconds' };
  const at = new Date(raw);
  if (Number.isNaN(at.getTime())) return { problem: 'is not a valid date-time' };
  return { value: at.toISOString() };
}

/** NDC as 11 digits. 10-digit NDCs are padded by their hyphenated layout (FDA: 4-4-2, 5-3-2, 5-4-1 → 5-4-2). */
export function normalizeNdc(raw: unknown): Read<string> {
  if (typeof raw !== 'string')
    return { problem: 'must be a text (a number loses the leading zeros an NDC has)' };
  const value = raw.trim();
  if (/^[0-9]{11}$/.test(value)) return { value };
  let m = /^([0-9]{5})-([0-9]{4})-([0-9]{2})$/.exec(value);
  if (m) return { value: `${m[1]}${m[2]}${m[3]}` };
  m = /^([0-9]{4})-([0-9]{4})-([0-9]{2})$/.exec(value);
  if (m) return { value: `0${m[1]}${m[2]}${m[3]}` };
  m = /^([0-9]{5})-([0-9]{3})-([0-9]{2})$/.exec(value);
  if (m) return { value: `${m[1]}0${m[2]}${m[3]}` };
  m = /^([0-9]{5})-([0-9]{4})-([0-9]{1})$/.exec(value);
  if (m) return { value: `${m[1]}${m[2]}0${m[3]}` };
  if (/^[0-9]{10}$/.test(value))
    return { problem: 'a 10-digit NDC without hyphens is ambiguous: send 11 digits or the hyphenated form' };
  return { problem: 'must be an NDC: 11 digits (5-4-2), or 10 digits hyphenated 4-4-2, 5-3-2 or 5-4-1' };
}

/** ICD-10-CM with its dot after the category (M0570 → M05.70). */
export function normalizeIcd10Cm(raw: unknown): Read<string> {
  if (typeof raw !== 'string') return { problem: 'must be an ICD-10-CM code as text' };
  const value = raw.trim().toUpperCase();
  const m = /^([A-TV-Z][0-9][0-9A-Z])\.?([0-9A-Z]{1,4})?$/.exec(value);
  if (!m) return { problem: 'must be an ICD-10-CM code (M05.70)' };
  return { value: m[2] ? `${m[1]}.${m[2]}` : m[1]! };
}

function npi(raw: unknown): Read<string> {
  const read = text(10, /^[0-9]{10}$/, 'a 10-digit NPI')(raw);
  if ('problem' in read) return read;
  return isValidNpi(read.value) ? read : { problem: 'is not a valid NPI (check digit)' };
}

function quantity(raw: unknown): Read<number> {
  const value = typeof raw === 'string' && /^[0-9]+(\.[0-9]+)?$/.test(raw.trim()) ? Number(raw) : raw;
  if (typeof value !== 'number' || !(value > 0) || value > 99_999)
    return { problem: 'must be a number above 0 (at most 99999)' };
  return { value };
}

function urgency(raw: unknown): Read<'standard' | 'expedited'> {
  const value = typeof raw === 'string' ? raw.trim().toLowerCase() : raw;
  if (value === 'standard' || value === 'routine') return { value: 'standard' };
  if (value === 'expedited' || value === 'urgent') return { value: 'expedited' };
  return { problem: 'must be standard, routine, expedited or urgent' };
}

function url(raw: unknown): Read<string> {
  if (typeof raw !== 'string' || !/^https?:\/\/[^\s]+$/.test(raw.trim()) || !URL.canParse(raw.trim()))
    return { problem: 'must be an http(s) URL' };
  return { value: raw.trim() };
}

const readers: Record<Exclude<Target, 'diagnosisCodes'>, (raw: unknown) => Read<unknown>> = {
  eventType: text(64),
  timestamp,
  prescriptionId: text(64, /^[\x21-\x7e]+$/, 'a prescription id (printable, no spaces)'),
  // A FHIR id: the patient's record is fetched by it, so it must never carry a path or a query.
  patientId: text(64, /^[A-Za-z0-9.-]+$/, 'a FHIR id (letters, digits, dots, dashes)'),
  ndc: normalizeNdc,
  drugName: text(200),
  quantity,
  quantityUnit: text(8, /^[A-Za-z]+$/, 'a unit (EA, ML, GM)'),
  daysSupply: integer(1, 999),
  refills: integer(0, 99),
  writtenDate: text(10, /^[0-9]{4}-(0[1-9]|1[0-2])-(0[1-9]|[12][0-9]|3[01])$/, 'a date (YYYY-MM-DD)'),
  prescriberNpi: npi,
  bin: text(6, /^[0-9]{6}$/, 'a 6-digit BIN'),
  pcn: text(10, /^[A-Za-z0-9*-]+$/, 'a PCN (up to 10 letters or digits)'),
  group: text(15),
  cardholderId: text(20, /^[\x21-\x7e]+$/, 'a cardholder id (printable, no spaces)'),
  personCode: text(3, /^[0-9]{1,3}$/, 'a person code (1-3 digits)'),
  urgency,
  contextUrl: url,
};

/** Maps a sender's parsed JSON payload to a PA flag through its mapping, or every problem with its path. */
export function mapPaFlag(mapping: PharmacyWebhookMapping, payload: unknown): PaFlagOutcome {
  if (payload === null || typeof payload !== 'object' || Array.isArray(payload))
    return { ok: false, problems: [{ location: '$', message: 'must be a JSON object' }] };
  const problems: Problem[] = [];
  const found: Partial<Record<Target, { value: unknown; path: string }>> = {};
  const firstPath: Partial<Record<Target, string>> = {};
  for (const field of mapping.fields) {
    const paths = Array.isArray(field.from) ? field.from : [field.from];
    firstPath[field.target] ??= paths[0]!;
    if (found[field.target]) continue;
    for (const path of paths) {
      const raw = valueAt(payload, path);
      if (raw === undefined || raw === null) continue;
      found[field.target] = { value: raw, path };
      break;
    }
  }
  const values: Partial<Record<Target, unknown>> = {};
  for (const [target, hit] of Object.entries(found) as [Target, { value: unknown; path: string }][]) {
    if (target === 'diagnosisCodes') {
      if (!Array.isArray(hit.value) || hit.value.length === 0 || hit.value.length > 12) {
        problems.push({
          location: locationOf(hit.path),
          message: 'must be a list of 1 to 12 ICD-10-CM codes',
        });
        continue;
      }
      const codes: string[] = [];
      hit.value.forEach((raw, i) => {
        const read = normalizeIcd10Cm(raw);
        if ('problem' in read)
          problems.push({ location: `${locationOf(hit.path)}[${i}]`, message: read.problem });
        else if (!codes.includes(read.value)) codes.push(read.value);
      });
      values.diagnosisCodes = codes;
      continue;
    }
    const read = readers[target](hit.value);
    if ('problem' in read) problems.push({ location: locationOf(hit.path), message: read.problem });
    else values[target] = read.value;
  }
  for (const target of requiredTargets) {
    if (found[target]) continue;
    const path = firstPath[target];
    problems.push(
      path
        ? { location: locationOf(path), message: 'is required but missing' }
        : { location: '$', message: `the sender's mapping (${mapping.id}) does not say where ${target} is` },
    );
  }
  const eventType = values.eventType as string | undefined;
  const event = eventType === undefined ? undefined : mapping.events[eventType];
  if (eventType !== undefined && event === undefined)
    problems.push({
      location: locationOf(found.eventType!.path),
      message: `is not an event this sender's mapping knows (${Object.keys(mapping.events).join(', ')})`,
    });
  if (problems.length > 0) return { ok: false, problems };
  const v = values as Record<string, unknown>;
  const optional = <K extends keyof PaFlag>(key: K) =>
    v[key] === undefined ? {} : ({ [key]: v[key] } as Pick<PaFlag, K>);
  return {
    ok: true,
    flag: {
      event: event as PaFlagEvent,
      eventType: eventType!,
      occurredAt: v.timestamp as string,
      prescriptionId: v.prescriptionId as string,
      patientId: v.patientId as string,
      ndc: v.ndc as string,
      ...optional('drugName'),
      ...optional('quantity'),
      ...optional('quantityUnit'),
      ...optional('daysSupply'),
      ...optional('refills'),
      ...optional('writtenDate'),
      diagnosisCodes: v.diagnosisCodes as string[],
      prescriberNpi: v.prescriberNpi as string,
      bin: v.bin as string,
      ...optional('pcn'),
      ...optional('group'),
      ...optional('cardholderId'),
      ...optional('personCode'),
      urgency: (v.urgency as PaFlag['urgency'] | undefined) ?? 'standard',
      ...optional('contextUrl'),
    },
  };
}
