/**
 * Order cancellation, end to end with real parts (issue #14 item 4): the EHR cancels an order (ORC-1 CA, same placer
 * order number, a new message). A case the payer holds (pended at the simulated clearinghouse, a separate process)
 * is withdrawn there with a 278 of certification type 3 and ends `cancelled`; a case held for missing data is
 * cancelled at once with its task; a cancel for an order the gateway does not know is refused as before.
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

describe(`order cancellation from the EHR (${testDatabaseKind()})`, () => {
  let sim: SimProcess;
  let gw: TestGateway;
  const clock = new OffsetClock();
  let n = 0;

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

  const order = async (memberId: string, placer: string, orderControl = 'NW') => {
    n++;
    return gw.postHl7(
      buildOrmOrder({
        messageId: `CAN-${Date.now()}-${n}`,
        memberId,
        cpt: '70553',
        placerOrderNumber: placer,
        orderControl,
      }),
    );
  };
  const caseWhen = (id: string, done: (c: { state: string }) => boolean) =>
    waitFor(
      async () => {
        const c = await readJson(await gw.get(`/cases/${id}`));
        return done(c) ? c : undefined;
      },
      { timeoutMs: 60_000, what: `case ${id}` },
    );

  it('an ORC CA withdraws a pended case at the payer (278 cancel) and ends it cancelled', async () => {
    const placer = `ORD-CAN-${Date.now()}`;
    const caseId = (await readJson(await order('PEND000077', placer))).caseIds[0];
    await caseWhen(caseId, (c) => c.state === 'pended');
    const cancel = await order('PEND000077', placer, 'CA');
    expect(cancel.status).toBe(201);
    expect((await readJson(cancel)).caseIds).toEqual([caseId]);
    const final = await caseWhen(caseId, (c) => c.state === 'cancelled');
    expect(final.events.at(-1)).toMatchObject({
      event: 'cancelled',
      fromState: 'pended',
      data: { reason: 'ORDER_CANCELLED', atPayer: true, payerAnswer: 'decided' },
    });
    const cancels = (await sim.received()).filter(
      (r) => r.kind === '278-cancel' && r.traceNumber === traceNumberFor(caseId),
    );
    expect(cancels).toHaveLength(1);
    expect(cancels[0]!.disposition).toBe('cancelled');
    // The payer's word is recorded with the case; no second case for the cancel message.
    expect(final.decision).toMatchObject({ outcome: 'cancelled' });
    const { rows } = await gw.gateway.db.pool.query('SELECT id FROM cases WHERE order_number = $1', [placer]);
    expect(rows).toHaveLength(1);
  });

  it('an ORC CA cancels a case held for missing data at once, with its task', async () => {
    const placer = `ORD-CAN-HELD-${Date.now()}`;
    const caseId = (await readJson(await order('', placer))).caseIds[0];
    const cancel = await order('', placer, 'CA');
    expect((await readJson(cancel)).caseIds).toEqual([caseId]);
    const final = await caseWhen(caseId, (c) => c.state === 'cancelled');
    expect(final.events.at(-1).data).toMatchObject({ reason: 'ORDER_CANCELLED' });
    const tasks = (await readJson(await gw.get(`/tasks?caseId=${caseId}&state=all`))).items;
    expect(tasks).toEqual([expect.objectContaining({ kind: 'missing_data', state: 'cancelled' })]);
    expect((await sim.received()).filter((r) => r.traceNumber === traceNumberFor(caseId))).toEqual([]);
  });

  it('a cancel for an order the gateway never saw is refused, as any message that is not a new order', async () => {
    const res = await order('W100000001', `ORD-UNKNOWN-${Date.now()}`, 'CA');
    expect(res.status).toBe(422);
    expect(JSON.stringify(await readJson(res))).toContain('PAGW_MAP_NOT_NEW_ORDER');
  });
});
