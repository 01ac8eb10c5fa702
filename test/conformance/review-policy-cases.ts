/**
 * Review-policy golden cases (test/fixtures/review/<case>.case.json): a request (merged onto the canonical
 * sample), evaluated against the payer directory (payers/) and the review policies (review-policies/) shipped
 * with the gateway, at a fixed time. The golden (<case>.expected.json) holds the derived facts, the rollout mode,
 * the gate (or none) and the submission key. `npm run gen:goldens:review` rewrites them on purpose.
 */
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { loadPayerDirectory } from '../../connectors/payer-directory.ts';
import { x12PayerTarget } from '../../connectors/x12/connector.ts';
import type { AuthorizationRequest } from '../../src/canonical/index.ts';
import { loadReviewPolicies } from '../../src/wiring/review-policies.ts';
import { deriveFacts } from '../../src/workflow/review/facts.ts';
import { planGate, rolloutModeFor } from '../../src/workflow/review/policies.ts';
import { submissionKeyFor } from '../../src/workflow/review/submission-key.ts';
import { routeRequest } from '../../src/workflow/routing.ts';

const repoRoot = path.resolve(import.meta.dirname, '../..');
export const reviewFixturesDir = path.join(repoRoot, 'test/fixtures/review');
const at = new Date('2026-03-01T10:00:00Z');

export const reviewCases = readdirSync(reviewFixturesDir)
  .filter((f) => f.endsWith('.case.json'))
  .sort()
  .map((f) => f.replace(/\.case\.json$/, ''));

export function reviewGoldenPath(name: string): string {
  return path.join(reviewFixturesDir, `${name}.expected.json`);
}

const payers = loadPayerDirectory(path.join(repoRoot, 'payers'));
const policies = loadReviewPolicies(path.join(repoRoot, 'review-policies'));
const sample = JSON.parse(
  readFileSync(path.join(repoRoot, 'test/fixtures/canonical/authorization-request.valid.json'), 'utf8'),
) as AuthorizationRequest;

/** What the gateway decides for a case file, as the golden records it. */
export function evaluateReviewCase(name: string): unknown {
  const input = JSON.parse(readFileSync(path.join(reviewFixturesDir, `${name}.case.json`), 'utf8')) as {
    request: Partial<AuthorizationRequest>;
    draftConfidence?: number;
  };
  const request = { ...sample, ...input.request } as AuthorizationRequest;
  const routing = routeRequest(request, { directory: payers, targets: { x12: x12PayerTarget } }, at);
  if (routing.kind !== 'routed') return { routing: routing.kind };
  const facts = deriveFacts({
    request,
    tables: policies.tables,
    payerId: routing.payer.id,
    ruleVersion: routing.ruleVersion,
    ...(routing.estimatedCost ? { estimatedCost: routing.estimatedCost.amount } : {}),
    ...(input.draftConfidence !== undefined ? { draftConfidence: input.draftConfidence } : {}),
  });
  const key = submissionKeyFor(request, routing.payer.id);
  const file = policies.policiesFor(request.tenant);
  const gate = planGate({
    policies: file,
    facts,
    payerRuleReview: routing.reviewRequired,
    ...(routing.ruleId ? { payerRuleId: routing.ruleId } : {}),
    submissionKey: key,
    at,
  });
  return {
    payerRule: {
      paRequired: routing.paRequired,
      reviewRequired: routing.reviewRequired,
      ruleId: routing.ruleId,
    },
    facts,
    rolloutMode: rolloutModeFor(file, facts),
    submissionKey: key,
    gate: gate && { ...gate, facts: undefined, expiresAt: gate.expiresAt?.toISOString() ?? null },
  };
}
