/**
 * FHIR R4 datatype readers: small pure functions from a FHIRPath result (a datatype or a resource) to a piece
 * of the canonical model. Mapping files name them in `read`.
 * @see http://hl7.org/fhir/R4/datatypes.html
 */
import type {
  CodeableConcept,
  Address as FhirAddress,
  Coding as FhirCoding,
  HumanName as FhirHumanName,
  Identifier as FhirIdentifier,
  Period as FhirPeriod,
  Quantity as FhirQuantity,
  Resource,
} from '@medplum/fhirtypes';
import type {
  Address,
  Coding,
  Diagnosis,
  DocumentReference,
  HumanName,
  Identifier,
  Period,
  Person,
  Provider,
  Quantity,
  ServiceLine,
} from '../../canonical/index.ts';
import { CodeSystem, localCodeSystem } from '../../canonical/index.ts';
import { fhirDatePart } from '../dates.ts';
import type { MappingProblem } from '../problems.ts';
import type { CodeTables } from '../tables.ts';
import type { FhirReader as FhirReaderName } from '../types.generated.ts';
import { type Located, type PayloadIndex, referenceText } from './payload.ts';

export interface FhirReadContext {
  readonly index: PayloadIndex;
  /** The resource the value was read from (references inside it resolve from here). */
  readonly from: Located;
  readonly location: string;
  readonly tables: CodeTables;
  readonly sender: string;
  report(problem: Omit<MappingProblem, 'location'>): void;
}

export type FhirReader = (value: unknown, ctx: FhirReadContext) => unknown;

type Json = Record<string, unknown>;

function isObject(value: unknown): value is Json {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function text(value: unknown): string | undefined {
  if (typeof value === 'string') return value.trim() || undefined;
  if (typeof value === 'number' || typeof value === 'boolean') return String(value);
  return undefined;
}

function compact<T extends object>(value: T): T | undefined {
  const out: Json = {};
  let any = false;
  for (const [key, v] of Object.entries(value)) {
    if (v === undefined || v === '' || (Array.isArray(v) && v.length === 0)) continue;
    out[key] = v;
    any = true;
  }
  return any ? (out as T) : undefined;
}

const dateTimePattern =
  /^[0-9]{4}(-(0[1-9]|1[0-2])(-(0[1-9]|[12][0-9]|3[01])(T([01][0-9]|2[0-3]):[0-5][0-9](:([0-5][0-9]|60)(\.[0-9]{1,9})?)?(Z|[+-]((0[0-9]|1[0-3]):[0-5][0-9]|14:00)))?)?)?$/;

function dateTime(value: unknown): string | undefined {
  const t = text(value);
  if (!t) return undefined;
  return dateTimePattern.test(t) ? t : fhirDatePart(t);
}

function canonicalSystem(system: string | undefined, ctx: FhirReadContext): string {
  if (!system) return localCodeSystem(ctx.sender, '');
  const alias = ctx.tables.exact('fhir-code-systems', system);
  return typeof alias === 'string' ? alias : system;
}

function coding(
  value: FhirCoding | undefined,
  ctx: FhirReadContext,
  fallbackDisplay?: string,
): Coding | undefined {
  const code = text(value?.code);
  if (!value || !code) return undefined;
  return compact<Coding>({
    system: canonicalSystem(text(value.system), ctx),
    code,
    display: text(value.display) ?? fallbackDisplay,
  });
}

/** The codings of a CodeableConcept, the preferred first (billing systems before clinical ones). */
function rankedCodings(concept: CodeableConcept | undefined, ctx: FhirReadContext): Coding[] {
  if (!concept) return [];
  const fallback = text(concept.text);
  const codings = (concept.coding ?? [])
    .map((c) => coding(c, ctx))
    .filter((c): c is Coding => c !== undefined);
  const rank = (c: Coding) => Number(ctx.tables.lookup('fhir-coding-preference', c.system) ?? 50);
  const sorted = codings
    .map((c, i) => ({ c, i }))
    .sort((a, b) => rank(a.c) - rank(b.c) || a.i - b.i)
    .map(({ c }) => c);
  if (sorted[0] && !sorted[0].display && fallback) sorted[0] = { ...sorted[0], display: fallback };
  return sorted;
}

function identifier(value: unknown): Identifier | undefined {
  if (!isObject(value)) return undefined;
  const id = value as FhirIdentifier;
  const v = text(id.value);
  if (!v) return undefined;
  return compact<Identifier>({
    system: text(id.system),
    value: v,
    type: text(id.type?.coding?.[0]?.code),
    assigner: text(id.assigner?.display) ?? text(id.assigner?.identifier?.value),
  });
}

function humanName(value: unknown): HumanName | undefined {
  if (!isObject(value)) return undefined;
  const name = value as FhirHumanName;
  return compact<HumanName>({
    family: text(name.family),
    given: (name.given ?? []).map(text).filter((g): g is string => g !== undefined),
    prefix: text(name.prefix?.[0]),
    suffix: text(name.suffix?.[0]),
  });
}

/** The name to use: official, else usual, else the first. */
function preferredName(names: unknown): HumanName | undefined {
  if (!Array.isArray(names)) return undefined;
  const list = names as FhirHumanName[];
  const chosen = list.find((n) => n?.use === 'official') ?? list.find((n) => n?.use === 'usual') ?? list[0];
  return humanName(chosen);
}

function address(value: unknown): Address | undefined {
  if (!isObject(value)) return undefined;
  const a = value as FhirAddress;
  return compact<Address>({
    line: (a.line ?? []).map(text).filter((l): l is string => l !== undefined),
    city: text(a.city),
    state: text(a.state),
    postalCode: text(a.postalCode),
    country: text(a.country),
  });
}

function period(value: unknown): Period | undefined {
  if (typeof value === 'string') {
    const d = fhirDatePart(value);
    return d ? { start: d, end: d } : undefined;
  }
  if (!isObject(value)) return undefined;
  const p = value as FhirPeriod;
  return compact<Period>({
    start: p.start ? fhirDatePart(p.start) : undefined,
    end: p.end ? fhirDatePart(p.end) : undefined,
  });
}

function quantity(value: unknown, ctx: FhirReadContext): Quantity | undefined {
  if (!isObject(value)) return undefined;
  const q = value as FhirQuantity;
  if (typeof q.value !== 'number') return undefined;
  if (!(q.value > 0)) {
    ctx.report({ code: 'PAGW_MAP_INVALID_VALUE', severity: 'error', message: 'quantity must be positive' });
    return undefined;
  }
  return compact<Quantity>({ value: q.value, unit: text(q.unit) ?? text(q.code) });
}

function resolveReference(
  value: unknown,
  ctx: FhirReadContext,
  types: readonly string[],
): Located | undefined {
  const ref = referenceText(value);
  if (!ref) return undefined;
  const found = ctx.index.resolve(ref, ctx.from);
  return found && types.includes(found.resource.resourceType) ? found : undefined;
}

function npiOf(identifiers: unknown): string | undefined {
  if (!Array.isArray(identifiers)) return undefined;
  const npi = (identifiers as FhirIdentifier[]).find((i) => i?.system === CodeSystem.NPI);
  const value = text(npi?.value);
  return value && /^[0-9]{10}$/.test(value) ? value : undefined;
}

function otherIdentifiers(identifiers: unknown): Identifier[] {
  if (!Array.isArray(identifiers)) return [];
  return (identifiers as FhirIdentifier[])
    .filter((i) => i?.system !== CodeSystem.NPI)
    .map(identifier)
    .filter((i): i is Identifier => i !== undefined);
}

/** Practitioner, PractitionerRole (its practitioner and organization) or Organization → Provider. */
function provider(value: unknown, ctx: FhirReadContext): Provider | undefined {
  if (!isObject(value)) return undefined;
  const resource = value as unknown as Resource;
  const located: Located = { ...ctx.from, resource };
  const out: Provider = {};
  if (resource.resourceType === 'Practitioner') {
    out.npi = npiOf(resource.identifier);
    out.identifiers = otherIdentifiers(resource.identifier);
    out.name = preferredName(resource.name);
    out.address = address(resource.address?.[0]);
  } else if (resource.resourceType === 'Organization') {
    out.npi = npiOf(resource.identifier);
    out.identifiers = otherIdentifiers(resource.identifier);
    out.organizationName = text(resource.name);
    out.address = address(resource.address?.[0]);
  } else if (resource.resourceType === 'PractitionerRole') {
    const inner = { ...ctx, from: located };
    const practitioner = resolveReference(resource.practitioner, inner, ['Practitioner']);
    const organization = resolveReference(resource.organization, inner, ['Organization']);
    const person = practitioner
      ? (provider(practitioner.resource, { ...ctx, from: practitioner }) ?? {})
      : {};
    Object.assign(out, person);
    out.npi = npiOf(resource.identifier) ?? person.npi;
    if (organization) out.organizationName = text((organization.resource as { name?: string }).name);
    out.taxonomy = text(
      resource.specialty
        ?.flatMap((s) => s.coding ?? [])
        .find((c) => c.system === 'http://nucc.org/provider-taxonomy')?.code,
    );
  } else {
    return undefined;
  }
  return compact(out);
}

function person(value: unknown, ctx: FhirReadContext): Person | undefined {
  if (!isObject(value)) return undefined;
  const resource = value as unknown as Resource;
  if (resource.resourceType !== 'Patient' && resource.resourceType !== 'RelatedPerson') return undefined;
  const gender = text(resource.gender);
  return compact<Person>({
    identifiers: (resource.identifier ?? []).map(identifier).filter((i): i is Identifier => i !== undefined),
    name: preferredName(resource.name),
    birthDate: resource.birthDate ? fhirDatePart(resource.birthDate) : undefined,
    sex: gender ? (ctx.tables.lookup('fhir-administrative-gender', gender) as Person['sex']) : undefined,
    address: address(resource.address?.[0]),
  });
}

function diagnosisFromConcept(value: unknown, ctx: FhirReadContext): Diagnosis | undefined {
  if (!isObject(value)) return undefined;
  if ((value as { resourceType?: string }).resourceType === 'Condition') {
    const code = rankedCodings((value as { code?: CodeableConcept }).code, ctx)[0];
    return code ? { code } : undefined;
  }
  const code = rankedCodings(value as CodeableConcept, ctx)[0];
  return code ? { code } : undefined;
}

const placeOfServicePattern = /^[0-9]{2}$/;

interface ClaimItemJson {
  sequence?: number;
  productOrService?: CodeableConcept;
  category?: CodeableConcept;
  modifier?: CodeableConcept[];
  quantity?: FhirQuantity;
  servicedDate?: string;
  servicedPeriod?: FhirPeriod;
  locationCodeableConcept?: CodeableConcept;
}

const readers: Record<FhirReaderName, FhirReader> = {
  string: (value) => text(value),
  code: (value) => text(value),
  date: (value) => (typeof value === 'string' ? fhirDatePart(value) : undefined),
  dateTime: (value) => dateTime(value),
  decimal: (value) => (typeof value === 'number' && Number.isFinite(value) ? value : undefined),
  Identifier: (value) => identifier(value),
  HumanName: (value) => humanName(value),
  Address: (value) => address(value),
  CodeableConcept: (value, ctx) =>
    isObject(value) ? rankedCodings(value as CodeableConcept, ctx)[0] : undefined,
  /** Every coding but the preferred one: the alternate codes of a service. */
  'CodeableConcept.alternate': (value, ctx) =>
    isObject(value) ? rankedCodings(value as CodeableConcept, ctx).slice(1) : undefined,
  Coding: (value, ctx) => (isObject(value) ? coding(value as FhirCoding, ctx) : undefined),
  Quantity: (value, ctx) => quantity(value, ctx),
  Period: (value) => period(value),
  Reference: (value) => referenceText(value),
  Person: (value, ctx) => person(value, ctx),
  Provider: (value, ctx) => provider(value, ctx),
  Diagnosis: (value, ctx) => diagnosisFromConcept(value, ctx),
  /** Claim.item → ServiceLine. */
  ClaimItem: (value, ctx) => {
    if (!isObject(value)) return undefined;
    const item = value as ClaimItemJson;
    const codes = rankedCodings(item.productOrService, ctx);
    if (!codes[0]) {
      ctx.report({
        code: 'PAGW_MAP_MISSING_FIELD',
        severity: 'error',
        message: `item ${item.sequence ?? '?'}: productOrService has no coding`,
      });
      return undefined;
    }
    const pos = text(item.locationCodeableConcept?.coding?.[0]?.code);
    const line: ServiceLine = {
      sequence: typeof item.sequence === 'number' && item.sequence >= 1 ? item.sequence : 1,
      code: codes[0],
    };
    if (codes.length > 1) line.alternateCodes = codes.slice(1);
    const category = rankedCodings(item.category, ctx)[0];
    if (category) line.category = category;
    const modifiers = (item.modifier ?? [])
      .map((m) => text(m.coding?.[0]?.code))
      .filter((m): m is string => m !== undefined);
    if (modifiers.length > 0) line.modifiers = modifiers;
    const q = quantity(item.quantity, ctx);
    if (q) line.quantity = q;
    const served = period(item.servicedPeriod ?? item.servicedDate);
    if (served) line.servicePeriod = served;
    if (pos && placeOfServicePattern.test(pos)) line.placeOfService = pos;
    const description = text(item.productOrService?.text);
    if (description) line.description = description;
    return line;
  },
  /** Claim.diagnosis → Diagnosis; primary when typed principal or first in sequence. */
  ClaimDiagnosis: (value, ctx) => {
    if (!isObject(value)) return undefined;
    const d = value as {
      sequence?: number;
      diagnosisCodeableConcept?: CodeableConcept;
      diagnosisReference?: unknown;
      type?: CodeableConcept[];
    };
    let code = rankedCodings(d.diagnosisCodeableConcept, ctx)[0];
    if (!code && d.diagnosisReference) {
      const condition = resolveReference(d.diagnosisReference, ctx, ['Condition']);
      code = condition
        ? rankedCodings((condition.resource as { code?: CodeableConcept }).code, ctx)[0]
        : undefined;
    }
    if (!code) return undefined;
    const principal = (d.type ?? []).some((t) => t.coding?.some((c) => c.code === 'principal'));
    return principal || d.sequence === 1 ? { code, primary: true } : { code };
  },
  /** A reference to supporting documentation → DocumentReference (title and type when it is in the payload). */
  DocumentReference: (value, ctx) => {
    const ref = referenceText(value);
    if (!ref) return undefined;
    const found = ctx.index.resolve(ref, ctx.from)?.resource as
      | {
          resourceType: string;
          description?: string;
          content?: Array<{ attachment?: { contentType?: string; title?: string } }>;
        }
      | undefined;
    const attachment = found?.content?.[0]?.attachment;
    return compact<DocumentReference>({
      reference: ref,
      title: text(found?.description) ?? text(attachment?.title),
      contentType: text(attachment?.contentType),
    });
  },
};

export function fhirReader(name: FhirReaderName): FhirReader {
  return readers[name];
}

export { resolveReference };
