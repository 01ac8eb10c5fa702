/**
 * The review policies of every clinic, and the code tables they derive facts from, validated against
 * schemas/review-policies.json and schemas/review-code-table.json. Pure: the adapter that reads the files
 * (src/wiring/review-policies.ts) passes the documents in. A bad file stops the gateway with every problem named.
 */
import codeTableSchema from '../../../schemas/review-code-table.json' with { type: 'json' };
import policySchema from '../../../schemas/review-policies.json' with { type: 'json' };
import { ajvErrorsToProblems, createAjv } from '../../canonical/schema-validator.ts';
import { ConfigError, type Problem } from '../../errors/index.ts';
import type { ReviewTables } from './facts.ts';
import type { ReviewCodeTable, ReviewPolicyFile } from './types.generated.ts';

const ajv = createAjv([policySchema, codeTableSchema], { useDefaults: true });
const validatePolicies = ajv.getSchema(policySchema.$id)!;
const validateTable = ajv.getSchema(codeTableSchema.$id)!;

export interface ReviewPolicyDirectory {
  readonly tables: ReviewTables;
  /** The clinic's policies, or undefined (no file: auto, and only the payer's rule stops a case). */
  policiesFor(tenant: string): ReviewPolicyFile | undefined;
}

export interface ReviewDocument {
  /** The file name, e.g. `clinic-a.json` or `tables/drug-classes.json`. */
  readonly source: string;
  readonly document: unknown;
}

const tableKeys: Record<ReviewCodeTable['id'], keyof ReviewTables> = {
  'drug-classes': 'drugClasses',
  'service-categories': 'serviceCategories',
  'sites-of-care': 'sitesOfCare',
};

export function createReviewPolicyDirectory(input: {
  policies: readonly ReviewDocument[];
  tables: readonly ReviewDocument[];
}): ReviewPolicyDirectory {
  const problems: Problem[] = [];
  const byTenant = new Map<string, ReviewPolicyFile>();
  const tables: Record<string, ReviewCodeTable> = {};
  for (const { source, document } of input.tables) {
    const copy = structuredClone(document);
    if (!validateTable(copy)) {
      for (const p of ajvErrorsToProblems(validateTable.errors))
        problems.push({ location: `${source}: ${p.location}`, message: p.message });
      continue;
    }
    const table = copy as ReviewCodeTable;
    tables[tableKeys[table.id]] = table;
  }
  for (const { source, document } of input.policies) {
    const copy = structuredClone(document);
    if (!validatePolicies(copy)) {
      for (const p of ajvErrorsToProblems(validatePolicies.errors))
        problems.push({ location: `${source}: ${p.location}`, message: p.message });
      continue;
    }
    const file = copy as ReviewPolicyFile;
    if (source !== `${file.tenant}.json`)
      problems.push({
        location: `${source}: $.tenant`,
        message: `must match the file name (${file.tenant}.json)`,
      });
    const ids = new Set<string>();
    file.policies.forEach((policy, i) => {
      if (ids.has(policy.id))
        problems.push({
          location: `${source}: $.policies[${i}].id`,
          message: `policy id ${policy.id} repeats`,
        });
      ids.add(policy.id);
      policy.when.forEach((c, j) => {
        const at = `${source}: $.policies[${i}].when[${j}]`;
        if (c.operator === 'regex') {
          try {
            new RegExp(String(c.value));
          } catch {
            problems.push({ location: `${at}.value`, message: 'is not a valid regular expression' });
          }
        }
        if ((c.operator === 'greater_than' || c.operator === 'less_than') && typeof c.value !== 'number')
          problems.push({ location: `${at}.value`, message: `${c.operator} needs a number` });
        if (c.operator === 'in' && !Array.isArray(c.value))
          problems.push({ location: `${at}.value`, message: 'in needs a list' });
      });
    });
    byTenant.set(file.tenant, file);
  }
  if (problems.length > 0) {
    throw new ConfigError(
      'PAGW_REVIEW_POLICY_INVALID',
      `Review policy files are invalid: ${problems
        .slice(0, 5)
        .map((p) => `${p.location}: ${p.message}`)
        .join('; ')}`,
      { problems },
    );
  }
  return { tables, policiesFor: (tenant) => byTenant.get(tenant) };
}
