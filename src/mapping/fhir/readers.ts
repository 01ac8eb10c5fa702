/**
 * FHIR R4 datatype readers: small pure functions from a FHIRPath result (a datatype or a resource) to a piece
 * of the canonical model. Mapping files name them in `read`.
 *
 * Payloads are untrusted: a reader never assumes a value has its FHIR shape (an array where an array belongs,
 * a string where a string belongs). What does not fit is skipped, never thrown.
 * @see http://hl7.org/fhir/R4/datatypes.html
 */
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

/** An object, or undefined when the value is anything else. */
function obj(value: unknown): Json | undefined {
  return isObject(value) ? value : undefined;
}

/** An array, or [] when the value is anything else. */
function arr(value: unknown): unknown[] {
  return Array.isArray(value) ? value : [];
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

function texts(value: unknown): string[] {
  return arr(value)
    .map(text)
    .filter((t): t is string => t !== undefined);
}

const dateTimePattern =
  /^[0-9]{4}(-(0[1-9]|1[0-2])(-(0[1-9]|[12][0-9]|3[01])(T([01][0-9]|2[0-3]):[0-5][0-9](:([0-5][0-9]|60)(\.[0-9]{1,9})?)?(Z|[+-]((0[0-9]|1[0-3]):[0-5][0-9]|14:00)))?)?)?$/;

function dateTime(value: unknown): string | undefined {
  const t = text(value);
  if (!t) return undefined;
  return dateTimePattern.test(t) ? t : fhirDatePart(t);
}

function date(value: unknown): string | undefined {
  return typeof value === 'string' ? fhirDatePart(value) : undefined;
}

function canonicalSystem(system: string | undefined, ctx: FhirReadContext): string {
  if (!system) return localCodeSystem(ctx.sender, '');
  const alias = ctx.tables.exact('fhir-code-systems', system);
  return typeof alias === 'string' ? alias : system;
}

function coding(value: unknown, ctx: FhirReadContext, fallbackDisplay?: string): Coding | undefined {
  const c = obj(value);
  const code = text(c?.code);
  if (!c || !code) return undefined;
  return compact<Coding>({
    system: canonicalSystem(text(c.system), ctx),
    code,
    display: text(c.display) ?? fallbackDisplay,
  });
}

/** The codings of a CodeableConcept, the preferred first (billing systems before clinical ones). */
function rankedCodings(value: unknown, ctx: FhirReadContext): Coding[] {
  const concept = obj(value);
  if (!concept) return [];
  const codings = arr(concept.coding)
    .map((c) => coding(c, ctx))
    .filter((c): c is Coding => c !== undefined);
  const rank = (c: Coding) => Number(ctx.tables.lookup('fhir-coding-preference', c.system) ?? 50);
  const sorted = codings
    .map((c, i) => ({ c, i }))
    .sort((a, b) => rank(a.c) - rank(b.c) || a.i - b.i)
    .map(({ c }) => c);
  const fallback = text(concept.text);
  if (sorted[0] && !sorted[0].display && fallback) sorted[0] = { ...sorted[0], display: fallback };
  return sorted;
}

/** The first coding's code of a CodeableConcept, as written. */
function firstCode(value: unknown): string | undefined {
  return text(obj(arr(obj(value)?.coding)[0])?.code);
}

function identifier(value: unknown): Identifier | undefined {
  const id = obj(value);
  const v = text(id?.value);
  if (!id || !v) return undefined;
  const assigner = obj(id.assigner);
  return compact<Identifier>({
    system: text(id.system),
    value: v,
    type: firstCode(id.type),
    assigner: text(assigner?.display) ?? text(obj(assigner?.identifier)?.value),
  });
}

function identifiers(value: unknown): Identifier[] {
  return arr(value)
    .map(identifier)
    .filter((i): i is Identifier => i !== undefined);
}

function humanName(value: unknown): HumanName | undefined {
  const name = obj(value);
  if (!name) return undefined;
  return compact<HumanName>({
    family: text(name.family),
    given: texts(name.given),
    prefix: text(arr(name.prefix)[0]),
    suffix: text(arr(name.suffix)[0]),
  });
}

/** The name to use: official, else usual, else the first. */
function preferredName(names: unknown): HumanName | undefined {
  const list = arr(names).filter(isObject);
  const chosen = list.find((n) => n.use === 'official') ?? list.find((n) => n.use === 'usual') ?? list[0];
  return humanName(chosen);
}

function address(value: unknown): Address | undefined {
  const a = obj(value);
  if (!a) return undefined;
  return compact<Address>({
    line: texts(a.line),
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
  const p = obj(value);
  if (!p) return undefined;
  return compact<Period>({ start: date(p.start), end: date(p.end) });
}

function quantity(value: unknown, ctx: FhirReadContext): Quantity | undefined {
  const q = obj(value);
  if (!q || typeof q.value !== 'number' || !Number.isFinite(q.value)) return undefined;
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

function npiOf(list: unknown): string | undefined {
  const npi = arr(list)
    .map(obj)
    .find((i) => i?.system === CodeSystem.NPI);
  const value = text(npi?.value);
  return value && /^[0-9]{10}$/.test(value) ? value : undefined;
}

function otherIdentifiers(list: unknown): Identifier[] {
  return identifiers(arr(list).filter((i) => obj(i)?.system !== CodeSystem.NPI));
}

/** Practitioner, PractitionerRole (its practitioner and organization) or Organization → Provider. */
function provider(value: unknown, ctx: FhirReadContext): Provider | undefined {
  const resource = obj(value);
  if (!resource) return undefined;
  const out: Provider = {};
  if (resource.resourceType === 'Practitioner') {
    out.npi = npiOf(resource.identifier);
    out.identifiers = otherIdentifiers(resource.identifier);
    out.name = preferredName(resource.name);
    out.address = address(arr(resource.address)[0]);
  } else if (resource.resourceType === 'Organization') {
    out.npi = npiOf(resource.identifier);
    out.identifiers = otherIdentifiers(resource.identifier);
    out.organizationName = text(resource.name);
    out.address = address(arr(resource.address)[0]);
  } else if (resource.resourceType === 'PractitionerRole') {
    const inner: FhirReadContext = { ...ctx, from: { ...ctx.from, resource: resource as never } };
    const practitioner = resolveReference(resource.practitioner, inner, ['Practitioner']);
    const organization = resolveReference(resource.organization, inner, ['Organization']);
    const person = practitioner
      ? (provider(practitioner.resource, { ...ctx, from: practitioner }) ?? {})
      : {};
    Object.assign(out, person);
    out.npi = npiOf(resource.identifier) ?? person.npi;
    if (organization) out.organizationName = text(obj(organization.resource)?.name);
    out.taxonomy = text(
      arr(resource.specialty)
        .flatMap((s) => arr(obj(s)?.coding))
        .map(obj)
        .find((c) => c?.system === 'http://nucc.org/provider-taxonomy')?.code,
    );
  } else {
    return undefined;
  }
  return compact(out);
}

function person(value: unknown, ctx: FhirReadContext): Person | undefined {
  const resource = obj(value);
  if (!resource || (resource.resourceType !== 'Patient' && resource.resourceType !== 'RelatedPerson'))
    return undefined;
  const gender = text(resource.gender);
  return compact<Person>({
    identifiers: identifiers(resource.identifier),
    name: preferredName(resource.name),
    birthDate: date(resource.birthDate),
    sex: gender ? (ctx.tables.lookup('fhir-administrative-gender', gender) as Person['sex']) : undefined,
    address: address(arr(resource.address)[0]),
  });
}

function diagnosisFromConcept(value: unknown, ctx: FhirReadContext): Diagnosis | undefined {
  const concept = obj(value);
  if (!concept) return undefined;
  const code = rankedCodings(concept.resourceType === 'Condition' ? concept.code : concept, ctx)[0];
  return code ? { code } : undefined;
}

const placeOfServicePattern = /^[0-9]{2}$/;

/** Claim.item → ServiceLine. */
const itemTraceNumberUrl = 'http://hl7.org/fhir/us/davinci-pas/StructureDefinition/extension-itemTraceNumber';

function claimItem(value: unknown, ctx: FhirReadContext): ServiceLine | undefined {
  const item = obj(value);
  if (!item) return undefined;
  const sequence =
    typeof item.sequence === 'number' && Number.isInteger(item.sequence) ? item.sequence : undefined;
  const codes = rankedCodings(item.productOrService, ctx);
  if (!codes[0]) {
    ctx.report({
      code: 'PAGW_MAP_MISSING_FIELD',
      severity: 'error',
      message: `item ${sequence ?? '?'}: productOrService has no coding`,
    });
    return undefined;
  }
  const line: ServiceLine = {
    sequence: sequence !== undefined && sequence >= 1 ? sequence : 1,
    code: codes[0],
  };
  if (codes.length > 1) line.alternateCodes = codes.slice(1);
  const category = rankedCodings(item.category, ctx)[0];
  if (category) line.category = category;
  const modifiers = arr(item.modifier)
    .map(firstCode)
    .filter((m): m is string => m !== undefined);
  if (modifiers.length > 0) line.modifiers = modifiers;
  const q = quantity(item.quantity, ctx);
  if (q) line.quantity = q;
  const served = period(item.servicedPeriod ?? item.servicedDate);
  if (served) line.servicePeriod = served;
  const pos = firstCode(item.locationCodeableConcept);
  if (pos && placeOfServicePattern.test(pos)) line.placeOfService = pos;
  const description = text(obj(item.productOrService)?.text);
  if (description) line.description = description;
  const traceNumbers = identifiers(
    arr(item.extension)
      .map(obj)
      .filter((e) => e?.url === itemTraceNumberUrl)
      .map((e) => e?.valueIdentifier),
  );
  if (traceNumbers.length > 0) line.traceNumbers = traceNumbers;
  return line;
}

/** Claim.diagnosis → Diagnosis; primary when typed principal or first in sequence. */
function claimDiagnosis(value: unknown, ctx: FhirReadContext): Diagnosis | undefined {
  const d = obj(value);
  if (!d) return undefined;
  let code = rankedCodings(d.diagnosisCodeableConcept, ctx)[0];
  if (!code && d.diagnosisReference) {
    const condition = resolveReference(d.diagnosisReference, ctx, ['Condition']);
    code = condition ? rankedCodings(obj(condition.resource)?.code, ctx)[0] : undefined;
  }
  if (!code) return undefined;
  const principal = arr(d.type).some((t) =>
    arr(obj(t)?.coding)
      .map(obj)
      .some((c) => c?.code === 'principal'),
  );
  return principal || d.sequence === 1 ? { code, primary: true } : { code };
}

/** A reference to supporting documentation → DocumentReference (title and type when it is in the payload). */
function documentReference(value: unknown, ctx: FhirReadContext): DocumentReference | undefined {
  const ref = referenceText(value);
  if (!ref) return undefined;
  const found = obj(ctx.index.resolve(ref, ctx.from)?.resource);
  const attachment = obj(obj(arr(found?.content)[0])?.attachment);
  return compact<DocumentReference>({
    reference: ref,
    title: text(found?.description) ?? text(attachment?.title),
    contentType: text(attachment?.contentType),
  });
}

const readers: Record<FhirReaderName, FhirReader> = {
  string: (value) => text(value),
  code: (value) => text(value),
  date: (value) => date(value),
  dateTime: (value) => dateTime(value),
  decimal: (value) => (typeof value === 'number' && Number.isFinite(value) ? value : undefined),
  Identifier: (value) => identifier(value),
  HumanName: (value) => humanName(value),
  Address: (value) => address(value),
  CodeableConcept: (value, ctx) => rankedCodings(value, ctx)[0],
  /** Every coding but the preferred one: the alternate codes of a service. */
  'CodeableConcept.alternate': (value, ctx) => rankedCodings(value, ctx).slice(1),
  Coding: (value, ctx) => coding(value, ctx),
  Quantity: (value, ctx) => quantity(value, ctx),
  Period: (value) => period(value),
  Reference: (value) => referenceText(value),
  Person: (value, ctx) => person(value, ctx),
  Provider: (value, ctx) => provider(value, ctx),
  Diagnosis: (value, ctx) => diagnosisFromConcept(value, ctx),
  ClaimItem: (value, ctx) => claimItem(value, ctx),
  ClaimDiagnosis: (value, ctx) => claimDiagnosis(value, ctx),
  DocumentReference: (value, ctx) => documentReference(value, ctx),
};

export function fhirReader(name: FhirReaderName): FhirReader {
  return readers[name];
}
