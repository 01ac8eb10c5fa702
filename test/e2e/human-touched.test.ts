/**
 * Straight-through means no person touched the case (issue #10, console bug): an HL7 order posted over HTTP with
 * the EHR's token and decided by the payer without anyone's help is not `human_touched`; one that waited for a
 * reviewer's approval is. Real gateway, simulated clearinghouse process, the review API.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createApiToken } from '../../src/store/index.ts';
import { testDatabaseKind } from '../helpers/database.ts';
import { startTestGateway, type TestGateway } from '../helpers/gateway.ts';
import { buildOrmOrder } from '../helpers/hl7-orders.ts';
import { readJson } from '../helpers/http.ts';
import { waitFor } from '../helpers/store.ts';
import { type SimProcess, startClearinghouseSim } from '../sim/clearinghouse/process.ts';

describe(`human_touched end to end (${testDatabaseKind()})`, () => {
  let sim: SimProcess;
  let gw: TestGateway;

  beforeAll(async () => {
    sim = await startClearinghouseSim();
    gw = await startTestGateway({ env: { CLEARINGHOUSE_ENDPOINTS: `pagw-sim=${sim.endpoint}` } });
  });
  afterAll(async () => {
    await gw?.stop();
    await sim?.stop();
  });

  async function order(name: string, cpt: string, cptText: string): Promise<string> {
    const res = await gw.postHl7(
      buildOrmOrder({ messageId: `HT-${name}-${Date.now()}`, memberId: 'W100000777', cpt, cptText }),
    );
    expect(res.status).toBe(201);
    return (await readJson(res)).caseIds[0];
  }

  const stateOf = async (id: string) => (await readJson(await gw.get(`/cases/${id}`))).state as string;
  const until = (id: string, state: string) =>
    waitFor(async () => ((await stateOf(id)) === state ? true : undefined), {
      timeoutMs: 120_000,
      what: `case ${id} ${state}`,
    });
  const humanTouched = async (id: string) =>
    (
      await gw.gateway.db.pool.query<{ human_touched: boolean }>(
        'SELECT human_touched FROM cases WHERE id = $1',
        [id],
      )
    ).rows[0]!.human_touched;

  it('an MRI decided by the payer without anyone is straight-through (not human_touched)', async () => {
    const id = await order('straight', '70553', 'MRI brain');
    await until(id, 'delivered');
    expect(await humanTouched(id)).toBe(false);
  });

  it('spinal surgery approved by a reviewer before submission is human_touched', async () => {
    const id = await order('reviewed', '63030', 'Lumbar laminotomy');
    await until(id, 'awaiting_review');
    expect(await humanTouched(id)).toBe(false);
    // A named utilization reviewer decides (the spinal-surgery gate's role), repeating what the queue binds.
    const { token } = await createApiToken(gw.gateway.db.pool, {
      tenant: 'clinic-a',
      roles: ['utilization_reviewer'],
      userId: 'ur.nurse@goodhealth.example.org',
      at: new Date(),
    });
    const headers = { authorization: `Bearer ${token}`, 'content-type': 'application/json' };
    const queue = await readJson(await fetch(`${gw.gateway.url}/review/queue`, { headers }));
    const item = queue.items.find((entry: { id: string }) => entry.id === id);
    const res = await fetch(`${gw.gateway.url}/cases/${id}/review`, {
      method: 'POST',
      headers,
      body: JSON.stringify({ action: 'approve', ...item.mustRepeat }),
    });
    expect(res.status).toBe(200);
    await until(id, 'delivered');
    expect(await humanTouched(id)).toBe(true);
  });
});
