/**
 * Pieces the 270, 278 and 278-inquiry builders share: canonical person, provider, code and date values
 * turned into X12 elements, and the build options every builder takes. Pure.
 */
import { CodeSystem } from '../../src/canonical/index.ts';
import type {
  AuthorizationRequest,
  HumanName,
  Period,
  Person,
  Provider,
  Quantity,
  ServiceLine,
} from '../../src/canonical/types.generated.ts';
import { codeTable } from './code-lists.ts';
import { buildInterchange, type EnvelopeOptions, type SegmentData, x12Text } from './envelope.ts';
import { X12BuildError } from './errors.ts';
import type { TransactionSpec } from './spec.ts';
import { isoDateToX12 } from './transaction.ts';
import { assertValidInterchange } from './validator.ts';

export interface PayerIdentity {
  /** 2010A/2100A NM103. */
  readonly name: string;
  /** NM109: the payer id the clearinghouse routes on. */
  readonly id: string;
  /** NM108: PI payer identification (default), XV CMS plan id, NI NAIC, 46 ETIN. */
  readonly idQualifier?: 'PI' | 'XV' | 'NI' | '46';
}

export interface BuildOptions {
  readonly envelope: EnvelopeOptions;
  readonly payer: PayerIdentity;
  /** TRN02: our trace number for the case, the same on every attempt. */
  readonly traceNumber: string;
  /** TRN03: the originating company id, 10 characters (1 + EIN, or 9 + a mutually defined id). */
  readonly traceOriginator: string;
  /** BHT03: submitter transaction identifier, echoed in the response. */
  readonly submitterReference: string;
}

export function unmappable(location: string, message: string): X12BuildError {
  return new X12BuildError('PAGW_X12_REQUEST_UNMAPPABLE', `${message} (${location})`, {
    problems: [{ location, message }],
  });
}

/** NM103…NM107 of a person: last, first, middle, (prefix unused), suffix. */
export function personName(name: HumanName | undefined): [string, string, string, string, string] {
  const given = name?.given ?? [];
  return [
    x12Text(name?.family, 60),
    x12Text(given[0], 35),
    x12Text(given.slice(1).join(' '), 25),
    '',
    x12Text(name?.suffix, 10),
  ];
}

export const sexCode: Record<NonNullable<Person['sex']>, string> = {
  male: 'M',
  female: 'F',
  other: 'U',
  unknown: 'U',
};

/** INS02 individual relationship code of a dependent. */
export const relationshipCode: Record<string, string> = codeTable({
  spouse: '01',
  child: '19',
  other: 'G8',
  unknown: '21',
});

export function addressSegments(address: Person['address']): [string, string[]][] {
  if (!address?.line?.length && !address?.city) return [];
  const segments: [string, string[]][] = [];
  const lines = (address.line ?? []).map((l) => x12Text(l, 55)).filter(Boolean);
  if (lines.length) segments.push(['N3', lines.slice(0, 2)]);
  const city = x12Text(address.city, 30);
  if (city.length >= 2) {
    const state = /^[A-Za-z]{2}$/.test(address.state ?? '') ? address.state!.toUpperCase() : '';
    const zip = x12Text(address.postalCode, 15).replace(/[^0-9A-Za-z]/g, '');
    const country =
      address.country && !/^(US|USA)$/i.test(address.country) ? x12Text(address.country, 3) : '';
    segments.push(['N4', [city, state, zip.length >= 3 ? zip : '', country]]);
  }
  return segments;
}

/** DMG of a person, when a birth date is known. */
export function demographics(person: Person | undefined): [string, string[]][] {
  if (!person?.birthDate || !/^\d{4}-\d{2}-\d{2}$/.test(person.birthDate)) return [];
  return [['DMG', ['D8', isoDateToX12(person.birthDate), person.sex ? sexCode[person.sex] : '']]];
}

/** NM1 of a provider: person (NM102 1) when a family name is known, otherwise organization. */
export function providerName(
  entityCode: string,
  provider: Provider,
  idRequired: boolean,
  location: string,
): string[] {
  const person = Boolean(provider.name?.family);
  const names = person ? personName(provider.name) : [x12Text(provider.organizationName, 60), '', '', '', ''];
  if (!names[0]) throw unmappable(location, 'A provider needs a family name or an organization name');
  if (!provider.npi && idRequired)
    throw unmappable(`${location}.npi`, 'The provider has no NPI, which this loop requires');
  return [entityCode, person ? '1' : '2', ...names, provider.npi ? 'XX' : '', provider.npi ?? ''];
}

export function providerDetails(provider: Provider, role: string): [string, string[]][] {
  const segments = addressSegments(provider.address);
  if (provider.taxonomy && /^[0-9A-Z]{10}$/.test(provider.taxonomy))
    segments.push(['PRV', [role, 'PXC', provider.taxonomy]]);
  return segments;
}

/** D8 or RD8 of a period (or a single day). */
export function dateValue(period: Period | undefined): [format: string, value: string] | undefined {
  const start = period?.start && /^\d{4}-\d{2}-\d{2}$/.test(period.start) ? period.start : undefined;
  const end = period?.end && /^\d{4}-\d{2}-\d{2}$/.test(period.end) ? period.end : undefined;
  if (!start && !end) return undefined;
  if (!start || !end || start === end) return ['D8', isoDateToX12((start ?? end)!)];
  return ['RD8', `${isoDateToX12(start)}-${isoDateToX12(end)}`];
}

/** The whole span of the requested services, for the event date. */
export function servicesSpan(request: AuthorizationRequest): Period | undefined {
  const starts = request.serviceLines
    .map((l) => l.servicePeriod?.start)
    .filter((d): d is string => /^\d{4}-\d{2}-\d{2}$/.test(d ?? ''));
  const ends = request.serviceLines
    .map((l) => l.servicePeriod?.end ?? l.servicePeriod?.start)
    .filter((d): d is string => /^\d{4}-\d{2}-\d{2}$/.test(d ?? ''));
  if (!starts.length) return undefined;
  return { start: [...starts].sort()[0]!, end: [...ends].sort().at(-1) ?? [...starts].sort()[0]! };
}

/** Product/service id qualifier and code of a service line (SV101/SV202/EQ02 composites). */
export function procedureComposite(line: ServiceLine, location: string): [qualifier: string, code: string] {
  const { system, code } = line.code;
  if (system === CodeSystem.CPT || system === CodeSystem.HCPCS) {
    if (!/^[A-Z0-9]{5}$/i.test(code))
      throw unmappable(`${location}.code.code`, 'A CPT/HCPCS code is five letters or digits');
    return ['HC', code.toUpperCase()];
  }
  if (system === CodeSystem.NDC) {
    const digits = code.replace(/-/g, '');
    if (!/^\d{11}$/.test(digits))
      throw unmappable(`${location}.code.code`, 'An NDC must have 11 digits (5-4-2) for X12');
    return ['N4', digits];
  }
  throw unmappable(
    `${location}.code.system`,
    'Only CPT, HCPCS and NDC service codes have an X12 278 procedure qualifier (HC, N4); send this service by another channel',
  );
}

/** X12 1365 service type of a line: its category when the sender gave one, else 1 (medical care). */
export function serviceType(line: ServiceLine | undefined): string {
  const category = line?.category;
  if (category?.system === CodeSystem.X12_SERVICE_TYPE && /^[0-9A-Z]{1,2}$/.test(category.code))
    return category.code;
  return '1';
}

export function placeOfService(request: AuthorizationRequest, line?: ServiceLine): string | undefined {
  return (
    line?.placeOfService ??
    request.servicingProvider?.placeOfService ??
    request.requestingProvider?.placeOfService
  );
}

/** A quantity as an X12 R value: no exponent, at most three decimals. */
export function decimal(value: number): string {
  return Number.isInteger(value) ? String(value) : String(Number(value.toFixed(3)));
}

/** Units the canonical model carries → X12 unit codes, and where they go. */
export function quantityParts(quantity: Quantity | undefined): {
  unit?: string;
  hsd?: string;
  value?: string;
} {
  if (!quantity) return {};
  const value = decimal(quantity.value);
  switch ((quantity.unit ?? 'UN').toUpperCase()) {
    case 'MJ':
      return { unit: 'MJ', value };
    case 'DA':
    case 'DY':
    case 'D':
      return { hsd: 'DY', value };
    case 'VS':
      return { hsd: 'VS', value };
    default:
      return { unit: 'UN', value };
  }
}

/** ICD diagnoses as HI composites, principal first: ABK/ABF (ICD-10-CM), BK/BF (ICD-9-CM). */
export function diagnosisComposites(request: AuthorizationRequest): string[] {
  const icd = request.diagnoses
    .map((d, index) => ({ d, index }))
    .filter(({ d }) => d.code.system === CodeSystem.ICD10CM || d.code.system === CodeSystem.ICD9CM)
    .sort((a, b) => Number(Boolean(b.d.primary)) - Number(Boolean(a.d.primary)) || a.index - b.index)
    .slice(0, 12);
  return icd.map(({ d }, i) => {
    const ten = d.code.system === CodeSystem.ICD10CM;
    const qualifier = i === 0 ? (ten ? 'ABK' : 'BK') : ten ? 'ABF' : 'BF';
    return `${qualifier}:${d.code.code.replace(/\./g, '').toUpperCase()}`;
  });
}

/** The member (subscriber) the coverage is about, and the patient as a dependent when they differ. */
export function members(request: AuthorizationRequest): {
  subscriber: Person;
  dependent?: Person;
  relationship?: string;
} {
  const { coverage, patient } = request;
  if (coverage.relationshipToSubscriber === 'self') return { subscriber: patient };
  if (!coverage.subscriber?.name?.family) {
    throw unmappable(
      '$.coverage.subscriber.name.family',
      'The patient is not the subscriber, and the subscriber has no family name for loop 2010C',
    );
  }
  return {
    subscriber: coverage.subscriber,
    dependent: patient,
    relationship: relationshipCode[coverage.relationshipToSubscriber] ?? '21',
  };
}

/**
 * The last step of every builder: checks the trace originator, envelopes the transaction set, and refuses an
 * interchange that breaks its TR3 before it can leave. `segments` is a thunk so the envelope problems surface first.
 */
export function buildCheckedInterchange(
  envelope: EnvelopeOptions,
  transaction: { functionalId: string; setId: string; version: string; spec: TransactionSpec },
  traceOriginator: string,
  segments: () => readonly SegmentData[],
): string {
  if (!/^.{10}$/.test(traceOriginator)) {
    throw unmappable('traceOriginator', 'TRN03 (originating company id) must be exactly 10 characters');
  }
  const { spec, ...header } = transaction;
  const text = buildInterchange(envelope, { ...header, segments: segments() });
  assertValidInterchange(text, [spec]);
  return text;
}
