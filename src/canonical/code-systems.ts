/**
 * Canonical code-system URIs. The model never stores a code without one of these (or a sender's local URI).
 * @see http://hl7.org/fhir/R4/terminologies-systems.html
 */
export const CodeSystem = {
  CPT: 'http://www.ama-assn.org/go/cpt',
  HCPCS: 'https://www.cms.gov/Medicare/Coding/HCPCSReleaseCodeSets',
  ICD10CM: 'http://hl7.org/fhir/sid/icd-10-cm',
  ICD10PCS: 'http://www.cms.gov/Medicare/Coding/ICD10',
  ICD9CM: 'http://hl7.org/fhir/sid/icd-9-cm',
  NDC: 'http://hl7.org/fhir/sid/ndc',
  RXNORM: 'http://www.nlm.nih.gov/research/umls/rxnorm',
  LOINC: 'http://loinc.org',
  SNOMED: 'http://snomed.info/sct',
  X12_SERVICE_TYPE: 'https://codesystem.x12.org/005010/1365',
  X12_REVIEW_ACTION: 'https://codesystem.x12.org/005010/306',
  NPI: 'http://hl7.org/fhir/sid/us-npi',
  /** NUCC Health Care Provider Taxonomy: a prescriber's specialty. */
  NUCC_TAXONOMY: 'http://nucc.org/provider-taxonomy',
} as const;

export type KnownCodeSystem = (typeof CodeSystem)[keyof typeof CodeSystem];

/** The URI for a sender's local code system (HL7 table 0396 'L', '99zzz', or an unnamed one). */
export function localCodeSystem(sender: string, system: string): string {
  const safe = (s: string) => encodeURIComponent(s.trim() || 'unnamed');
  return `urn:pagw:local:${safe(sender)}:${safe(system)}`;
}
