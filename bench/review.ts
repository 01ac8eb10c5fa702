/**
 * bench/review: what the review gate adds to a case's eligibility step, on one core, as a ratio to the routing
 * the step does anyway (payer directory + PA rules + fee schedule, routeRequest) measured in the same run:
 * - gate decision: routing + derived facts (code tables) + the clinic's policies (planGate) + the submission key;
 * - submission key alone (the submit step recomputes it before every send).
 *
 *   npm run bench:review [-- --seconds 3]
 *
 * Inputs: the review golden cases (test/fixtures/review/), the repo's payers/ and review-policies/.
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { loadPayerDirectory } from '../connectors/payer-directory.ts';
import { x12PayerTarget } from '../connectors/x12/connector.ts';
import type { AuthorizationRequest } from '../src/canonical/index.ts';
import { loadReviewPolicies } from '../src/wiring/review-policies.ts';
import { deriveFacts } from '../src/workflow/review/facts.ts';
import { planGate } from '../src/workflow/review/policies.ts';
import { submissionKeyFor } from '../src/workflow/review/submission-key.ts';
import { routeRequest } from '../src/workflow/routing.ts';
import { reviewCases, reviewFixturesDir } from '../test/conformance/review-policy-cases.ts';

const { values } = parseArgs({ options: { seconds: { type: 'string', default: '3' } } });
const seconds = Number(values.seconds);
const root = path.resolve(import.meta.dirname, '..');
const payers = loadPayerDirectory(path.join(root, 'payers'));
const policies = loadReviewPolicies(path.join(root, 'review-policies'));
const sample = JSON.parse(
  readFileSync(path.join(root, 'test/fixtures/canonical/authorization-request.valid.json'), 'utf8'),
) as AuthorizationRequest;
const requests = reviewCases.map(
  (name) =>
    ({
      ...sample,
      ...JSON.parse(readFileSync(path.join(reviewFixturesDir, `${name}.case.json`), 'utf8')).request,
    }) as AuthorizationRequest,
);
const at = new Date('2026-03-01T10:00:00Z');
const targets = { x12: x12PayerTarget };

function measure(work: (request: AuthorizationRequest) => unknown): number {
  const end = performance.now() + seconds * 1000;
  let n = 0;
  while (performance.now() < end) {
    for (let i = 0; i < 100; i++) work(requests[(n + i) % requests.length]!);
    n += 100;
  }
  return n / seconds;
}

const route = (r: AuthorizationRequest) => routeRequest(r, { directory: payers, targets }, at);
const gate = (r: AuthorizationRequest) => {
  const routing = route(r);
  if (routing.kind !== 'routed') return null;
  const key = submissionKeyFor(r, routing.payer.id);
  return planGate({
    policies: policies.policiesFor(r.tenant),
    facts: deriveFacts({
      request: r,
      tables: policies.tables,
      payerId: routing.payer.id,
      ruleVersion: routing.ruleVersion,
      ...(routing.estimatedCost ? { estimatedCost: routing.estimatedCost.amount } : {}),
    }),
    payerRuleReview: routing.reviewRequired,
    submissionKey: key,
    at,
  });
};

measure(gate); // warm up
const baseline = measure(route);
const withGate = measure(gate);
const keyOnly = measure((r) => submissionKeyFor(r, 'example-health-plan'));
const fmt = (n: number) => `${Math.round(n).toLocaleString('en-US')}/s`.padStart(12);
console.log(`review gate, ${requests.length} request shapes, ${seconds} s each, one core`);
console.log(`  routing alone (baseline)            ${fmt(baseline)}   ${(1e6 / baseline).toFixed(1)} µs`);
console.log(
  `  routing + facts + policies + key    ${fmt(withGate)}   ${(1e6 / withGate).toFixed(1)} µs   ×${(baseline / withGate).toFixed(2)} the baseline's time`,
);
console.log(`  submission key alone                ${fmt(keyOnly)}   ${(1e6 / keyOnly).toFixed(1)} µs`);
console.log(
  `  load average ${(await import('node:os'))
    .loadavg()
    .map((l) => l.toFixed(2))
    .join(' ')}`,
);
