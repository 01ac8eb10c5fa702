/**
 * Unknown criteria become a task, not a guess (issue #15 item 4): when a drafted pharmacy request reaches the
 * pharmacist's gate with criteria the record could not answer, a `criteria_unknown` task names each one — the
 * criterion, the evidence that would answer it, and why the record did not — and the pharmacist cannot approve
 * until it is resolved: by supplying the evidence (each unknown criterion then met or not met, with the evidence
 * and who supplied it, in the request's checklist) or by an override (the criteria stay unknown; the pharmacist's
 * reason is on the task and in the audit). Pure: src/exceptions opens the task and applies the resolution.
 */
import type { CriteriaChecklist, CriterionResult, Evidence } from '../../canonical/index.ts';
import type { Problem } from '../../errors/index.ts';
import { type NeededItem, planTask, type TaskContext, type TaskSpec } from '../tasks/tasks.ts';

/** The unknown criteria of a checklist, in checklist order. */
export function unknownCriteria(checklist: CriteriaChecklist | undefined): CriterionResult[] {
  return checklist ? checklist.items.filter((i) => i.status === 'unknown') : [];
}

/**
 * The `criteria_unknown` task for a checklist with unknown criteria (undefined when there are none): one needed
 * item per criterion — `code` the criterion id, `label` the evidence that would answer it (the criterion as the
 * payer states it), `source` why the pharmacy's record did not.
 */
export function unknownCriteriaTask(
  checklist: CriteriaChecklist | undefined,
  ctx: TaskContext,
): TaskSpec | undefined {
  const unknown = unknownCriteria(checklist);
  if (!checklist || unknown.length === 0) return undefined;
  const needed: NeededItem[] = unknown.map((item) => ({
    type: 'criterion' as const,
    label: item.description,
    code: item.id,
    system: `criteria:${checklist.criteriaId}`,
    source: item.reason,
  }));
  return planTask('criteria_unknown', ctx, {
    reasonCodes: ['CRITERIA_UNKNOWN', ...unknown.map((i) => `CRITERION:${i.id}`.slice(0, 64))],
    needed,
    details: { criteriaId: checklist.criteriaId, version: checklist.version },
  });
}

/** Evidence a pharmacist supplies for one unknown criterion. */
export interface SuppliedEvidence {
  readonly criterionId: string;
  /** What the evidence shows. */
  readonly status: 'met' | 'not_met';
  /** Where it is: a FHIR reference, a document id, `phone:payer`, `chart:…` (no free-text PHI). */
  readonly source: string;
  readonly date?: string;
  /** A result or status as recorded (negative …). */
  readonly value?: string;
}

const idPattern = /^[A-Za-z0-9._:-]{1,64}$/;
const sourcePattern = /^[A-Za-z0-9._:/|-]{1,200}$/;
const datePattern = /^\d{4}(-\d{2}(-\d{2})?)?$/;

/** Reads `evidence` from a task resolution body: a list of { criterionId, status, source, date?, value? }. */
export function readSuppliedEvidence(raw: unknown): { evidence?: SuppliedEvidence[]; problems: Problem[] } {
  if (!Array.isArray(raw) || raw.length === 0 || raw.length > 20)
    return {
      problems: [
        { location: 'evidence', message: 'must be a list of 1 to 20 { criterionId, status, source } items' },
      ],
    };
  const problems: Problem[] = [];
  const evidence: SuppliedEvidence[] = [];
  raw.forEach((item, i) => {
    const e = (typeof item === 'object' && item !== null ? item : {}) as Record<string, unknown>;
    const at = `evidence[${i}]`;
    if (typeof e.criterionId !== 'string' || !idPattern.test(e.criterionId))
      problems.push({ location: `${at}.criterionId`, message: 'must be a criterion id' });
    if (e.status !== 'met' && e.status !== 'not_met')
      problems.push({ location: `${at}.status`, message: 'must be met or not_met' });
    if (typeof e.source !== 'string' || !sourcePattern.test(e.source))
      problems.push({
        location: `${at}.source`,
        message: 'must say where the evidence is (a FHIR reference, document id …)',
      });
    if (e.date !== undefined && (typeof e.date !== 'string' || !datePattern.test(e.date)))
      problems.push({ location: `${at}.date`, message: 'must be a date (YYYY-MM-DD)' });
    if (e.value !== undefined && (typeof e.value !== 'string' || e.value.length > 64))
      problems.push({ location: `${at}.value`, message: 'must be a short result (at most 64 characters)' });
    if (problems.length === 0)
      evidence.push({
        criterionId: e.criterionId as string,
        status: e.status as 'met' | 'not_met',
        source: e.source as string,
        ...(typeof e.date === 'string' ? { date: e.date } : {}),
        ...(typeof e.value === 'string' ? { value: e.value } : {}),
      });
  });
  return problems.length ? { problems } : { evidence, problems };
}

export type EvidenceResult =
  | { readonly ok: true; readonly checklist: CriteriaChecklist; readonly answered: readonly string[] }
  | { readonly ok: false; readonly problems: Problem[] };

/**
 * The checklist with the supplied evidence applied: each criterion in `required` (the task's) answered once, each
 * still unknown in the checklist. The item keeps its description; its status, reason (who answered it) and
 * evidence change; the summary is counted again.
 */
export function applySuppliedEvidence(
  checklist: CriteriaChecklist,
  required: readonly string[],
  supplied: readonly SuppliedEvidence[],
  by: string,
): EvidenceResult {
  const problems: Problem[] = [];
  const byId = new Map<string, SuppliedEvidence>();
  supplied.forEach((e, i) => {
    if (!required.includes(e.criterionId))
      problems.push({
        location: `evidence[${i}].criterionId`,
        message: `is not one of this task's unknown criteria (${required.join(', ')})`,
      });
    else if (byId.has(e.criterionId))
      problems.push({ location: `evidence[${i}].criterionId`, message: 'is answered twice' });
    else byId.set(e.criterionId, e);
  });
  for (const id of required)
    if (!byId.has(id))
      problems.push({ location: 'evidence', message: `criterion ${id} is not answered (or override it)` });
  if (problems.length) return { ok: false, problems };
  const items = checklist.items.map((item): CriterionResult => {
    const e = byId.get(item.id);
    if (!e || item.status !== 'unknown') return item;
    const fact: Evidence = {
      source: e.source,
      ...(e.date ? { date: e.date } : {}),
      ...(e.value ? { value: e.value } : {}),
    };
    return {
      ...item,
      status: e.status,
      reason: `${e.status === 'met' ? 'met' : 'not met'} on evidence supplied by ${by} (the record did not say: ${item.reason})`,
      evidence: [...item.evidence, fact],
    };
  });
  const count = (s: CriterionResult['status']) => items.filter((i) => i.status === s).length;
  return {
    ok: true,
    checklist: {
      ...checklist,
      items,
      summary: { met: count('met'), notMet: count('not_met'), unknown: count('unknown') },
    },
    answered: [...byId.keys()],
  };
}
