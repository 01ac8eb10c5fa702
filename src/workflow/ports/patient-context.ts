/**
 * The PatientContext port: what drafting needs to know about a patient that a PA flag does not carry (it carries
 * ids only), read from the pharmacy system that sent the flag. connectors/pharmacy-fhir implements it over the
 * pharmacy's FHIR R4 API (Patient, Coverage, MedicationRequest, Condition, Observation, Practitioner).
 *
 * Never guessing: each part says whether it could be read at all (`available: false` with the reason: the API
 * does not offer that search, or refused it) — so drafting can tell "the record shows no TB screening" from
 * "the record could not be asked". A patient the system does not know is `patient: null`.
 *
 * Failure contract: a pharmacy system that could not be reached, timed out or answered 5xx/429 throws a
 * GatewayError with `retriable: true` (the drafting step is retried); one that refused us (401/403) throws a
 * non-retriable GatewayError. Everything it ANSWERED is returned.
 */
import type { Coding, HumanName, Identifier, Period } from '../../canonical/index.ts';

export interface PatientContextQuery {
  readonly tenant: string;
  /** The pharmacy sender id (tenants/<id>.json pharmacy.senders): which system to ask. */
  readonly sender: string;
  /** The patient's id in that system (a FHIR id). */
  readonly patientId: string;
  readonly prescriberNpi: string;
  /** Observation codes drafting will look for (TB screening …); none = no observations are read. */
  readonly observationCodes?: readonly Pick<Coding, 'system' | 'code'>[];
  /** For the audit of the token read, when the API needs one. */
  readonly requestId?: string;
}

/** A part of the record: what the system answered, or why it could not be read. */
export type Fetched<T> =
  | { readonly available: true; readonly items: readonly T[] }
  | { readonly available: false; readonly reason: string };

export interface PatientFacts {
  /** `Patient/<id>` in the pharmacy system. */
  readonly reference: string;
  readonly identifiers: readonly Identifier[];
  readonly name?: HumanName;
  readonly birthDate?: string;
  readonly sex?: 'male' | 'female' | 'other' | 'unknown';
}

/** A pharmacy coverage: FHIR Coverage with its rxbin/rxpcn/rxgroup/rxid classes. */
export interface CoverageFacts {
  readonly reference: string;
  readonly status?: string;
  readonly bin?: string;
  readonly pcn?: string;
  readonly group?: string;
  /** Coverage.subscriberId (or the rxid class): the cardholder id. */
  readonly cardholderId?: string;
  /** Coverage.dependent: the person code. */
  readonly personCode?: string;
  /** FHIR subscriber-relationship code (self, spouse, child, other). */
  readonly relationship?: string;
  readonly period?: Period;
}

export interface MedicationFacts {
  readonly reference: string;
  readonly codes: readonly Coding[];
  readonly text?: string;
  readonly status?: string;
  readonly intent?: string;
  /** When it was prescribed (MedicationRequest.authoredOn). */
  readonly authoredOn?: string;
}

export interface ConditionFacts {
  readonly reference: string;
  readonly codes: readonly Coding[];
  readonly clinicalStatus?: string;
  readonly verificationStatus?: string;
  readonly onset?: string;
  readonly recordedDate?: string;
}

export interface ObservationFacts {
  readonly reference: string;
  readonly codes: readonly Coding[];
  readonly status?: string;
  /** effectiveDateTime, or the start of effectivePeriod, or issued. */
  readonly effective?: string;
  /** The result as recorded, as text (a code's display or code, a quantity with its unit, a string). */
  readonly value?: string;
  /** Observation.interpretation codes (N normal, NEG negative, POS positive, A abnormal …). */
  readonly interpretation: readonly string[];
}

export interface PrescriberFacts {
  readonly reference: string;
  readonly npi: string;
  readonly name?: HumanName;
  /** NUCC taxonomy codes from Practitioner.qualification (the specialty). */
  readonly taxonomies: readonly Coding[];
}

export interface PatientContext {
  /** Where it was read from (the FHIR base), for the evidence trail. */
  readonly source: string;
  readonly patient: PatientFacts | null;
  readonly coverages: Fetched<CoverageFacts>;
  readonly medications: Fetched<MedicationFacts>;
  readonly conditions: Fetched<ConditionFacts>;
  readonly observations: Fetched<ObservationFacts>;
  /** null: the system knows no practitioner with that NPI. */
  readonly prescriber: PrescriberFacts | null | { readonly available: false; readonly reason: string };
}

export interface PatientContextSource {
  fetch(query: PatientContextQuery): Promise<PatientContext>;
}
