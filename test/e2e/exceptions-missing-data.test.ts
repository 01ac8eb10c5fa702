/**
 * Missing data, end to end with real parts (issue #14 items 1 and 2): an HL7 v2 order without a member id is held,
 * not refused — its case waits in `received` with a task to the ordering provider (a FHIR Task on the EHR topic,
 * an HL7 v2 message back to the sender naming IN1-36) — and a corrected resend of the order (new MSH-10, same
 * placer order number) resumes THAT case through eligibility and the 278 at the simulated clearinghouse (a separate
 * process) to a decision. A second held order is corrected through the API instead (PATCH /cases/:id/request).
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

describe(`missing data: held order, task to the provider, resumed by a corrected resend (${testDatabaseKind()})`, () => {
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

  const send = (path: string, method: string, body: unknown) =>
    fetch(`${gw.gateway.url}${path}`, {
      method,
      headers: { authorization: `Bearer ${gw.token}`, 'content-type': 'application/json' },
      body: JSON.stringify(body),
    });

  async function caseWhen(id: string, done: (c: { state: string }) => boolean) {
    return waitFor(
      async () => {
        const c = await readJson(await gw.get(`/cases/${id}`));
        return done(c) ? c : undefined;
      },
      { timeoutMs: 60_000, what: `case ${id}` },
    );
  }

  async function outboxOf(caseId: string, topic: string) {
    const { rows } = await gw.gateway.db.pool.query<{ value: Buffer; headers: Record<string, string> }>(
      'SELECT value, headers FROM outbox WHERE case_id = $1 AND topic = $2 ORDER BY id',
      [caseId, topic],
    );
    return rows;
  }

  it('holds an order without a member id, tells the provider what is missing, and resumes on the corrected resend', async () => {
    const placer = `ORD-HELD-${Date.now()}`;
    const first = await gw.postHl7(
      buildOrmOrder({
        messageId: `HELD-${Date.now()}-1`,
        memberId: '',
        cpt: '70553',
        placerOrderNumber: placer,
      }),
    );
    expect(first.status).toBe(201);
    const accepted = await readJson(first);
    expect(accepted.caseIds).toHaveLength(1);
    const caseId = accepted.caseIds[0];
    expect(accepted.warnings).toEqual([
      expect.objectContaining({
        location: 'IN1-36',
        message: expect.stringMatching(/member id missing: the order is held/),
      }),
    ]);

    // The case waits in `received`; the workflow does not touch it.
    const held = await readJson(await gw.get(`/cases/${caseId}`));
    expect(held).toMatchObject({ state: 'received', version: 1 });

    // One open task to the ordering provider, naming the field and where the order carries it.
    const exceptions = await readJson(await gw.get('/exceptions'));
    const task = exceptions.items.find((t: { caseId: string }) => t.caseId === caseId);
    expect(task).toMatchObject({
      kind: 'missing_data',
      state: 'open',
      reasonCodes: ['MISSING_MEMBER_ID'],
      ownerRole: 'ehr',
      priority: 'normal',
      needed: [
        {
          type: 'field',
          path: 'coverage.memberId',
          source: 'IN1-36',
          label: expect.stringMatching(/Member id/),
        },
      ],
      case: { state: 'received' },
    });
    expect(task.actions.map((a: { action: string }) => a.action)).toEqual(['correct', 'cancel_case']);

    // The FHIR Task on the EHR topic and the HL7 v2 message back to the sender.
    const fhir = await outboxOf(caseId, 'pa.ehr.tasks.v1');
    expect(fhir).toHaveLength(1);
    const fhirTask = JSON.parse(fhir[0]!.value.toString('utf8'));
    expect(fhirTask).toMatchObject({
      resourceType: 'Task',
      id: task.id,
      status: 'requested',
      intent: 'order',
      owner: { identifier: { system: 'http://hl7.org/fhir/sid/us-npi', value: '1234567893' } },
      input: [
        { type: { text: 'missing: coverage.memberId' }, valueString: expect.stringContaining('IN1-36') },
      ],
    });
    const hl7 = (await outboxOf(caseId, 'pa.hl7v2.status.v1')).map((r) => r.value.toString('utf8'));
    expect(hl7).toHaveLength(1);
    expect(hl7[0]).toMatch(/^MSH\|\^~\\&\|PAGW\|GOODHEALTH-PA\|EPIC\|GOODHEALTH\|/);
    expect(hl7[0]).toContain('\rERR||IN1^1^36|101^Required field missing^HL70357|W|');
    expect(hl7[0]).toContain(`\rORC|OK|${placer}|||HD`);
    const taskEvents = await outboxOf(caseId, 'pa.tasks.v1');
    expect(JSON.parse(taskEvents[0]!.value.toString('utf8'))).toMatchObject({
      schema: 'task.v1.0',
      change: 'opened',
      task: { kind: 'missing_data', needed: [{ path: 'coverage.memberId' }] },
    });

    // The EHR resends the corrected order: a new message, the same placer order number.
    const resend = await gw.postHl7(
      buildOrmOrder({
        messageId: `HELD-${Date.now()}-2`,
        memberId: 'W100000009',
        cpt: '70553',
        placerOrderNumber: placer,
      }),
    );
    expect(resend.status).toBe(201);
    expect((await readJson(resend)).caseIds).toEqual([caseId]);

    const final = await caseWhen(caseId, (c) => settled.has(c.state));
    expect(final).toMatchObject({ state: 'delivered', decision: { outcome: 'approved' } });
    expect(final.request.coverage.memberId).toBe('W100000009');
    expect(final.events.map((e: { event: string }) => e.event)).toEqual([
      'received',
      'validated',
      'eligibility_checked',
      'submitted',
      'decided',
      'delivered',
    ]);
    expect(final.events[1].data).toMatchObject({
      reason: 'REQUEST_CORRECTED',
      corrected: ['coverage.memberId'],
    });
    const submitted = (await sim.received()).filter(
      (r) => r.kind === '278-request' && r.traceNumber === traceNumberFor(caseId),
    );
    expect(submitted.map((r) => r.memberId)).toEqual(['W100000009']);

    // No second case for the order; the task is resolved by the resend; the correction is audited before/after.
    const { rows: cases } = await gw.gateway.db.pool.query('SELECT id FROM cases WHERE order_number = $1', [
      placer,
    ]);
    expect(cases).toHaveLength(1);
    const closed = await readJson(await gw.get(`/tasks/${task.id}`));
    expect(closed).toMatchObject({
      state: 'resolved',
      resolution: { action: 'correct', fields: ['coverage.memberId'] },
    });
    const { rows: audit } = await gw.gateway.db.pool.query<{ details: { changes: unknown[]; via: string } }>(
      `SELECT details FROM audit_log WHERE case_id = $1 AND action = 'case.request_corrected'`,
      [caseId],
    );
    expect(audit[0]!.details.via).toMatch(/^resend:hl7v2:/);
    expect(audit[0]!.details.changes).toContainEqual({
      path: 'coverage.memberId',
      before: null,
      after: 'W100000009',
    });
    const fhirAfter = await outboxOf(caseId, 'pa.ehr.tasks.v1');
    expect(JSON.parse(fhirAfter.at(-1)!.value.toString('utf8')).status).toBe('completed');
  });

  it('a held order corrected through the API (PATCH /cases/:id/request) resumes to a decision', async () => {
    const res = await gw.postHl7(
      buildOrmOrder({ messageId: `HELD-${Date.now()}-3`, memberId: '', cpt: '70553' }),
    );
    const caseId = (await readJson(res)).caseIds[0];
    // A correction that leaves the request invalid changes nothing.
    const refused = await send(`/cases/${caseId}/request`, 'PATCH', {
      caseVersion: 1,
      changes: [{ path: 'coverage.memberId', value: '' }],
    });
    expect(refused.status).toBe(422);
    expect((await readJson(refused)).issue[0].details.coding[0].code).toBe('PAGW_CORRECTION_INVALID');
    const identity = await send(`/cases/${caseId}/request`, 'PATCH', {
      changes: [{ path: 'idempotencyKey', value: 'x' }],
    });
    expect(identity.status).toBe(422);

    const patched = await send(`/cases/${caseId}/request`, 'PATCH', {
      caseVersion: 1,
      changes: [{ path: 'coverage.memberId', value: 'DENY00042' }],
    });
    expect(patched.status).toBe(200);
    expect(await readJson(patched)).toMatchObject({ id: caseId, state: 'validated', version: 2 });
    const final = await caseWhen(caseId, (c) => settled.has(c.state));
    expect(final).toMatchObject({ state: 'delivered', decision: { outcome: 'denied' } });
    // A second correction of the decided case is refused.
    const late = await send(`/cases/${caseId}/request`, 'PATCH', {
      changes: [{ path: 'coverage.memberId', value: 'W1' }],
    });
    expect(late.status).toBe(409);
    expect((await readJson(late)).issue[0].details.coding[0].code).toBe('PAGW_CORRECTION_NOT_ALLOWED');
  });
});
