/**
 * Changed orders, end to end with real parts (issue #14 item 4, `resubmitted`): the EHR changes an order (ORC-1 XO,
 * same placer order number, a new message). A case the payer holds (pended at the simulated clearinghouse, a separate
 * process) is resubmitted: the change goes to the payer as a revised 278 (UM02 S) and the payer's answer decides it;
 * when the changed request needs a review, it goes back to review first and nothing is sent until a person approves
 * the new request. A case still in review starts again from routing with the changed request under a new gate.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { OffsetClock } from '../../src/clock.ts';
import { type ApiRole, createApiToken } from '../../src/store/index.ts';
import { traceNumberFor } from '../../src/workflow/case-workflow.ts';
import { testDatabaseKind } from '../helpers/database.ts';
import { startTestGateway, type TestGateway } from '../helpers/gateway.ts';
import { buildOrmOrder, type OrmOrderOptions } from '../helpers/hl7-orders.ts';
import { readJson } from '../helpers/http.ts';
import { waitFor } from '../helpers/store.ts';
import { type SimProcess, startClearinghouseSim } from '../sim/clearinghouse/process.ts';

describe(`changed orders from the EHR (${testDatabaseKind()})`, () => {
  let sim: SimProcess;
  let gw: TestGateway;
  let reviewer: string;
  let reviewer2: string;
  const clock = new OffsetClock();
  let n = 0;

  beforeAll(async () => {
    sim = await startClearinghouseSim({ slowMs: 500 });
    gw = await startTestGateway({
      clock,
      env: { CLEARINGHOUSE_ENDPOINTS: `pagw-sim=${sim.endpoint}`, STEP_LEASE_MS: '20000' },
    });
    const token = async (roles: ApiRole[], userId: string) =>
      (await createApiToken(gw.gateway.db.pool, { tenant: 'clinic-a', roles, userId, at: new Date() })).token;
    reviewer = await token(['utilization_reviewer'], 'ur.nurse@goodhealth.example.org');
    reviewer2 = await token(['utilization_reviewer'], 'ur.second@goodhealth.example.org');
  });
  afterAll(async () => {
    await gw?.stop();
    await sim?.stop();
  });

  const order = async (
    options: Partial<OrmOrderOptions> & { memberId: string; placerOrderNumber: string },
  ) => {
    n++;
    return gw.postHl7(buildOrmOrder({ messageId: `CHG-${Date.now()}-${n}`, cpt: '70553', ...options }));
  };
  // biome-ignore lint/suspicious/noExplicitAny: a case as the API returns it, navigated by assertions
  const caseWhen = (id: string, done: (c: any) => boolean) =>
    waitFor(
      async () => {
        const c = await readJson(await gw.get(`/cases/${id}`));
        return done(c) ? c : undefined;
      },
      { timeoutMs: 60_000, what: `case ${id}` },
    );
  const toPayer = async (caseId: string, kind: string) =>
    (await sim.received()).filter((r) => r.kind === kind && r.traceNumber === traceNumberFor(caseId));
  const as = (token: string) => ({ authorization: `Bearer ${token}`, 'content-type': 'application/json' });
  const queueItem = async (id: string, token = reviewer) =>
    (await readJson(await fetch(`${gw.gateway.url}/review/queue`, { headers: as(token) }))).items.find(
      (item: { id: string }) => item.id === id,
    );
  const approve = (id: string, token: string, mustRepeat: Record<string, unknown>) =>
    fetch(`${gw.gateway.url}/cases/${id}/review`, {
      method: 'POST',
      headers: as(token),
      body: JSON.stringify({ action: 'approve', ...mustRepeat }),
    });
  // biome-ignore lint/suspicious/noExplicitAny: case events as the API returns them, navigated by assertions
  const eventsAfter = (c: { events: any[] }, seqEvent: string) =>
    c.events.slice(c.events.findLastIndex((e: { event: string }) => e.event === seqEvent));

  it('an ORC XO on a pended case goes to the payer as a revised 278 and the case is decided on it', async () => {
    const placer = `ORD-CHG-${Date.now()}`;
    const caseId = (
      await readJson(await order({ memberId: 'PEND000091', placerOrderNumber: placer, quantity: 1 }))
    ).caseIds[0];
    await caseWhen(caseId, (c) => c.state === 'pended');
    const change = await order({
      memberId: 'PEND000091',
      placerOrderNumber: placer,
      quantity: 3,
      orderControl: 'XO',
    });
    expect(change.status).toBe(201);
    expect((await readJson(change)).caseIds).toEqual([caseId]);
    // The payer pends the revision too; its next inquiry (on the payer's schedule: the clock moves on) decides it.
    await caseWhen(caseId, (c) => c.state === 'pended' && c.events.at(-2)?.event === 'resubmitted');
    clock.advance(2 * 3_600_000);
    const final = await caseWhen(caseId, (c) => c.state === 'delivered');
    const after = eventsAfter(final, 'resubmitted');
    expect(after[0]).toMatchObject({
      event: 'resubmitted',
      fromState: 'pended',
      toState: 'submitted',
      data: { reason: 'ORDER_CHANGED', atPayer: true },
    });
    expect(after[0].data.changed).toContain('serviceLines[0].quantity.value');
    // The payer's answer to the revision (pended again, then decided on inquiry) moves the case on.
    expect(after[1]).toMatchObject({ fromState: 'submitted', data: { update: 'x12-278-revision' } });
    expect(final.request.serviceLines[0].quantity.value).toBe(3);
    const revisions = await toPayer(caseId, '278-revision');
    expect(revisions).toHaveLength(1);
    expect(revisions[0]).toMatchObject({ certificationType: 'S', quantities: [3], disposition: 'revised' });
    expect(await toPayer(caseId, '278-request')).toHaveLength(1); // the first submission only: never a second one
    const pool = gw.gateway.db.pool;
    const updates = await pool.query(
      `SELECT status FROM payer_submissions WHERE case_id = $1 AND purpose = 'update'`,
      [caseId],
    );
    expect(updates.rows).toEqual([{ status: 'answered' }]);
    const audit = await pool.query(
      `SELECT details FROM audit_log WHERE case_id = $1 AND action = 'case.request_changed'`,
      [caseId],
    );
    expect(audit.rows[0].details.changes).toContainEqual({
      path: 'serviceLines[0].quantity.value',
      before: 1,
      after: 3,
    });
    const { rows } = await pool.query('SELECT id FROM cases WHERE order_number = $1', [placer]);
    expect(rows).toHaveLength(1);
  });

  it('a change at the payer that needs a review goes back to review first; approved, it goes out as a revision', async () => {
    const placer = `ORD-CHG-REV-${Date.now()}`;
    const caseId = (
      await readJson(await order({ memberId: 'PEND000092', placerOrderNumber: placer, quantity: 1 }))
    ).caseIds[0];
    await caseWhen(caseId, (c) => c.state === 'pended');
    // Now a lumbar fusion: the clinic's policies want two utilization reviewers for it.
    const change = await order({
      memberId: 'PEND000092',
      placerOrderNumber: placer,
      cpt: '22612',
      cptText: 'Lumbar fusion',
      quantity: 1,
      orderControl: 'XO',
    });
    expect((await readJson(change)).caseIds).toEqual([caseId]);
    const inReview = await caseWhen(caseId, (c) => c.state === 'awaiting_review');
    expect(inReview.events.at(-1)).toMatchObject({
      event: 'review_reopened',
      fromState: 'submitted',
      data: { reason: 'ORDER_CHANGED' },
    });
    expect(await toPayer(caseId, '278-revision')).toHaveLength(0);
    const item = await waitFor(() => queueItem(caseId), { what: 'queue item' });
    expect(item.gate).toMatchObject({ reason: 'order_changed' });
    expect(item.submissionKey).toBe(inReview.events.at(-1).data.submissionKey);
    expect((await approve(caseId, reviewer, item.mustRepeat)).status).toBe(202);
    expect((await approve(caseId, reviewer2, item.mustRepeat)).status).toBe(200);
    await caseWhen(
      caseId,
      (c) => c.state === 'pended' && c.events.at(-1)?.data?.update === 'x12-278-revision',
    );
    clock.advance(2 * 3_600_000);
    const final = await caseWhen(caseId, (c) => c.state === 'delivered');
    const revisions = await toPayer(caseId, '278-revision');
    expect(revisions).toHaveLength(1);
    expect(revisions[0]!.serviceCodes).toContain('22612');
    expect(final.events.findLast((e: { event: string }) => e.event === 'submitted').data).toMatchObject({
      review: 'approve',
      submissionKey: item.submissionKey,
    });
  });

  it('an ORC XO on a case in review starts it again with the changed request, under a new gate', async () => {
    const placer = `ORD-CHG-GATE-${Date.now()}`;
    const first = {
      memberId: 'W240000091',
      placerOrderNumber: placer,
      cpt: '22612',
      cptText: 'Lumbar fusion',
    };
    const caseId = (await readJson(await order({ ...first, quantity: 1 }))).caseIds[0];
    await caseWhen(caseId, (c) => c.state === 'awaiting_review');
    const before = await waitFor(() => queueItem(caseId), { what: 'queue item' });
    const change = await order({ ...first, quantity: 2, orderControl: 'XO' });
    expect((await readJson(change)).caseIds).toEqual([caseId]);
    const again = await caseWhen(
      caseId,
      (c) =>
        c.state === 'awaiting_review' && c.events.some((e: { event: string }) => e.event === 'order_changed'),
    );
    expect(eventsAfter(again, 'order_changed')[0]).toMatchObject({
      fromState: 'awaiting_review',
      toState: 'validated',
      data: { reason: 'ORDER_CHANGED', atPayer: false },
    });
    const gates = await gw.gateway.db.pool.query(
      'SELECT seq, status, submission_key FROM review_gates WHERE case_id = $1 ORDER BY seq',
      [caseId],
    );
    expect(gates.rows.map((g) => g.status)).toEqual(['superseded', 'open']);
    expect(gates.rows[1].submission_key).not.toBe(before.submissionKey);
    // The old screen's approval is refused: it was for the old request.
    expect((await approve(caseId, reviewer, before.mustRepeat)).status).toBe(409);
    // Eligibility ran again for the changed request; nothing went to the payer for review.
    const sent = (await sim.received()).filter((x) => x.traceNumber === traceNumberFor(caseId));
    expect(sent.map((x) => x.kind)).toEqual(['270', '270']);
  });

  it('a change for an order the gateway never saw is refused, as any message that is not a new order', async () => {
    const res = await order({
      memberId: 'W100000001',
      placerOrderNumber: `ORD-UNKNOWN-${Date.now()}`,
      orderControl: 'XO',
    });
    expect(res.status).toBe(422);
    expect(JSON.stringify(await readJson(res))).toContain('PAGW_MAP_NOT_NEW_ORDER');
  });
});
