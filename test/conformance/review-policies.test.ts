/** Every review-policy case against its golden file: a missing golden fails (regenerate on purpose). */
import { existsSync, readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { evaluateReviewCase, reviewCases, reviewGoldenPath } from './review-policy-cases.ts';

describe('review policies: golden cases', () => {
  it('has cases', () => expect(reviewCases.length).toBeGreaterThanOrEqual(10));

  it.each(reviewCases)('%s', (name) => {
    const golden = reviewGoldenPath(name);
    expect(existsSync(golden), `${golden} is missing: run npm run gen:goldens:review and review it`).toBe(
      true,
    );
    expect(JSON.parse(JSON.stringify(evaluateReviewCase(name)))).toEqual(
      JSON.parse(readFileSync(golden, 'utf8')),
    );
  });
});
