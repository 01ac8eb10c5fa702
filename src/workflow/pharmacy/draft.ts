/**
 * Drafting: a PA flag (ids and codes) plus the patient's record from the pharmacy system (PatientContext) plus
 * the drug's criteria → the draft submission, an AuthorizationRequest carrying its checklist. Pure.
 *
 * What a request cannot go without — the patient's name and birth date (a payer matches the member on them), the
 * cardholder id — is taken from the flag or the record and never made up: when neither says, there is no draft,
 * only `needs_info` naming each missing fact (the flag is then tracked, and the pharmacy told). Anything a
 * criterion needs and the record does not say is an `unknown` on the checklist, for the pharmacist to resolve at
 * the review gate.
 */
import { CodeSystem } from '../../canonical/code-systems.ts';
import type { AuthorizationRequest, CriteriaChecklist } from '../../canonical/index.ts';
import type { Problem } from '../../errors/index.ts';
import type { PaFlag } from '../../mapping/pharmacy/flag.ts';
import type { CoverageFacts, PatientContext } from '../ports/patient-context.ts';
import type { CriteriaDirectory } from './criteria.ts';
import { evaluateCriteria, ICD10CM } from './evaluate.ts';

/** Coverage.payerIdSystem of a pharmacy request: the payer is named by its BIN. */
export const BIN_SYSTEM = 'urn:pagw:ncpdp:bin';

export interface DraftInput {
  readonly tenant: string;
  readonly sender: { readonly id: string; readonly patientIdentifierSystem: string };
  readonly flag: PaFlag;
  readonly context: PatientContext;
  readonly criteria: CriteriaDirectory;
  /** The payer the BIN/PCN routes to (payer directory id), to select payer-specific criteria. */
  readonly payerId?: string;
  /** When the flag was received (source.receivedAt). */
  readonly receivedAt: string;
}

export type DraftOutcome =
  | { readonly kind: 'draft'; readonly request: AuthorizationRequest; readonly checklist?: CriteriaChecklist }
  | {
      readonly kind: 'needs_info';
      readonly problems: readonly Problem[];
      readonly checklist?: CriteriaChecklist;
    };

/** The flag's idempotency key, also the request's (the same flag drafted twice is one case). */
export function pharmacyIdempotencyKey(
  sender: string,
  flag: Pick<PaFlag, 'prescriptionId' | 'eventType'>,
): string {
  return `pharmacy:${sender}:${flag.prescriptionId}:${flag.eventType}`;
}

/** The Observation codes the drug's criteria look for (what the context fetch asks the system for). */
export function observationCodesFor(
  criteria: CriteriaDirectory,
  flag: Pick<PaFlag, 'ndc' | 'diagnosisCodes'>,
  payerId?: string,
): { system: string; code: string }[] {
  const selected = criteria.select({
    ndc: flag.ndc,
    diagnoses: flag.diagnosisCodes,
    ...(payerId ? { payerId } : {}),
  });
  return (selected?.criteria ?? []).flatMap((c) =>
    c.kind === 'observation'
      ? c.codes
          .filter((m) => m.code !== undefined)
          .map((m) => ({ system: codeSystemOf(m.system), code: m.code! }))
      : [],
  );
}

function codeSystemOf(name: string): string {
  return (CodeSystem as Record<string, string>)[name] ?? name;
}

const relationships = new Set(['self', 'spouse', 'child', 'other']);

/** The coverage on file for the flag's BIN (and PCN, when both say one): the cardholder id's second source. */
function coverageFor(flag: PaFlag, context: PatientContext): CoverageFacts | undefined {
  if (!context.coverages.available) return undefined;
  return context.coverages.items.find(
    (c) =>
      (c.status ?? 'active') === 'active' &&
      c.bin === flag.bin &&
      (c.pcn === undefined || flag.pcn === undefined || c.pcn.toUpperCase() === flag.pcn.toUpperCase()),
  );
}

export function draftRequest(input: DraftInput): DraftOutcome {
  const { flag, context, sender } = input;
  const selected = input.criteria.select({
    ndc: flag.ndc,
    diagnoses: flag.diagnosisCodes,
    ...(input.payerId ? { payerId: input.payerId } : {}),
  });
  const checklist = selected
    ? evaluateCriteria(selected, { diagnoses: flag.diagnosisCodes, context, at: flag.occurredAt })
    : undefined;

  const problems: Problem[] = [];
  const patient = context.patient;
  if (!patient)
    problems.push({ location: 'patient', message: `the pharmacy system knows no patient ${flag.patientId}` });
  else {
    if (!patient.name?.family)
      problems.push({ location: 'patient.name', message: 'the patient record has no family name' });
    if (!patient.birthDate)
      problems.push({ location: 'patient.birthDate', message: 'the patient record has no birth date' });
  }
  const coverage = coverageFor(flag, context);
  const cardholderId = flag.cardholderId ?? coverage?.cardholderId;
  if (!cardholderId)
    problems.push({
      location: 'coverage.cardholderId',
      message: context.coverages.available
        ? `neither the flag nor a coverage on file for BIN ${flag.bin} gives the cardholder id`
        : `the flag gives no cardholder id and coverages could not be read (${context.coverages.reason})`,
    });
  if (problems.length > 0 || !patient || !cardholderId)
    return { kind: 'needs_info', problems, ...(checklist ? { checklist } : {}) };

  const personCode = flag.personCode ?? coverage?.personCode;
  const group = flag.group ?? coverage?.group;
  const relationship = coverage?.relationship;
  const prescriber =
    context.prescriber && !('available' in context.prescriber) ? context.prescriber : undefined;
  const taxonomy = prescriber?.taxonomies[0]?.code;
  const request: AuthorizationRequest = {
    tenant: input.tenant,
    source: {
      format: 'api',
      sender: sender.id,
      messageId: flag.prescriptionId,
      messageType: flag.eventType,
      receivedAt: input.receivedAt,
    },
    patient: {
      identifiers: [{ system: sender.patientIdentifierSystem, value: flag.patientId, type: 'PI' }],
      ...(patient.name ? { name: patient.name } : {}),
      ...(patient.birthDate ? { birthDate: patient.birthDate } : {}),
      ...(patient.sex ? { sex: patient.sex } : {}),
    },
    coverage: {
      payerId: flag.bin,
      payerIdSystem: BIN_SYSTEM,
      memberId: cardholderId,
      ...(group ? { groupNumber: group } : {}),
      relationshipToSubscriber:
        relationship && relationships.has(relationship) ? (relationship as 'self') : 'unknown',
      pharmacyBenefit: {
        bin: flag.bin,
        ...(flag.pcn ? { pcn: flag.pcn } : {}),
        ...(group ? { group } : {}),
        cardholderId,
        ...(personCode && /^[0-9]{1,3}$/.test(personCode) ? { personCode } : {}),
      },
    },
    requestingProvider: {
      npi: flag.prescriberNpi,
      ...(taxonomy ? { taxonomy } : {}),
      ...(prescriber?.name ? { name: prescriber.name } : {}),
    },
    serviceLines: [
      {
        sequence: 1,
        code: {
          system: CodeSystem.NDC,
          code: flag.ndc,
          ...(flag.drugName ? { display: flag.drugName } : {}),
        },
        ...(flag.quantity !== undefined
          ? { quantity: { value: flag.quantity, ...(flag.quantityUnit ? { unit: flag.quantityUnit } : {}) } }
          : {}),
        prescription: {
          id: flag.prescriptionId,
          ...(flag.daysSupply !== undefined ? { daysSupply: flag.daysSupply } : {}),
          ...(flag.refills !== undefined ? { refills: flag.refills } : {}),
          ...(flag.writtenDate ? { writtenDate: flag.writtenDate } : {}),
        },
      },
    ],
    diagnoses: flag.diagnosisCodes.map((code, i) => ({
      code: { system: ICD10CM, code },
      ...(i === 0 ? { primary: true } : {}),
    })),
    urgency: flag.urgency,
    requestedAt: flag.occurredAt,
    orderReference: { placerOrderNumber: flag.prescriptionId },
    ...(checklist ? { clinicalCriteria: checklist } : {}),
    idempotencyKey: pharmacyIdempotencyKey(sender.id, flag),
  };
  return { kind: 'draft', request, ...(checklist ? { checklist } : {}) };
}
