/**
 * Changed FHIR orders, end to end (issue #14 item 4): FHIR has no order control like HL7 ORC-1 XO, so an EHR changes
 * an order by sending the ServiceRequest again — same identifier, status still active, changed quantity or code. The
 * gateway matches it to the open case like an ORC XO: at the payer (pended) it goes out as a revised 278
 * (`resubmitted`); before the payer (in review) it starts again (`order_changed`); an unchanged resend names its case
 * and moves nothing.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { OffsetClock } from '../../src/clock.ts';
import { traceNumberFor } from '../../src/workflow/case-workflow.ts';
import { testDatabaseKind } from '../helpers/database.ts';
import { startTestGateway, type TestGateway } from '../helpers/gateway.ts';
import { readJson } from '../helpers/http.ts';
import { pasServiceRequestOrder } from '../helpers/pas.ts';
import { waitFor } from '../helpers/store.ts';
import { type SimProcess, startClearinghouseSim } from '../sim/clearinghouse/process.ts';

/** A ServiceRequest for Example Health Plan (X12 payer id 87726, the simulated clearinghouse's payer). */
function serviceRequest(
  id: string,
  options: { memberId: string; cpt: string; quantity: number; versionId: string },
): string {
  const sr = JSON.parse(pasServiceRequestOrder(id, options.memberId, options.cpt));
  sr.meta.versionId = options.versionId;
  sr.quantityQuantity = { value: options.quantity };
  const payer = sr.contained.find((r: { id: string }) => r.id === 'payer1');
  payer.identifier = [{ value: '87726' }];
  payer.name = 'Example Health Plan';
  return JSON.stringify(sr);
}

describe(`changed FHIR ServiceRequests (${testDatabaseKind()})`, () => {
  let sim: SimProcess;
  let gw: TestGateway;
  const clock = new OffsetClock();

  beforeAll(async () => {
    sim = await startClearinghouseSim({ slowMs: 500 });
    gw = await startTestGateway({
      clock,
      env: { CLEARINGHOUSE_ENDPOINTS: `pagw-sim=${sim.endpoint}`, STEP_LEASE_MS: '20000' },
    });
  });
  afterAll(async () => {
    await gw?.stop();
    await sim?.stop();
  });

  const post = async (body: string) => {
    const res = await fetch(`${gw.gateway.url}/orders/fhir`, {
      method: 'POST',
      headers: { authorization: `Bearer ${gw.token}`, 'content-type': 'application/fhir+json' },
      body,
    });
    expect(res.status).toBe(201);
    return (await readJson(res)).caseIds as string[];
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

  it('a resent ServiceRequest with a changed quantity on a pended case goes to the payer as a revised 278', async () => {
    const id = `sr-chg-${Date.now()}`;
    const first = { memberId: 'PEND000093', cpt: '70553' };
    const [caseId] = await post(serviceRequest(id, { ...first, quantity: 1, versionId: '1' }));
    await caseWhen(caseId!, (c) => c.state === 'pended');
    // The same order again, unchanged but for its version: its case is named, nothing moves (no new case).
    expect(await post(serviceRequest(id, { ...first, quantity: 1, versionId: '2' }))).toEqual([caseId]);
    expect(await post(serviceRequest(id, { ...first, quantity: 3, versionId: '3' }))).toEqual([caseId]);
    // The payer pends the revision too; its next inquiry (on the payer's schedule: the clock moves on) decides it.
    await caseWhen(caseId!, (c) => c.state === 'pended' && c.events.at(-2)?.event === 'resubmitted');
    clock.advance(2 * 3_600_000);
    const final = await caseWhen(caseId!, (c) => c.state === 'delivered');
    const resubmitted = final.events.find((e: { event: string }) => e.event === 'resubmitted');
    expect(resubmitted).toMatchObject({
      fromState: 'pended',
      toState: 'submitted',
      data: { reason: 'ORDER_CHANGED', atPayer: true },
    });
    expect(resubmitted.data.changed).toContain('serviceLines[0].quantity.value');
    expect(final.request.serviceLines[0].quantity.value).toBe(3);
    expect(await toPayer(caseId!, '278-revision')).toEqual([
      expect.objectContaining({ certificationType: 'S', quantities: [3] }),
    ]);
    expect(await toPayer(caseId!, '278-request')).toHaveLength(1);
    const audit = await gw.gateway.db.pool.query(
      `SELECT details FROM audit_log WHERE case_id = $1 AND action = 'case.request_changed'`,
      [caseId],
    );
    expect(audit.rows[0].details.changes).toContainEqual({
      path: 'serviceLines[0].quantity.value',
      before: 1,
      after: 3,
    });
  });

  it('a resent ServiceRequest with a changed code on a case in review starts it again (order_changed)', async () => {
    const id = `sr-chg-gate-${Date.now()}`;
    const [caseId] = await post(
      serviceRequest(id, { memberId: 'W240000093', cpt: '22612', quantity: 1, versionId: '1' }),
    );
    await caseWhen(caseId!, (c) => c.state === 'awaiting_review');
    expect(
      await post(serviceRequest(id, { memberId: 'W240000093', cpt: '22630', quantity: 1, versionId: '2' })),
    ).toEqual([caseId]);
    const again = await caseWhen(caseId!, (c) =>
      c.events.some((e: { event: string }) => e.event === 'order_changed'),
    );
    const changed = again.events.find((e: { event: string }) => e.event === 'order_changed');
    expect(changed).toMatchObject({
      fromState: 'awaiting_review',
      toState: 'validated',
      data: { reason: 'ORDER_CHANGED', atPayer: false },
    });
    expect(changed.data.changed.some((p: string) => p.startsWith('serviceLines[0].code'))).toBe(true);
    expect(again.request.serviceLines[0].code.code).toBe('22630');
    const { rows } = await gw.gateway.db.pool.query(
      `SELECT count(*)::int AS n FROM cases WHERE request #>> '{orderReference,placerOrderNumber}' = $1`,
      [`PLAC-${id}`],
    );
    expect(rows[0].n).toBe(1);
  });
});
