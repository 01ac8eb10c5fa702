/**
 * Rewrites the golden files of the inbound mapping fixtures (test/fixtures/<format>/<case>.expected.json)
 * from what the mapper produces now. Run it on purpose after changing a mapping, then review the diff:
 *   npx tsx scripts/regenerate-goldens.ts            every case
 *   npx tsx scripts/regenerate-goldens.ts MDHHS pas  only cases whose file name contains one of the words
 * The conformance test never writes goldens: a missing one fails it.
 */
import { readFile, writeFile } from 'node:fs/promises';
import { mapOrder } from '../src/mapping/index.ts';
import {
  caseInput,
  goldenOf,
  goldenPath,
  mappingCases,
  readFixture,
} from '../test/conformance/mapping-cases.ts';

const filters = process.argv.slice(2);
let written = 0;
for (const testCase of mappingCases) {
  if (filters.length > 0 && !filters.some((f) => testCase.file.includes(f))) continue;
  const outcome = mapOrder({ ...caseInput, raw: readFixture(testCase.file), profile: testCase.profile });
  const text = `${JSON.stringify(goldenOf(outcome), null, 2)}\n`;
  const target = goldenPath(testCase.file);
  const before = await readFile(target, 'utf8').catch(() => undefined);
  if (before === text) continue;
  await writeFile(target, text);
  written++;
  console.log(`${before === undefined ? 'created' : 'updated'} ${target}`);
}
console.log(`${written} golden file(s) written`);
