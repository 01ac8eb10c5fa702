/**
 * End to end over X12: an HL7 v2 order posted the way an EHR posts it, through routing, PA rules, a 270/271
 * eligibility check and a 278 at the simulated clearinghouse (a separate process), to the case's end state —
 * for each scripted payer behaviour, counting what the payer actually received.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { OffsetClock } from '../../src/clock.ts';
import { traceNumberFor } from '../../src/workflow/case-workflow.ts';
import { testDatabaseKind } from '../helpers/database.ts';
import { startTestGateway, type TestGateway } from '../helpers/gateway.ts';
import { buildOrmOrder } from '../helpers/hl7-orders.ts';
import { readJson } from '../helpers/http.ts';
import { waitFor } from '../helpers/store.ts';
import { type SimProcess, startClearinghouseSim } from '../sim/clearinghouse/process.ts';

const settled = new Set(['delivered', 'rejected', 'failed', 'not_required', 'cancelled']);

describe(`prior authorization over X12, end to end (${testDatabaseKind()})`, () => {
  let sim: SimProcess;
  let gw: TestGateway;
  const clock = new OffsetClock();
  let n = 0;

  beforeAll(async () => {
    sim = await startClearinghouseSim({ slowMs: 1000 });
    gw = await startTestGateway({
      clock,
      env: { CLEARINGHOUSE_ENDPOINTS: `pagw-sim=${sim.endpoint}`, STEP_LEASE_MS: '20000' },
    });
  });
  afterAll(async () => {
    await gw?.stop();
    await sim?.stop();
  });

  async function order(memberId: string, cpt = '70553'): Promise<string> {
    n++;
    const res = await gw.postHl7(
      buildOrmOrder({ messageId: `E2E-${Date.now()}-${n}`, memberId, cpt, cptText: 'MRI brain' }),
    );
    expect(res.status).toBe(201);
    return (await readJson(res)).caseIds[0];
  }

  async function caseWhen(id: string, done: (c: { state: string }) => boolean) {
    return waitFor(
      async () => {
        const c = await readJson(await gw.get(`/cases/${id}`));
        return done(c) ? c : undefined;
      },
      { timeoutMs: 30_000, what: `case ${id}` },
    );
  }

  async function received(caseId: string, kind: string) {
    return (await sim.received()).filter((r) => r.kind === kind && r.traceNumber === traceNumberFor(caseId));
  }

  it.each([
    ['approves', 'W100000001', 'delivered', 'approved', 'A1'],
    ['denies with a reason', 'DENY000001', 'delivered', 'denied', 'A3'],
    ['modifies the units', 'MODIFY0001', 'delivered', 'modified', 'A6'],
    ['answers slowly', 'SLOW000001', 'delivered', 'approved', 'A1'],
    ['fails with HTTP 503 once', 'FLAKY00001', 'delivered', 'approved', 'A1'],
    ['drops the connection after taking the 278 in', 'DROP000001', 'delivered', 'approved', 'A1'],
  ])('payer %s: one live 278, case ends %s with %s', async (_label, memberId, state, outcome, action) => {
    const id = await order(memberId);
    const final = await caseWhen(id, (c) => settled.has(c.state));
    expect(final).toMatchObject({
      state,
      payerId: 'example-health-plan',
      channel: 'x12',
      ruleVersion: 'example-health-plan@2026.1',
    });
    expect(final.decision).toMatchObject({ outcome, reviewActionCode: action, channel: 'x12' });
    expect(final.events.map((e: { event: string }) => e.event)).toEqual([
      'received',
      'validated',
      'eligibility_checked',
      'submitted',
      'decided',
      'delivered',
    ]);
    expect((await received(id, '278-request')).filter((r) => r.accepted)).toHaveLength(1);
    expect(await received(id, '270')).toHaveLength(1);
  });

  it('an approval carries the payer’s certification number and authorized period', async () => {
    const id = await order('W100000002');
    const final = await caseWhen(id, (c) => settled.has(c.state));
    expect(final.decision.certificationNumber).toMatch(/^SIMCERT/);
    expect(final.decision.lines[0]).toMatchObject({ sequence: 1, outcome: 'approved' });
  });

  it('a pended case is followed up with a 278 inquiry on schedule and ends decided', async () => {
    const id = await order('PEND000001');
    const pended = await caseWhen(id, (c) => c.state === 'pended');
    expect(pended.decision).toMatchObject({ outcome: 'pended', reviewActionCode: 'A4' });
    expect(await received(id, '278-inquiry')).toHaveLength(0);
    clock.advance(61 * 60_000); // the payer's follow-up interval is 60 minutes
    const final = await caseWhen(id, (c) => settled.has(c.state));
    expect(final).toMatchObject({ state: 'delivered', decision: { outcome: 'approved' } });
    expect((await received(id, '278-request')).filter((r) => r.accepted)).toHaveLength(1);
    expect(await received(id, '278-inquiry')).toHaveLength(1);
  });

  it('a payer AAA rejection ends the case rejected with its reason', async () => {
    const id = await order('AAA0000001');
    const final = await caseWhen(id, (c) => settled.has(c.state));
    expect(final.state).toBe('rejected');
    expect(final.events.at(-1).data).toMatchObject({ reason: 'PAYER_REJECTED', reasonCodes: ['72', 'C'] }); // AAA03 reject reason, AAA04 follow-up action
  });

  it('a 999 rejection of our interchange fails the case without resubmitting', async () => {
    const id = await order('REJ9990001');
    const final = await caseWhen(id, (c) => settled.has(c.state));
    expect(final.state).toBe('failed');
    expect(final.events.at(-1).data).toMatchObject({ reason: 'STEP_FAILED', step: 'submitted' });
    expect(await received(id, '278-request')).toHaveLength(1);
  });

  it('inactive coverage stops the case before any 278', async () => {
    const id = await order('INACTIVE01');
    const final = await caseWhen(id, (c) => settled.has(c.state));
    expect(final.state).toBe('rejected');
    expect(final.events.at(-1).data).toMatchObject({ reason: 'COVERAGE_INACTIVE' });
    expect(await received(id, '278-request')).toHaveLength(0);
  });

  it('a service that needs no PA ends not_required with no payer call at all', async () => {
    const id = await order('W100000003', '99213');
    const final = await caseWhen(id, (c) => settled.has(c.state));
    expect(final).toMatchObject({ state: 'not_required', ruleVersion: 'example-health-plan@2026.1' });
    expect((await sim.received()).filter((r) => r.traceNumber === traceNumberFor(id))).toEqual([]);
  });
});
