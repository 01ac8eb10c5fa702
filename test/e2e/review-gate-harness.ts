/**
 * Shared wiring of the review gate end-to-end tests (review-gate-approvals.test.ts, review-gate-submit.test.ts):
 * a real gateway (HTTP API, step worker, timer worker) on the test file's database, the simulated clearinghouse as a
 * separate process, API tokens for two utilization reviewers and a medical director, and the helpers that post
 * orders the way an EHR posts them, read cases and the review queue, send reviewers' decisions and list the 278s
 * the payer actually received.
 *
 * Each test file calls startReviewGate() inside its describe and so gets a gateway and a sim of its own. The
 * exported `gw`, `sim` and tokens are bound by its beforeAll: read them inside tests only.
 */
import { afterAll, beforeAll, expect } from 'vitest';
import { OffsetClock } from '../../src/clock.ts';
import { type ApiRole, createApiToken } from '../../src/store/index.ts';
import { traceNumberFor } from '../../src/workflow/case-workflow.ts';
import { startTestGateway, type TestGateway } from '../helpers/gateway.ts';
import { buildOrmOrder, type OrmOrderOptions } from '../helpers/hl7-orders.ts';
import { readJson } from '../helpers/http.ts';
import { waitFor } from '../helpers/store.ts';
import { type SimProcess, startClearinghouseSim } from '../sim/clearinghouse/process.ts';

export let sim: SimProcess;
export let gw: TestGateway;
export let reviewer: string;
export let reviewer2: string;
export let director: string;
/** The gateway's clock: tests that move it days ahead run last in their file. */
export const clock = new OffsetClock();
let n = 0;

/** Starts the sim and the gateway before the file's tests and stops them after. Call inside the describe. */
export function startReviewGate(): void {
  beforeAll(async () => {
    sim = await startClearinghouseSim({ slowMs: 200 });
    gw = await startTestGateway({
      clock,
      env: { CLEARINGHOUSE_ENDPOINTS: `pagw-sim=${sim.endpoint}`, STEP_LEASE_MS: '20000' },
    });
    const token = async (roles: ApiRole[], userId: string, npi?: string) =>
      (await createApiToken(gw.gateway.db.pool, { tenant: 'clinic-a', roles, userId, npi, at: new Date() }))
        .token;
    reviewer = await token(['utilization_reviewer'], 'ur.nurse@goodhealth.example.org');
    reviewer2 = await token(['utilization_reviewer'], 'ur.second@goodhealth.example.org');
    director = await token(['medical_director'], 'dr.house@goodhealth.example.org', '1245319599');
  });
  afterAll(async () => {
    await gw?.stop();
    await sim?.stop();
  });
}

export const as = (token: string) => ({
  authorization: `Bearer ${token}`,
  'content-type': 'application/json',
});

export async function order(options: Partial<OrmOrderOptions> & { memberId: string }): Promise<string> {
  n++;
  const res = await gw.postHl7(
    buildOrmOrder({ messageId: `REV-${Date.now()}-${n}`, cpt: '22612', ...options }),
  );
  expect(res.status).toBe(201);
  return (await readJson(res)).caseIds[0];
}

// biome-ignore lint/suspicious/noExplicitAny: a case as the API returns it, navigated by assertions
export async function caseWhen(id: string, done: (c: any) => boolean) {
  return waitFor(
    async () => {
      const c = await readJson(await gw.get(`/cases/${id}`));
      return done(c) ? c : undefined;
    },
    { timeoutMs: 60_000, what: `case ${id}` },
  );
}

export async function queueItem(id: string, token = reviewer) {
  const queue = await readJson(await fetch(`${gw.gateway.url}/review/queue`, { headers: as(token) }));
  return queue.items.find((item: { id: string }) => item.id === id);
}

export const review = (id: string, token: string, body: Record<string, unknown>) =>
  fetch(`${gw.gateway.url}/cases/${id}/review`, {
    method: 'POST',
    headers: as(token),
    body: JSON.stringify(body),
  });

export const submissionsTo = async (caseId: string) =>
  (await sim.received()).filter((r) => r.kind === '278-request' && r.traceNumber === traceNumberFor(caseId));

/** J0135 (a biologic, $4,200 for two units): the policy asks for a medical director. */
export const biologic = (memberId: string, extra: Partial<OrmOrderOptions> = {}) =>
  order({
    memberId,
    cpt: 'J0135',
    codingSystem: 'HCPCS',
    cptText: 'Injection, adalimumab, 20 mg',
    quantity: 2,
    diagnosis: { code: 'L40.54', text: 'Psoriatic juvenile arthropathy' },
    ...extra,
  });
