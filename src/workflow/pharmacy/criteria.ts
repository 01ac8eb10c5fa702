/**
 * Drug criteria as data (criteria/*.json, schemas/drug-criteria.json), validated and indexed by drug. Pure: the
 * adapter that reads the files (src/wiring/pharmacy.ts) passes them in. `select` picks the criteria a flag is
 * drafted against: those for its NDC (and payer) whose indication covers the primary diagnosis, else any of its
 * diagnoses, else the first for the drug (its diagnosis criterion then says not met) — deterministic, file order
 * by id.
 */
import criteriaSchema from '../../../schemas/drug-criteria.json' with { type: 'json' };
import { ajvErrorsToProblems, createAjv } from '../../canonical/schema-validator.ts';
import { GatewayError, type Problem } from '../../errors/index.ts';
import { codeSystemUri } from '../rules/evaluate.ts';
import type { CodeMatch, DrugCriteria } from './types.generated.ts';

export interface CriteriaDocument {
  readonly source: string;
  readonly document: unknown;
}

export interface CriteriaDirectory {
  readonly all: readonly DrugCriteria[];
  byId(id: string): DrugCriteria | undefined;
  /** The criteria a flag is drafted against, or undefined when none are on file for the drug and payer. */
  select(input: { ndc: string; payerId?: string; diagnoses: readonly string[] }): DrugCriteria | undefined;
}

/** Whether a coding matches a criteria code (exact, or a family by prefix; case-insensitive). */
export function codeMatches(match: CodeMatch, coding: { system: string; code: string }): boolean {
  if (codeSystemUri(match.system) !== coding.system) return false;
  const code = coding.code.toUpperCase();
  if (match.code !== undefined) return match.code.toUpperCase() === code;
  return match.prefix !== undefined && code.startsWith(match.prefix.toUpperCase());
}

const ICD10CM = 'http://hl7.org/fhir/sid/icd-10-cm';

export function createCriteriaDirectory(documents: readonly CriteriaDocument[]): CriteriaDirectory {
  const ajv = createAjv([criteriaSchema], { useDefaults: true });
  const validate = ajv.getSchema(criteriaSchema.$id)!;
  const problems: Problem[] = [];
  const all: DrugCriteria[] = [];
  for (const { source, document } of documents) {
    const copy = structuredClone(document);
    if (!validate(copy)) {
      for (const p of ajvErrorsToProblems(validate.errors))
        problems.push({ location: `${source}: ${p.location}`, message: p.message });
      continue;
    }
    const criteria = copy as DrugCriteria;
    if (source.endsWith('.json') && !source.endsWith(`${criteria.id}.json`))
      problems.push({ location: `${source}: $.id`, message: `the file should be named ${criteria.id}.json` });
    if (all.some((c) => c.id === criteria.id))
      problems.push({ location: `${source}: $.id`, message: `${criteria.id} is defined twice` });
    const ids = new Set<string>();
    criteria.criteria.forEach((criterion, i) => {
      const where = `${source}: $.criteria[${i}]`;
      if (ids.has(criterion.id)) problems.push({ location: `${where}.id`, message: 'ids must differ' });
      ids.add(criterion.id);
      const codes = 'codes' in criterion ? (criterion.codes ?? []) : [];
      codes.forEach((code, c) => {
        if ((code.code === undefined) === (code.prefix === undefined))
          problems.push({
            location: `${where}.codes[${c}]`,
            message: 'needs `code` or `prefix`, one of them',
          });
      });
      if (criterion.kind === 'prior-medication' && !criterion.codes?.length && !criterion.names?.length)
        problems.push({ location: where, message: 'needs `codes` or `names`' });
    });
    all.push(criteria);
  }
  if (problems.length > 0)
    throw new GatewayError(
      'PAGW_PHARMACY_CRITERIA_INVALID',
      `Invalid drug criteria: ${problems
        .slice(0, 5)
        .map((p) => `${p.location}: ${p.message}`)
        .join('; ')}`,
      { problems },
    );
  all.sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
  const byId = new Map(all.map((c) => [c.id, c]));
  const covers = (criteria: DrugCriteria, diagnosis: string) =>
    criteria.criteria.some(
      (c) =>
        c.kind === 'diagnosis' && c.codes.some((m) => codeMatches(m, { system: ICD10CM, code: diagnosis })),
    );
  return {
    all,
    byId: (id) => byId.get(id),
    select({ ndc, payerId, diagnoses }) {
      const candidates = all.filter(
        (c) =>
          c.drugs.some((d) => d.ndc === ndc) &&
          (!c.payers || (payerId !== undefined && c.payers.includes(payerId))),
      );
      const primary = diagnoses[0];
      return (
        (primary ? candidates.find((c) => covers(c, primary)) : undefined) ??
        candidates.find((c) => diagnoses.some((d) => covers(c, d))) ??
        candidates[0]
      );
    },
  };
}
