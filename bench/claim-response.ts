/**
 * bench/claim-response: the PAS ClaimResponse every decided case emits, built and checked per second on one core,
 * with ratios to baselines measured in the same run:
 * - build + check (buildClaimResponse: the builder, @medplum/core's R4 validation and the PAS profile walk);
 * - the PAS profile walk alone (src/profiles/walker.ts), against @medplum/core's `validateResource` of the same
 *   resource ("R4 base alone", a library's validator over the same tree).
 *
 *   npx tsx bench/claim-response.ts [--seconds 3]
 *
 * Inputs are the decision scenarios of the outbound golden tests (test/fixtures/outbound/scenarios.ts).
 */
import { parseArgs } from 'node:util';
import { validateResource } from '@medplum/core';
import type { ClaimResponse } from '@medplum/fhirtypes';
import { buildClaimResponse } from '../src/outbound/index.ts';
import { PasProfile, validateProfile } from '../src/profiles/index.ts';
import { checkAgainstProfile, newContext } from '../src/profiles/walker.ts';
import { at, decisionScenarios, payer, tenant } from '../test/fixtures/outbound/scenarios.ts';

const { values } = parseArgs({ options: { seconds: { type: 'string', default: '3' } } });
const seconds = Number(values.seconds);

const inputs = decisionScenarios.map((s) => ({ caseRecord: s.caseRecord, tenant, payer, at }));
const resources: ClaimResponse[] = inputs.map((i) => buildClaimResponse(i));

/** Calls `work` round-robin over `count` inputs for about `seconds`; returns calls per second. */
function perSecond(count: number, work: (i: number) => void): number {
  for (let i = 0; i < 200; i++) work(i % count); // warm-up: JIT and the definitions' first indexing
  let calls = 0;
  const start = performance.now();
  const deadline = start + seconds * 1000;
  while (performance.now() < deadline) {
    for (let k = 0; k < 20; k++) work((calls + k) % count);
    calls += 20;
  }
  return calls / ((performance.now() - start) / 1000);
}

const walk = (r: ClaimResponse) => {
  const ctx = newContext(r as unknown as Record<string, unknown>);
  checkAgainstProfile(r, PasProfile.claimResponse, r.resourceType, ctx);
  if (ctx.issues.some((i) => i.severity === 'error')) throw new Error('a scenario fails the profile');
};

const built = perSecond(inputs.length, (i) => buildClaimResponse(inputs[i]!));
const checked = perSecond(resources.length, (i) => validateProfile(resources[i]!, PasProfile.claimResponse));
const walked = perSecond(resources.length, (i) => walk(resources[i]!));
const base = perSecond(resources.length, (i) => validateResource(resources[i]!));

const row = (label: string, rate: number) =>
  `  ${label.padEnd(44)} ${rate.toFixed(0).padStart(7)}/s  ${(1000 / rate).toFixed(3)} ms  ${(rate / base).toFixed(2)}× R4 base alone`;
console.log(`== bench:claim-response  ${resources.length} scenarios, ${seconds} s each, one core`);
console.log(row('build + check (buildClaimResponse)', built));
console.log(row('check (validateProfile: R4 base + PAS walk)', checked));
console.log(row('PAS profile walk alone', walked));
console.log(row('R4 base alone (@medplum/core validateResource)', base));
