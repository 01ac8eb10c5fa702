/**
 * Drafting is the contract (issue #15): for every golden case, the same flag and record give exactly the draft and
 * checklist on file — met / not met / unknown with their evidence. A missing golden fails (write it on purpose with
 * `npm run gen:goldens:pharmacy` and read the diff). The drafts are valid canonical requests.
 */
import { existsSync, readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { checkAuthorizationRequest } from '../../src/canonical/index.ts';
import { draftCase, draftCases, draftGoldenPath } from './pharmacy-draft-cases.ts';

describe('pharmacy drafting goldens', () => {
  it('has cases', () => {
    expect(draftCases.length).toBeGreaterThanOrEqual(8);
  });

  it.each(draftCases)('%s drafts as its golden says', (name) => {
    const golden = draftGoldenPath(name);
    expect(existsSync(golden), `${golden} is missing: run npm run gen:goldens:pharmacy and review it`).toBe(
      true,
    );
    const outcome = draftCase(name) as { kind: string; request?: unknown };
    expect(outcome).toEqual(JSON.parse(readFileSync(golden, 'utf8')));
    if (outcome.kind === 'draft')
      expect(checkAuthorizationRequest(outcome.request)).toMatchObject({ ok: true });
  });

  it('is deterministic: drafting twice gives byte-identical output', () => {
    for (const name of draftCases)
      expect(JSON.stringify(draftCase(name))).toBe(JSON.stringify(draftCase(name)));
  });
});
