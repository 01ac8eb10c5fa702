/**
 * Reads review-policies/<tenant>.json and review-policies/tables/*.json once at start-up (an adapter: it
 * touches the file system) into the pure ReviewPolicyDirectory. A missing folder means no policies: every clinic
 * is in `auto` mode and only the payers' rules stop a case for review.
 */
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { ConfigError } from '../errors/index.ts';
import {
  createReviewPolicyDirectory,
  type ReviewDocument,
  type ReviewPolicyDirectory,
} from '../workflow/review/policy-directory.ts';

function readJsonFiles(dir: string, prefix = ''): ReviewDocument[] {
  if (!existsSync(dir)) return [];
  return readdirSync(dir)
    .filter((f) => f.endsWith('.json'))
    .sort()
    .map((file) => {
      const location = path.join(dir, file);
      try {
        return { source: `${prefix}${file}`, document: JSON.parse(readFileSync(location, 'utf8')) };
      } catch (error) {
        throw new ConfigError('PAGW_REVIEW_POLICY_INVALID', `${location} is not readable JSON`, {
          cause: error,
        });
      }
    });
}

export function loadReviewPolicies(dir: string): ReviewPolicyDirectory {
  return createReviewPolicyDirectory({
    policies: readJsonFiles(dir),
    tables: readJsonFiles(path.join(dir, 'tables'), 'tables/'),
  });
}
