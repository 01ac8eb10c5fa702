/**
 * Rewrites the drafting goldens (test/fixtures/pharmacy/drafts/<case>.expected.json) from what drafting decides
 * now. Run it on purpose after changing criteria or the evaluator, then review the diff:
 *   npm run gen:goldens:pharmacy
 */
import { readFile, writeFile } from 'node:fs/promises';
import { draftCase, draftCases, draftGoldenPath } from '../test/conformance/pharmacy-draft-cases.ts';

let written = 0;
for (const name of draftCases) {
  const text = `${JSON.stringify(draftCase(name), null, 2)}\n`;
  const target = draftGoldenPath(name);
  const before = await readFile(target, 'utf8').catch(() => undefined);
  if (before === text) continue;
  await writeFile(target, text);
  written++;
  console.log(`${before === undefined ? 'created' : 'updated'} ${target}`);
}
console.log(`${written} golden file(s) written`);
