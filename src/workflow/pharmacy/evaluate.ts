/**
 * Drug criteria evaluated against the patient's record: the draft's checklist. Pure and deterministic — no model,
 * no clock: windows count back from the flag's own timestamp, and the same record under the same criteria version
 * always gives the same checklist. Each criterion is met, not met or unknown, with the evidence that decided it:
 *
 *   diagnosis             a flag diagnosis or an active, not refuted condition in the list → met; diagnoses
 *                         known but none in the list → not met; no diagnosis at all → unknown
 *   prior-medication      a matching MedicationRequest authored within the window → met; none → `ifNoRecord`
 *                         (unknown by default: the pharmacy's record may not show a trial elsewhere); history
 *                         unreadable → unknown
 *   observation           the latest final result within the window decides: an accepted interpretation → met,
 *                         another → not met, none → unknown; no result → `ifNoRecord`; unreadable → unknown
 *   prescriber-specialty  a taxonomy in the list → met; taxonomies known, none in it → not met; prescriber or
 *                         taxonomy unknown → unknown
 */
import type { CriteriaChecklist, CriterionResult, Evidence } from '../../canonical/index.ts';
import type {
  ConditionFacts,
  MedicationFacts,
  ObservationFacts,
  PatientContext,
} from '../ports/patient-context.ts';
import { codeMatches } from './criteria.ts';
import type {
  Diagnosis,
  DrugCriteria,
  Observation,
  PrescriberSpecialty,
  PriorMedication,
} from './types.generated.ts';

export const ICD10CM = 'http://hl7.org/fhir/sid/icd-10-cm';
const NUCC = 'http://nucc.org/provider-taxonomy';

export interface EvaluationInput {
  /** The flag's diagnoses (ICD-10-CM), primary first. */
  readonly diagnoses: readonly string[];
  readonly context: PatientContext;
  /** The flag's timestamp: look-back windows count from it. */
  readonly at: string;
}

/** `at` minus whole calendar months (UTC), as epoch ms; a day past the target month's end clamps to its end. */
export function monthsBefore(at: string, months: number): number {
  const d = new Date(at);
  const target = new Date(Date.UTC(d.getUTCFullYear(), d.getUTCMonth() - months, 1));
  const lastDay = new Date(Date.UTC(target.getUTCFullYear(), target.getUTCMonth() + 1, 0)).getUTCDate();
  return Date.UTC(
    target.getUTCFullYear(),
    target.getUTCMonth(),
    Math.min(d.getUTCDate(), lastDay),
    d.getUTCHours(),
    d.getUTCMinutes(),
    d.getUTCSeconds(),
  );
}

/** A FHIR date or dateTime as epoch ms (a date alone is its day's start, UTC); NaN when unreadable. */
function instant(value: string | undefined): number {
  if (!value) return Number.NaN;
  if (/^[0-9]{4}$/.test(value)) return Date.UTC(Number(value), 0, 1);
  if (/^[0-9]{4}-[0-9]{2}$/.test(value))
    return Date.UTC(Number(value.slice(0, 4)), Number(value.slice(5)) - 1, 1);
  return Date.parse(value.length === 10 ? `${value}T00:00:00Z` : value);
}

const day = (ms: number) => new Date(ms).toISOString().slice(0, 10);

function result(
  criterion: { id: string; description: string },
  status: CriterionResult['status'],
  reason: string,
  evidence: Evidence[] = [],
): CriterionResult {
  return { id: criterion.id, description: criterion.description, status, reason, evidence };
}

function usableCondition(c: ConditionFacts): boolean {
  const clinical = c.clinicalStatus ?? 'active';
  const verification = c.verificationStatus ?? 'confirmed';
  return (
    ['active', 'recurrence', 'relapse'].includes(clinical) &&
    !['refuted', 'entered-in-error'].includes(verification)
  );
}

function diagnosis(criterion: Diagnosis, input: EvaluationInput): CriterionResult {
  const fromFlag = input.diagnoses.map((code) => ({ source: 'pa-flag', code: { system: ICD10CM, code } }));
  const conditions = input.context.conditions.available
    ? input.context.conditions.items.filter(usableCondition)
    : [];
  const fromRecord = conditions.flatMap((c) =>
    c.codes
      .filter((code) => code.system === ICD10CM)
      .map((code) => ({
        source: c.reference,
        code,
        ...(c.recordedDate || c.onset ? { date: (c.recordedDate ?? c.onset)! } : {}),
      })),
  );
  const all: Evidence[] = [...fromFlag, ...fromRecord];
  const matching = all.filter((e) => criterion.codes.some((m) => codeMatches(m, e.code!)));
  if (matching.length > 0)
    return result(
      criterion,
      'met',
      `${[...new Set(matching.map((e) => e.code!.code))].join(', ')} is an indicated diagnosis`,
      matching,
    );
  if (all.length === 0)
    return result(criterion, 'unknown', 'neither the flag nor the record gives a diagnosis');
  return result(
    criterion,
    'not_met',
    `no diagnosis on the flag or on file (${[...new Set(all.map((e) => e.code!.code))].join(', ')}) is in the list`,
    all,
  );
}

function medicationMatches(criterion: PriorMedication, m: MedicationFacts): boolean {
  if (m.status === 'entered-in-error') return false;
  if (m.codes.some((c) => (criterion.codes ?? []).some((match) => codeMatches(match, c)))) return true;
  const texts = [m.text, ...m.codes.map((c) => c.display)]
    .filter((t): t is string => !!t)
    .map((t) => t.toLowerCase());
  return (criterion.names ?? []).some((name) => {
    const word = new RegExp(`\\b${name.toLowerCase().replace(/[^a-z0-9]/g, '\\$&')}\\b`);
    return texts.some((t) => word.test(t));
  });
}

function medicationEvidence(m: MedicationFacts): Evidence {
  const code = m.codes[0];
  return {
    source: m.reference,
    ...(code ? { code } : {}),
    ...(m.authoredOn ? { date: m.authoredOn } : {}),
    ...(m.status ? { value: m.status } : {}),
  };
}

function priorMedication(criterion: PriorMedication, input: EvaluationInput): CriterionResult {
  const history = input.context.medications;
  if (!history.available)
    return result(criterion, 'unknown', `the medication history could not be read: ${history.reason}`);
  const since = monthsBefore(input.at, criterion.withinMonths);
  const until = instant(input.at);
  const matching = history.items.filter((m) => medicationMatches(criterion, m));
  const within = matching.filter((m) => {
    const t = instant(m.authoredOn);
    return t >= since && t <= until;
  });
  if (within.length > 0)
    return result(
      criterion,
      'met',
      `prescribed within ${criterion.withinMonths} months before the flag (since ${day(since)})`,
      within.map(medicationEvidence),
    );
  const older = matching.filter((m) => instant(m.authoredOn) < since);
  return result(
    criterion,
    criterion.ifNoRecord ?? 'unknown',
    older.length > 0
      ? `on file only before ${day(since)}, outside the ${criterion.withinMonths}-month window`
      : `no such prescription on file since ${day(since)}`,
    older.map(medicationEvidence),
  );
}

const finalStatuses = new Set(['final', 'amended', 'corrected']);

function observation(criterion: Observation, input: EvaluationInput): CriterionResult {
  const results = input.context.observations;
  if (!results.available) return result(criterion, 'unknown', `results could not be read: ${results.reason}`);
  const since = monthsBefore(input.at, criterion.withinMonths);
  const until = instant(input.at);
  const candidates = results.items
    .filter(
      (o) =>
        finalStatuses.has(o.status ?? 'final') &&
        o.codes.some((c) => criterion.codes.some((m) => codeMatches(m, c))) &&
        instant(o.effective) >= since &&
        instant(o.effective) <= until,
    )
    // Latest first; ties by reference so the order never depends on the server's.
    .sort((a, b) => instant(b.effective) - instant(a.effective) || (a.reference < b.reference ? -1 : 1));
  const latest: ObservationFacts | undefined = candidates[0];
  if (!latest)
    return result(criterion, criterion.ifNoRecord ?? 'unknown', `no result on file since ${day(since)}`);
  const evidence: Evidence = {
    source: latest.reference,
    ...(latest.codes[0] ? { code: latest.codes[0] } : {}),
    ...(latest.effective ? { date: latest.effective } : {}),
    ...(latest.value !== undefined ? { value: latest.value } : {}),
  };
  const accepted = criterion.acceptInterpretations;
  if (!accepted)
    return result(criterion, 'met', `result on file from ${day(instant(latest.effective))}`, [evidence]);
  if (latest.interpretation.some((i) => accepted.includes(i)))
    return result(
      criterion,
      'met',
      `result from ${day(instant(latest.effective))} is ${latest.interpretation.join(', ')}`,
      [evidence],
    );
  if (latest.interpretation.length === 0)
    return result(
      criterion,
      'unknown',
      `the result from ${day(instant(latest.effective))} carries no interpretation`,
      [evidence],
    );
  return result(
    criterion,
    'not_met',
    `the latest result (${day(instant(latest.effective))}) is ${latest.interpretation.join(', ')}, not ${accepted.join(' or ')}`,
    [evidence],
  );
}

function prescriberSpecialty(criterion: PrescriberSpecialty, input: EvaluationInput): CriterionResult {
  const prescriber = input.context.prescriber;
  if (prescriber === null)
    return result(criterion, 'unknown', 'the pharmacy system knows no practitioner with this NPI');
  if ('available' in prescriber)
    return result(criterion, 'unknown', `the prescriber could not be read: ${prescriber.reason}`);
  const taxonomies = prescriber.taxonomies.filter((t) => t.system === NUCC);
  const evidence = taxonomies.map((code) => ({ source: prescriber.reference, code }));
  if (taxonomies.length === 0)
    return result(criterion, 'unknown', 'the prescriber’s record carries no specialty (NUCC taxonomy)');
  const matching = evidence.filter((e) => criterion.taxonomies.includes(e.code.code));
  if (matching.length > 0)
    return result(criterion, 'met', `prescriber specialty ${matching[0]!.code.code}`, matching);
  return result(
    criterion,
    'not_met',
    `prescriber specialty ${taxonomies.map((t) => t.code).join(', ')} is not ${criterion.taxonomies.join(' or ')}`,
    evidence,
  );
}

/** The checklist of `criteria` for a flag and the patient's record. */
export function evaluateCriteria(criteria: DrugCriteria, input: EvaluationInput): CriteriaChecklist {
  const items = criteria.criteria.map((criterion): CriterionResult => {
    if (criterion.kind === 'diagnosis') return diagnosis(criterion, input);
    if (criterion.kind === 'prior-medication') return priorMedication(criterion, input);
    if (criterion.kind === 'observation') return observation(criterion, input);
    return prescriberSpecialty(criterion, input);
  });
  const count = (status: CriterionResult['status']) => items.filter((i) => i.status === status).length;
  return {
    criteriaId: criteria.id,
    version: criteria.version,
    title: criteria.title,
    evaluatedAt: input.at,
    items,
    summary: { met: count('met'), notMet: count('not_met'), unknown: count('unknown') },
  };
}
