/**
 * Drafting golden cases (test/fixtures/pharmacy/drafts/<case>.case.json): a PA flag and the patient's record as
 * the pharmacy system gave it, drafted against the criteria shipped in criteria/. The golden
 * (<case>.expected.json) holds the whole outcome: the draft request with its checklist, or needs_info with each
 * missing fact. `npm run gen:goldens:pharmacy` rewrites them on purpose.
 */
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import type { PaFlag } from '../../src/mapping/pharmacy/flag.ts';
import { loadCriteriaDirectory } from '../../src/wiring/criteria.ts';
import { draftRequest } from '../../src/workflow/pharmacy/draft.ts';
import type { PatientContext } from '../../src/workflow/ports/patient-context.ts';

const repoRoot = path.resolve(import.meta.dirname, '../..');
export const draftFixturesDir = path.join(repoRoot, 'test/fixtures/pharmacy/drafts');

export const draftCases = readdirSync(draftFixturesDir)
  .filter((f) => f.endsWith('.case.json'))
  .sort()
  .map((f) => f.replace(/\.case\.json$/, ''));

export function draftGoldenPath(name: string): string {
  return path.join(draftFixturesDir, `${name}.expected.json`);
}

const criteria = loadCriteriaDirectory(path.join(repoRoot, 'criteria'));

/** What drafting makes of a case file, as the golden records it. */
export function draftCase(name: string): unknown {
  const input = JSON.parse(readFileSync(path.join(draftFixturesDir, `${name}.case.json`), 'utf8')) as {
    flag: PaFlag;
    context: PatientContext;
  };
  return draftRequest({
    tenant: 'pharmacy-a',
    sender: { id: 'pioneerrx-demo', patientIdentifierSystem: 'urn:pagw:pharmacy-a:pioneerrx-demo:patient' },
    flag: input.flag,
    context: input.context,
    criteria,
    payerId: 'example-pbm',
    receivedAt: input.flag.occurredAt,
  });
}
