/**
 * FHIR R4 resources of a pharmacy system → the facts of the PatientContext port. Pure. Reads only what is there:
 * a field the resource does not carry stays absent (drafting then says "unknown", never a default).
 * @see http://hl7.org/fhir/R4/coverage.html (class types rxbin, rxpcn, rxgroup, rxid:
 *      http://terminology.hl7.org/CodeSystem/coverage-class), http://hl7.org/fhir/R4/medicationrequest.html,
 *      http://hl7.org/fhir/R4/condition.html, http://hl7.org/fhir/R4/observation.html,
 *      http://hl7.org/fhir/R4/practitioner.html (qualification.code: NUCC taxonomy)
 */
import type {
  Bundle,
  CodeableConcept,
  Condition,
  Coverage,
  HumanName as FhirHumanName,
  MedicationRequest,
  Observation,
  Patient,
  Practitioner,
  Resource,
} from '@medplum/fhirtypes';
import type { Coding, HumanName } from '../../src/canonical/index.ts';
import type {
  ConditionFacts,
  CoverageFacts,
  MedicationFacts,
  ObservationFacts,
  PatientFacts,
  PrescriberFacts,
} from '../../src/workflow/ports/patient-context.ts';

export const NPI_SYSTEM = 'http://hl7.org/fhir/sid/us-npi';

function codings(concept: CodeableConcept | undefined): Coding[] {
  return (concept?.coding ?? [])
    .filter((c) => typeof c.system === 'string' && typeof c.code === 'string' && c.code.trim() !== '')
    .map((c) => ({ system: c.system!, code: c.code!, ...(c.display ? { display: c.display } : {}) }));
}

function firstCode(concept: CodeableConcept | undefined): string | undefined {
  return concept?.coding?.find((c) => c.code)?.code;
}

function name(names: FhirHumanName[] | undefined): HumanName | undefined {
  const n = names?.find((x) => x.use === 'official') ?? names?.[0];
  if (!n) return undefined;
  const given = (n.given ?? []).filter(Boolean);
  const out: HumanName = {
    ...(n.family ? { family: n.family } : {}),
    ...(given.length ? { given } : {}),
    ...(n.prefix?.[0] ? { prefix: n.prefix[0] } : {}),
    ...(n.suffix?.[0] ? { suffix: n.suffix[0] } : {}),
  };
  return Object.keys(out).length ? out : undefined;
}

const ref = (r: Resource) => `${r.resourceType}/${r.id ?? ''}`;

/** The resources of `type` a search Bundle matched (included resources are not matches). */
export function matches<T extends Resource>(bundle: Bundle, type: T['resourceType']): T[] {
  return (bundle.entry ?? [])
    .filter((e) => e.resource?.resourceType === type && (e.search?.mode ?? 'match') === 'match')
    .map((e) => e.resource as T);
}

export function patientFacts(patient: Patient, system: string): PatientFacts {
  const gender = patient.gender;
  return {
    reference: ref(patient),
    identifiers: [{ system, value: patient.id ?? '', type: 'PI' }],
    ...(name(patient.name) ? { name: name(patient.name)! } : {}),
    ...(patient.birthDate ? { birthDate: patient.birthDate } : {}),
    ...(gender ? { sex: gender } : {}),
  };
}

export function coverageFacts(coverage: Coverage): CoverageFacts {
  const classValue = (type: string) =>
    coverage.class?.find((c) => c.type?.coding?.some((t) => t.code === type))?.value;
  const cardholder = coverage.subscriberId ?? classValue('rxid');
  const relationship = firstCode(coverage.relationship);
  return {
    reference: ref(coverage),
    ...(coverage.status ? { status: coverage.status } : {}),
    ...(classValue('rxbin') ? { bin: classValue('rxbin')! } : {}),
    ...(classValue('rxpcn') ? { pcn: classValue('rxpcn')! } : {}),
    ...(classValue('rxgroup') ? { group: classValue('rxgroup')! } : {}),
    ...(cardholder ? { cardholderId: cardholder } : {}),
    ...(coverage.dependent ? { personCode: coverage.dependent } : {}),
    ...(relationship ? { relationship } : {}),
    ...(coverage.period ? { period: { ...coverage.period } } : {}),
  };
}

export function medicationFacts(request: MedicationRequest): MedicationFacts {
  const concept = request.medicationCodeableConcept;
  return {
    reference: ref(request),
    codes: codings(concept),
    ...(concept?.text ? { text: concept.text } : {}),
    ...(request.status ? { status: request.status } : {}),
    ...(request.intent ? { intent: request.intent } : {}),
    ...(request.authoredOn ? { authoredOn: request.authoredOn } : {}),
  };
}

export function conditionFacts(condition: Condition): ConditionFacts {
  const clinical = firstCode(condition.clinicalStatus);
  const verification = firstCode(condition.verificationStatus);
  return {
    reference: ref(condition),
    codes: codings(condition.code),
    ...(clinical ? { clinicalStatus: clinical } : {}),
    ...(verification ? { verificationStatus: verification } : {}),
    ...(condition.onsetDateTime ? { onset: condition.onsetDateTime } : {}),
    ...(condition.recordedDate ? { recordedDate: condition.recordedDate } : {}),
  };
}

function observationValue(o: Observation): string | undefined {
  if (o.valueCodeableConcept)
    return (
      o.valueCodeableConcept.coding?.[0]?.display ??
      o.valueCodeableConcept.text ??
      firstCode(o.valueCodeableConcept)
    );
  if (o.valueQuantity?.value !== undefined)
    return `${o.valueQuantity.value}${o.valueQuantity.unit ? ` ${o.valueQuantity.unit}` : ''}`;
  if (typeof o.valueString === 'string') return o.valueString;
  if (typeof o.valueBoolean === 'boolean') return String(o.valueBoolean);
  return undefined;
}

export function observationFacts(observation: Observation): ObservationFacts {
  const effective = observation.effectiveDateTime ?? observation.effectivePeriod?.start ?? observation.issued;
  const value = observationValue(observation);
  return {
    reference: ref(observation),
    codes: codings(observation.code),
    ...(observation.status ? { status: observation.status } : {}),
    ...(effective ? { effective } : {}),
    ...(value !== undefined ? { value } : {}),
    interpretation: (observation.interpretation ?? []).flatMap((i) =>
      (i.coding ?? []).map((c) => c.code).filter((c): c is string => typeof c === 'string'),
    ),
  };
}

export function prescriberFacts(practitioner: Practitioner, npi: string): PrescriberFacts {
  return {
    reference: ref(practitioner),
    npi,
    ...(name(practitioner.name) ? { name: name(practitioner.name)! } : {}),
    taxonomies: (practitioner.qualification ?? []).flatMap((q) =>
      codings(q.code).filter((c) => c.system === 'http://nucc.org/provider-taxonomy'),
    ),
  };
}
