/**
 * Rewrites the review-policy goldens (test/fixtures/review/<case>.expected.json) from what the policies decide
 * now. Run it on purpose after changing a policy, table or fee schedule, then review the diff:
 *   npm run gen:goldens:review
 */
import { readFile, writeFile } from 'node:fs/promises';
import {
  evaluateReviewCase,
  reviewCases,
  reviewGoldenPath,
} from '../test/conformance/review-policy-cases.ts';

let written = 0;
for (const name of reviewCases) {
  const text = `${JSON.stringify(evaluateReviewCase(name), null, 2)}\n`;
  const target = reviewGoldenPath(name);
  const before = await readFile(target, 'utf8').catch(() => undefined);
  if (before === text) continue;
  await writeFile(target, text);
  written++;
  console.log(`${before === undefined ? 'created' : 'updated'} ${target}`);
}
console.log(`${written} golden file(s) written`);
