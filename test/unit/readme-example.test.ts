/**
 * README's by-hand example (issue #10 item 14) sends docs/examples/orm-mri-brain-needs-pa.hl7 and says the case
 * goes to the payer: it maps to one request, the shipped payer directory routes it to Example Health Plan over
 * X12 with an eligibility check first, and the PA rule in effect requires prior authorization. (The full run
 * against the simulated clearinghouse is what the README describes; test/e2e covers that path.)
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { loadPayerDirectory } from '../../connectors/payer-directory.ts';
import { x12PayerTarget } from '../../connectors/x12/connector.ts';
import { mapOrder } from '../../src/mapping/index.ts';
import { routeRequest } from '../../src/workflow/routing.ts';
import { repoRoot } from '../helpers/cli.ts';

const example = path.join(repoRoot, 'docs', 'examples', 'orm-mri-brain-needs-pa.hl7');

describe("README's by-hand example order", () => {
  it('is the file the README posts', () => {
    const readme = readFileSync(path.join(repoRoot, 'README.md'), 'utf8');
    expect(readme).toContain('--data-binary @docs/examples/orm-mri-brain-needs-pa.hl7');
  });

  it('needs prior authorization: routed to Example Health Plan over X12, eligibility first, rule advanced-imaging', () => {
    const outcome = mapOrder({
      raw: readFileSync(example),
      tenant: 'clinic-a',
      sender: 'readme',
      format: 'hl7v2',
    });
    if (!outcome.ok) throw new Error(outcome.error.message);
    expect(outcome.requests).toHaveLength(1);
    const routing = routeRequest(
      outcome.requests[0]!,
      { directory: loadPayerDirectory(), targets: { x12: x12PayerTarget } },
      new Date('2026-11-30T12:00:00Z'),
    );
    expect(routing).toMatchObject({
      kind: 'routed',
      channel: 'x12',
      checkEligibility: true,
      paRequired: true,
      reviewRequired: false,
      ruleVersion: 'example-health-plan@2026.1',
      ruleId: 'advanced-imaging',
    });
  });
});
