/**
 * End to end over Da Vinci PAS: a FHIR ServiceRequest posted the way an EHR posts it, for a payer whose channel is
 * PAS, through routing and PA rules to the simulated PAS payer (its own process, SMART backend-services auth) and
 * to the case's end state — for every scripted behaviour, counting what the payer actually took in. Pended cases
 * end decided by the scheduled $inquire and by the payer's subscription notification.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { OffsetClock } from '../../src/clock.ts';
import { traceNumberFor } from '../../src/workflow/case-workflow.ts';
import { testDatabaseKind } from '../helpers/database.ts';
import { startTestGateway, type TestGateway } from '../helpers/gateway.ts';
import { readJson } from '../helpers/http.ts';
import {
  createPasClientKeys,
  pasChannelFor,
  pasServiceRequestOrder,
  pasTestPayersDir,
  startPasSimWithClient,
} from '../helpers/pas.ts';
import { waitFor } from '../helpers/store.ts';
import type { PasSimProcess } from '../sim/pas-payer/process.ts';

const settled = new Set(['delivered', 'rejected', 'failed', 'not_required', 'cancelled']);

describe(`prior authorization over Da Vinci PAS, end to end (${testDatabaseKind()})`, () => {
  let sim: PasSimProcess;
  let gw: TestGateway;
  const clock = new OffsetClock();
  let n = 0;

  beforeAll(async () => {
    const keys = await createPasClientKeys('RS384');
    // pend-notify reviews are decided only when the test says so (sim.decide), never by the payer's own timer.
    sim = await startPasSimWithClient(keys, { slowMs: 1000, notifyAfterMs: 600_000 });
    const channel = pasChannelFor(sim, keys, {
      subscriptions: true,
      followUp: { inquiryIntervalMinutes: 60, maxInquiries: 5 },
    });
    gw = await startTestGateway({
      clock,
      env: { PAYERS_DIR: pasTestPayersDir(channel), STEP_LEASE_MS: '20000' },
    });
  });
  afterAll(async () => {
    await gw?.stop();
    await sim?.stop();
  });

  async function order(memberId: string, cpt = '73721'): Promise<string> {
    n++;
    const res = await fetch(`${gw.gateway.url}/orders/fhir`, {
      method: 'POST',
      headers: { authorization: `Bearer ${gw.token}`, 'content-type': 'application/fhir+json' },
      body: pasServiceRequestOrder(`sr-pas-${Date.now()}-${n}`, memberId, cpt),
    });
    expect(res.status).toBe(201);
    return (await readJson(res)).caseIds[0];
  }

  // biome-ignore lint/suspicious/noExplicitAny: a case as the API returns it, navigated by assertions
  async function caseWhen(id: string, done: (c: any) => boolean) {
    return waitFor(
      async () => {
        const c = await readJson(await gw.get(`/cases/${id}`));
        return done(c) ? c : undefined;
      },
      { timeoutMs: 60_000, what: `case ${id}` },
    );
  }

  const submits = async (id: string) =>
    (await sim.received()).filter((r) => r.kind === 'submit' && r.key?.endsWith(`|${traceNumberFor(id)}`));

  it.each([
    ['approves', 'W200000001', 'delivered', 'approved', 'A1'],
    ['denies with a reason', 'DENY200001', 'delivered', 'denied', 'A3'],
    ['approves fewer units (A6)', 'PARTIAL201', 'delivered', 'modified', 'A6'],
    ['answers 429 with Retry-After first', 'RATE200001', 'delivered', 'approved', 'A1'],
    ['answers slowly', 'SLOW200001', 'delivered', 'approved', 'A1'],
    ['drops the connection after taking the request in', 'DROP200001', 'delivered', 'approved', 'A1'],
  ])(
    'payer %s (member %s): one live submission, the case ends %s, %s',
    async (_label, memberId, state, outcome, action) => {
      const id = await order(memberId);
      const final = await caseWhen(id, (c) => settled.has(c.state));
      expect(final).toMatchObject({ state, payerId: 'insurer-example-pas', channel: 'pas' });
      expect(final.decision).toMatchObject({ outcome, reviewActionCode: action, channel: 'pas' });
      expect((await submits(id)).filter((r) => r.accepted)).toHaveLength(1);
    },
  );

  it.each([
    ['answers with a ClaimResponse error', 'REJECT2001', ['72', 'C']],
    ['refuses with an OperationOutcome', 'OO20000001', ['business-rule']],
  ])('payer %s: the case ends rejected with the payer’s reasons', async (_label, memberId, codes) => {
    const id = await order(memberId);
    const final = await caseWhen(id, (c) => settled.has(c.state));
    expect(final.state).toBe('rejected');
    expect(final.events.at(-1).data).toMatchObject({ reason: 'PAYER_REJECTED', reasonCodes: codes });
  });

  it('pended, then decided by the scheduled $inquire', async () => {
    const id = await order('PEND200001');
    const pended = await caseWhen(id, (c) => c.state === 'pended');
    expect(pended.decision).toMatchObject({ outcome: 'pended', reviewActionCode: 'A4' });
    clock.advance(61 * 60_000); // the payer's follow-up interval is 60 minutes
    const final = await caseWhen(id, (c) => settled.has(c.state));
    expect(final).toMatchObject({ state: 'delivered', decision: { outcome: 'approved' } });
    expect((await submits(id)).filter((r) => r.accepted)).toHaveLength(1);
  });

  it('pended, then decided after the payer’s notification (which only triggers an $inquire)', async () => {
    const id = await order('PENDNOTIFY');
    await caseWhen(id, (c) => c.state === 'pended');
    await waitFor(async () => (await sim.received()).find((r) => r.kind === 'subscription' && r.accepted), {
      timeoutMs: 30_000,
      what: 'the gateway subscribing at the payer',
    });
    const inquiriesBefore = (await sim.received()).filter((r) => r.kind === 'inquire').length;
    expect(await sim.decide(`urn:pagw:clinic-a:trace|${traceNumberFor(id)}`)).toBe(true);
    // No clock skip: only the notification can make the gateway ask now (the next scheduled inquiry is an hour away).
    const final = await caseWhen(id, (c) => settled.has(c.state));
    expect(final).toMatchObject({ state: 'delivered', decision: { outcome: 'approved' } });
    const notifications = await sim.notifications();
    expect(notifications.filter((x) => x.key.endsWith(traceNumberFor(id)))).toEqual([
      expect.objectContaining({ status: 200 }),
    ]);
    const inquiries = (await sim.received()).filter((r) => r.kind === 'inquire').length;
    expect(inquiries).toBeGreaterThan(inquiriesBefore);
  });

  it('a decision the payer changes and notifies is asked about again and recorded as decision_updated', async () => {
    const id = await order('PENDNOTIFY');
    await caseWhen(id, (c) => c.state === 'pended');
    await waitFor(async () => (await sim.received()).find((r) => r.kind === 'subscription' && r.accepted), {
      timeoutMs: 30_000,
      what: 'the gateway subscribing at the payer',
    });
    const key = `urn:pagw:clinic-a:trace|${traceNumberFor(id)}`;
    expect(await sim.decide(key)).toBe(true);
    await caseWhen(id, (c) => c.state === 'delivered');
    expect(await sim.changeDecision(key, 'deny')).toBe(true);
    // (The case and its events are read apart: wait for both to show the change.)
    const updated = await caseWhen(
      id,
      (c) => c.events.at(-1).event === 'decision_updated' && c.decision?.outcome === 'denied',
    );
    expect(updated).toMatchObject({ state: 'delivered' });
    expect(updated.events.at(-1)).toMatchObject({
      fromState: 'delivered',
      toState: 'delivered',
      data: { previousOutcome: 'approved', outcome: 'denied', via: 'pas-notification' },
    });
  });

  it('a notification without our subscription token is refused', async () => {
    const res = await fetch(`${gw.gateway.url}/pas/notifications/insurer-example-pas`, {
      method: 'POST',
      headers: { authorization: 'Bearer not-a-token', 'content-type': 'application/fhir+json' },
      body: JSON.stringify({ resourceType: 'Bundle', type: 'history', entry: [] }),
    });
    expect(res.status).toBe(401);
    expect((await readJson(res)).issue[0].details.coding[0].code).toBe('PAGW_PAS_NOTIFICATION_REFUSED');
  });
});
