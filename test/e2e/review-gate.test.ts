/**
 * The review gate end to end: a real gateway (HTTP API, step worker, timer worker) on this run's database, the
 * simulated clearinghouse as a separate process, orders posted the way an EHR posts them, reviewers deciding
 * through the API — counting what the payer actually received.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { OffsetClock } from '../../src/clock.ts';
import { type ApiRole, createApiToken, transitionCase, withTransaction } from '../../src/store/index.ts';
import { openSubmissionPayloads } from '../../src/store/payer-payloads.ts';
import { scheduleAdvance } from '../../src/workers/case-advancer.ts';
import { traceNumberFor } from '../../src/workflow/case-workflow.ts';
import { testDatabaseKind } from '../helpers/database.ts';
import { startTestGateway, type TestGateway } from '../helpers/gateway.ts';
import { buildOrmOrder, type OrmOrderOptions } from '../helpers/hl7-orders.ts';
import { readJson } from '../helpers/http.ts';
import { countRows, waitFor } from '../helpers/store.ts';
import { type SimProcess, startClearinghouseSim } from '../sim/clearinghouse/process.ts';

describe(`review gate end to end (${testDatabaseKind()})`, () => {
  let sim: SimProcess;
  let gw: TestGateway;
  let reviewer: string;
  let reviewer2: string;
  let director: string;
  const clock = new OffsetClock();
  let n = 0;

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

  const as = (token: string) => ({ authorization: `Bearer ${token}`, 'content-type': 'application/json' });

  async function order(options: Partial<OrmOrderOptions> & { memberId: string }): Promise<string> {
    n++;
    const res = await gw.postHl7(
      buildOrmOrder({ messageId: `REV-${Date.now()}-${n}`, cpt: '22612', ...options }),
    );
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

  async function queueItem(id: string, token = reviewer) {
    const queue = await readJson(await fetch(`${gw.gateway.url}/review/queue`, { headers: as(token) }));
    return queue.items.find((item: { id: string }) => item.id === id);
  }

  const review = (id: string, token: string, body: Record<string, unknown>) =>
    fetch(`${gw.gateway.url}/cases/${id}/review`, {
      method: 'POST',
      headers: as(token),
      body: JSON.stringify(body),
    });

  const submissionsTo = async (caseId: string) =>
    (await sim.received()).filter(
      (r) => r.kind === '278-request' && r.traceNumber === traceNumberFor(caseId),
    );

  it('a request changed after its approval is not sent: back to review, audited, no 278', async () => {
    const id = await order({ memberId: 'W200000001', cpt: '63030' });
    await caseWhen(id, (c) => c.state === 'awaiting_review');
    const item = await queueItem(id);
    // An out-of-band change lands in the approval's own transaction, after the approval was checked (as an
    // amendment slipping past the gate would): the submit step must catch it.
    const pool = gw.gateway.db.pool;
    await pool.query(`CREATE FUNCTION pagw_test_swap_patient() RETURNS trigger LANGUAGE plpgsql AS $$
      BEGIN
        UPDATE cases SET request = jsonb_set(request, '{patient,identifiers,0,value}', '"MRN-OTHER-1"')
         WHERE id = NEW.case_id;
        RETURN NULL;
      END $$`);
    await pool.query(`CREATE TRIGGER pagw_test_swap AFTER INSERT ON case_events FOR EACH ROW
      WHEN (NEW.event = 'submitted' AND NEW.case_id = '${id}') EXECUTE FUNCTION pagw_test_swap_patient()`);
    try {
      const res = await review(id, reviewer, { action: 'approve', ...item.mustRepeat });
      expect(res.status).toBe(200);
      const back = await caseWhen(id, (c) => c.state === 'awaiting_review' && c.version > item.caseVersion);
      const reopened = back.events.at(-1);
      expect(reopened).toMatchObject({
        event: 'review_reopened',
        fromState: 'submitted',
        data: { reason: 'IDEMPOTENCY_KEY_MISMATCH', approvedKey: item.submissionKey },
      });
      expect(reopened.data.submissionKey).not.toBe(item.submissionKey);
      expect(await submissionsTo(id)).toHaveLength(0);
      const audit = await pool.query(
        `SELECT details FROM audit_log WHERE case_id = $1 AND action = 'case.review_reopened'`,
        [id],
      );
      expect(audit.rows[0].details).toMatchObject({ errorCode: 'PAGW_IDEMPOTENCY_KEY_MISMATCH' });
      // The new gate is bound to the request as it now stands; the old screen is refused.
      const again = await queueItem(id);
      expect(again.submissionKey).toBe(reopened.data.submissionKey);
      expect((await review(id, reviewer, { action: 'approve', ...item.mustRepeat })).status).toBe(409);
    } finally {
      await pool.query('DROP TRIGGER pagw_test_swap ON case_events');
      await pool.query('DROP FUNCTION pagw_test_swap_patient()');
    }
    expect(await countRows(pool, 'review_gates', 'case_id = $1', [id])).toBe(2);
  });

  const biologic = (memberId: string, extra: Partial<OrmOrderOptions> = {}) =>
    order({
      memberId,
      cpt: 'J0135',
      codingSystem: 'HCPCS',
      cptText: 'Injection, adalimumab, 20 mg',
      quantity: 2,
      diagnosis: { code: 'L40.54', text: 'Psoriatic juvenile arthropathy' },
      ...extra,
    });

  it('the seed: J0135 for one patient at $4,200 needs a medical director; the approval cannot be replayed against another patient or procedure', async () => {
    const pool = gw.gateway.db.pool;
    const a = await biologic('W210000001');
    const otherPatient = await biologic('W210000002', { mrn: 'MRN-200777' });
    const otherProcedure = await order({
      memberId: 'W210000003',
      cpt: 'J1745',
      codingSystem: 'HCPCS',
      cptText: 'Injection, infliximab, 10 mg',
      quantity: 30,
    });
    for (const id of [a, otherPatient, otherProcedure])
      await caseWhen(id, (c) => c.state === 'awaiting_review');
    const item = await queueItem(a, director);
    expect(item.gate).toMatchObject({
      reason: 'policy',
      requiredRole: 'medical_director',
      approvalsRequired: 1,
      severity: 'high',
      onExpiry: 'reject',
      policy: { id: 'biologic-over-1000', version: '2026.03.1' },
      facts: { drugClass: ['biologic'], estimatedCost: 4200, serviceCategory: ['pharmacy'] },
    });
    expect(item.canDecide).toBe(true);
    expect(item.submissionKey).toMatch(
      /^pa:clinic-a:pt-[0-9a-f]{16}:example-health-plan:J0135:[0-9a-f]{32}$/,
    );
    // The matched policy and its version are recorded with the case.
    const reviewEvent = (await readJson(await gw.get(`/cases/${a}`))).events.at(-1);
    expect(reviewEvent).toMatchObject({
      event: 'review_requested',
      data: { policyId: 'biologic-over-1000', policyVersion: '2026.03.1', requiredRole: 'medical_director' },
    });

    // A utilization reviewer may not sign off a medical director's gate: 403, audited.
    expect((await queueItem(a, reviewer)).canDecide).toBe(false);
    expect((await review(a, reviewer, { action: 'approve', ...item.mustRepeat })).status).toBe(403);

    // The director's approval of A, replayed against another patient's and another procedure's case.
    for (const other of [otherPatient, otherProcedure]) {
      const target = await queueItem(other, director);
      expect(target.submissionKey).not.toBe(item.submissionKey);
      const res = await review(other, director, {
        ...target.mustRepeat,
        action: 'approve',
        submissionKey: item.submissionKey,
      });
      expect(res.status).toBe(409);
      expect((await readJson(res)).issue[0].details.coding[0].code).toBe('PAGW_IDEMPOTENCY_KEY_MISMATCH');
      // …or A's whole binding sent to the other case.
      const whole = await review(other, director, { action: 'approve', ...item.mustRepeat });
      expect(whole.status).toBe(409);
      expect(await submissionsTo(other)).toHaveLength(0);
      expect((await readJson(await gw.get(`/cases/${other}`))).state).toBe('awaiting_review');
    }
    const refusals = await pool.query(
      `SELECT case_id, actor, details FROM audit_log WHERE action = 'case.review_refused' AND case_id = ANY($1) ORDER BY seq`,
      [[a, otherPatient, otherProcedure]],
    );
    expect(refusals.rows.map((r) => [r.case_id, r.details.errorCode])).toEqual([
      [a, 'PAGW_AUTH_FORBIDDEN'],
      [otherPatient, 'PAGW_IDEMPOTENCY_KEY_MISMATCH'],
      [otherPatient, 'PAGW_IDEMPOTENCY_KEY_MISMATCH'],
      [otherProcedure, 'PAGW_IDEMPOTENCY_KEY_MISMATCH'],
      [otherProcedure, 'PAGW_IDEMPOTENCY_KEY_MISMATCH'],
    ]);
    expect(refusals.rows[1].actor).toBe('user:dr.house@goodhealth.example.org');
    expect(await submissionsTo(a)).toHaveLength(0);

    // The director approves A itself: one 278, the case decided; the audit names the person.
    const ok = await review(a, director, { action: 'approve', ...item.mustRepeat });
    expect(ok.status).toBe(200);
    const final = await caseWhen(a, (c) => c.state === 'delivered');
    expect(final.decision.outcome).toBe('approved');
    expect((await submissionsTo(a)).filter((r) => r.accepted)).toHaveLength(1);
    const approval = await pool.query(
      `SELECT actor, details FROM audit_log WHERE case_id = $1 AND action = 'case.submitted'`,
      [a],
    );
    expect(approval.rows[0]).toMatchObject({
      actor: 'user:dr.house@goodhealth.example.org',
      details: {
        role: 'medical_director',
        submissionKey: item.submissionKey,
        policyId: 'biologic-over-1000',
      },
    });
    // The payer's answer is recorded on the approval it rests on: the decision's audit chain names the approver,
    // then the connector that carried the 278.
    const decided = await pool.query(
      `SELECT details FROM audit_log WHERE case_id = $1 AND action = 'case.decided'`,
      [a],
    );
    const chain = decided.rows[0].details.chain as Array<{ as: string; id: string; role?: string }>;
    expect(chain.slice(-2)).toMatchObject([
      { as: 'reviewer', id: 'user:dr.house@goodhealth.example.org', role: 'medical_director' },
      { as: 'connector', channel: 'x12' },
    ]);
  });

  it('two distinct approvers: the first approval is recorded (202), a second click by the same person counts once, the second person submits', async () => {
    const id = await order({ memberId: 'W220000001', cpt: '22612', cptText: 'Lumbar fusion', quantity: 1 });
    await caseWhen(id, (c) => c.state === 'awaiting_review');
    const item = await queueItem(id);
    expect(item.gate).toMatchObject({
      requiredRole: 'utilization_reviewer',
      approvalsRequired: 2,
      approvals: 0,
    });
    const first = await review(id, reviewer, { action: 'approve', ...item.mustRepeat });
    expect(first.status).toBe(202);
    expect(await readJson(first)).toMatchObject({
      state: 'awaiting_review',
      approvals: 1,
      approvalsRequired: 2,
    });
    const again = await review(id, reviewer, { action: 'approve', ...item.mustRepeat });
    expect(await readJson(again)).toMatchObject({ alreadyRecorded: true, state: 'awaiting_review' });
    expect(await queueItem(id)).toMatchObject({ canDecide: false, gate: { approvals: 1 } });
    expect(await queueItem(id, reviewer2)).toMatchObject({ canDecide: true });
    expect(await submissionsTo(id)).toHaveLength(0);
    const second = await review(id, reviewer2, { action: 'approve', ...item.mustRepeat });
    expect(second.status).toBe(200);
    expect(await readJson(second)).toMatchObject({ state: 'submitted', approvals: 2 });
    await caseWhen(id, (c) => c.state === 'delivered');
    expect((await submissionsTo(id)).filter((r) => r.accepted)).toHaveLength(1);
    const approvers = await gw.gateway.db.pool.query(
      `SELECT approver FROM review_approvals WHERE case_id = $1 ORDER BY at`,
      [id],
    );
    expect(approvers.rows.map((r) => r.approver)).toEqual([
      'user:ur.nurse@goodhealth.example.org',
      'user:ur.second@goodhealth.example.org',
    ]);
  });

  it('request changes: units edited → new version, new key, before/after audited, a new review; the old screen is refused', async () => {
    const pool = gw.gateway.db.pool;
    const id = await biologic('W230000001');
    await caseWhen(id, (c) => c.state === 'awaiting_review');
    const item = await queueItem(id, director);
    const res = await review(id, director, {
      action: 'request_changes',
      ...item.mustRepeat,
      changes: [{ sequence: 1, quantity: { value: 1 } }],
    });
    expect(res.status).toBe(200);
    const changed = await readJson(res);
    expect(changed).toMatchObject({ state: 'awaiting_review', version: item.caseVersion + 1 });
    expect(changed.submissionKey).not.toBe(item.submissionKey);
    const audit = await pool.query(
      `SELECT actor, details FROM audit_log WHERE case_id = $1 AND action = 'case.changes_requested'`,
      [id],
    );
    expect(audit.rows[0]).toMatchObject({
      actor: 'user:dr.house@goodhealth.example.org',
      details: {
        before: [{ sequence: 1, code: { code: 'J0135' }, quantity: { value: 2 } }],
        after: [{ sequence: 1, code: { code: 'J0135' }, quantity: { value: 1 } }],
        previousKey: item.submissionKey,
        submissionKey: changed.submissionKey,
      },
    });
    // A new review of the edited request ($2,100: still the director's), bound to the new key.
    const next = await queueItem(id, director);
    expect(next).toMatchObject({ submissionKey: changed.submissionKey, caseVersion: item.caseVersion + 1 });
    expect(next.gate).toMatchObject({
      reason: 'changes',
      requiredRole: 'medical_director',
      facts: { estimatedCost: 2100 },
    });
    expect(next.serviceCodes[0].quantity).toEqual({ value: 1, unit: 'UN' });
    const stale = await review(id, director, { action: 'approve', ...item.mustRepeat });
    expect(stale.status).toBe(409);
    expect((await readJson(stale)).issue[0].details.coding[0].code).toBe('PAGW_IDEMPOTENCY_KEY_MISMATCH');
    expect((await review(id, director, { action: 'approve', ...next.mustRepeat })).status).toBe(200);
    const final = await caseWhen(id, (c) => c.state === 'delivered');
    expect(final.request.serviceLines[0].quantity.value).toBe(1);
    expect(final.events.map((e: { event: string }) => e.event)).toEqual([
      'received',
      'validated',
      'eligibility_checked',
      'review_requested',
      'changes_requested',
      'submitted',
      'decided',
      'delivered',
    ]);
    expect((await submissionsTo(id)).filter((r) => r.accepted)).toHaveLength(1);
    const sent = await pool.query(
      `SELECT id, tenant_id, request, response FROM payer_submissions WHERE case_id = $1 AND purpose = 'submit'`,
      [id],
    );
    // The payload is sealed at rest (PHI): opened through the audited path, as the gateway's own readers do.
    const opened = await withTransaction(pool, (tx) =>
      openSubmissionPayloads(
        tx,
        gw.gateway.vault.phi,
        { tenant: sent.rows[0].tenant_id, reader: 'system:test' },
        sent.rows[0],
      ),
    );
    expect(opened.request).toMatch(/\*UN\*1~/);
  });

  it('rollout modes: assistive stops every submission for a reviewer; shadow prepares it and a person submits it (accuracy measured)', async () => {
    const pool = gw.gateway.db.pool;
    const cpap = await order({
      memberId: 'W250000001',
      cpt: 'E0601',
      codingSystem: 'HCPCS',
      cptText: 'CPAP device',
    });
    const nursing = await order({
      memberId: 'W250000002',
      cpt: 'G0299',
      codingSystem: 'HCPCS',
      cptText: 'RN visit',
      quantity: 10,
    });
    const nursing2 = await order({
      memberId: 'W250000003',
      cpt: 'G0299',
      codingSystem: 'HCPCS',
      cptText: 'RN visit',
      quantity: 12,
    });
    for (const id of [cpap, nursing, nursing2]) await caseWhen(id, (c) => c.state === 'awaiting_review');

    const assistive = await queueItem(cpap);
    expect(assistive.gate).toMatchObject({
      reason: 'assistive',
      rolloutMode: 'assistive',
      requiredRole: 'reviewer',
    });
    expect((await review(cpap, reviewer, { action: 'approve', ...assistive.mustRepeat })).status).toBe(200);
    await caseWhen(cpap, (c) => c.state === 'delivered');
    expect((await submissionsTo(cpap)).filter((r) => r.accepted)).toHaveLength(1);

    const shadow = await queueItem(nursing);
    expect(shadow.gate).toMatchObject({ reason: 'shadow', rolloutMode: 'shadow' });
    const refused = await review(nursing, reviewer, { action: 'approve', ...shadow.mustRepeat });
    expect(refused.status).toBe(409);
    expect((await readJson(refused)).issue[0].details.text).toMatch(/shadow mode/);
    const handed = await review(nursing, reviewer, {
      action: 'submitted_externally',
      draftAccepted: true,
      ...shadow.mustRepeat,
    });
    expect(await readJson(handed)).toMatchObject({ state: 'cancelled', draftAccepted: true });
    const shadow2 = await queueItem(nursing2);
    await review(nursing2, reviewer, {
      action: 'submitted_externally',
      draftAccepted: false,
      ...shadow2.mustRepeat,
    });
    expect(await submissionsTo(nursing)).toHaveLength(0);
    expect(await submissionsTo(nursing2)).toHaveLength(0);
    const accuracy = await readJson(
      await fetch(`${gw.gateway.url}/review/shadow-accuracy`, { headers: as(reviewer) }),
    );
    expect(accuracy.serviceLines.home_health).toEqual({ handedOff: 2, draftAccepted: 1, accuracy: 0.5 });
    const event = await pool.query(
      `SELECT data FROM case_events WHERE case_id = $1 AND event = 'cancelled'`,
      [nursing],
    );
    expect(event.rows[0].data).toMatchObject({ reason: 'SUBMITTED_EXTERNALLY', draftAccepted: true });
  });

  it('retry paths: a redelivered order and a reviewer’s double click give one gate, one approval, one 278; the retry context says so', async () => {
    const pool = gw.gateway.db.pool;
    const message = buildOrmOrder({
      messageId: `REV-REDELIVER-${Date.now()}`,
      memberId: 'W270000001',
      cpt: '63030',
      cptText: 'Laminotomy',
    });
    const first = await gw.postHl7(message);
    const id = (await readJson(first)).caseIds[0];
    await caseWhen(id, (c) => c.state === 'awaiting_review');
    expect((await readJson(await gw.postHl7(message))).caseIds).toEqual([id]); // redelivered while in review
    const item = await queueItem(id);
    const body = { action: 'approve', ...item.mustRepeat };
    const clicks = await Promise.all([
      review(id, reviewer, body),
      review(id, reviewer, body),
      review(id, reviewer, body),
    ]);
    expect(clicks.map((r) => r.status)).toEqual([200, 200, 200]);
    expect((await Promise.all(clicks.map(readJson))).filter((b) => b.alreadyRecorded)).toHaveLength(2);
    const final = await caseWhen(id, (c) => c.state === 'delivered');
    expect((await readJson(await gw.postHl7(message))).caseIds).toEqual([id]); // redelivered after the decision
    await new Promise((resolve) => setTimeout(resolve, 300));
    expect((await submissionsTo(id)).filter((r) => r.accepted)).toHaveLength(1);
    expect(await countRows(pool, 'review_approvals', 'case_id = $1', [id])).toBe(1);
    expect(await countRows(pool, 'review_gates', 'case_id = $1', [id])).toBe(1);
    expect(final.retryContext).toMatchObject({
      gates: { count: 1, open: null },
      lastDecision: { action: 'approve', by: 'user:ur.nurse@goodhealth.example.org', gateSeq: 1 },
      approval: { landed: true, gateSeq: 1, approvers: ['user:ur.nurse@goodhealth.example.org'] },
      submission: {
        fired: true,
        live: true,
        traceNumber: traceNumberFor(id),
        submissionKey: item.submissionKey,
      },
      attempts: { x12: { byPurpose: { eligibility: 1, submit: 1 } } },
    });
    expect(final.retryContext.submission.confirmation.certificationNumber).toBe(
      final.decision.certificationNumber,
    );
    // The status events carry it: the one of the decision says the submission fired, with its trace number.
    const events = await pool.query<{ value: Buffer }>(
      `SELECT value FROM outbox WHERE case_id = $1 AND headers ->> 'pagw-kind' = 'status' ORDER BY id`,
      [id],
    );
    const statuses = events.rows.map((r) => JSON.parse(r.value.toString('utf8')));
    const inReview = statuses.find((e) => e.status.state === 'awaiting_review');
    expect(inReview.retryContext).toMatchObject({
      gates: { count: 1, open: { seq: 1, requiredRole: 'utilization_reviewer' } },
      approval: { landed: false },
    });
    const decided = statuses.find((e) => e.status.state === 'decided');
    expect(decided.retryContext).toMatchObject({
      approval: { landed: true },
      submission: { fired: true, traceNumber: traceNumberFor(id) },
    });
  });

  it('a failed case retried after its approval does not ask for the approval again (same key, approval reused)', async () => {
    const pool = gw.gateway.db.pool;
    const id = await order({ memberId: 'REJ9990271', cpt: '63030', cptText: 'Laminotomy' });
    await caseWhen(id, (c) => c.state === 'awaiting_review');
    const item = await queueItem(id);
    expect((await review(id, reviewer, { action: 'approve', ...item.mustRepeat })).status).toBe(200);
    await caseWhen(id, (c) => c.state === 'failed'); // the payer's 999 refused our interchange
    // An operator retries the case (the exceptions API of #14 does the same two writes).
    await withTransaction(pool, async (tx) => {
      const { after } = await transitionCase(tx, {
        tenant: 'clinic-a',
        caseId: id,
        event: 'retried',
        actor: { id: 'user:ops@goodhealth.example.org', onBehalfOf: 'tenant:clinic-a' },
        at: clock.now(),
      });
      await scheduleAdvance(tx, after, clock.now(), clock.now());
    });
    const final = await caseWhen(
      id,
      (c) =>
        c.state === 'failed' &&
        c.events.filter((e: { event: string }) => e.event === 'submitted').length === 2,
    );
    const submitted = final.events.filter((e: { event: string }) => e.event === 'submitted');
    expect(submitted[1].data).toMatchObject({ approvalReused: 1, submissionKey: item.submissionKey });
    expect(final.events.filter((e: { event: string }) => e.event === 'review_requested')).toHaveLength(1);
    expect(await countRows(pool, 'review_gates', 'case_id = $1', [id])).toBe(1);
    expect(final.retryContext).toMatchObject({
      gates: { count: 1 },
      approval: { landed: true },
      submission: { live: false },
    });
  });

  // Last: these move the gateway's clock days ahead.
  it('expiry: a gate left open past its policy’s deadline is rejected (REVIEW_EXPIRED) or escalated to a medical director', async () => {
    const rejectMe = await biologic('W240000001');
    const escalateMe = await order({
      memberId: 'W240000002',
      cpt: '22612',
      cptText: 'Lumbar fusion',
      quantity: 1,
    });
    await caseWhen(rejectMe, (c) => c.state === 'awaiting_review');
    await caseWhen(escalateMe, (c) => c.state === 'awaiting_review');
    const before = await queueItem(escalateMe);
    clock.advance(49 * 3_600_000); // the four-eyes gate expires after 48 h
    const escalated = await caseWhen(escalateMe, (c) => c.events.at(-1).event === 'review_escalated');
    expect(escalated.events.at(-1)).toMatchObject({
      actor: 'system:review-expiry',
      data: { reason: 'REVIEW_EXPIRED', fromRole: 'utilization_reviewer', toRole: 'medical_director' },
    });
    const item = await queueItem(escalateMe, director);
    expect(item.gate).toMatchObject({
      reason: 'escalation',
      requiredRole: 'medical_director',
      approvalsRequired: 1,
    });
    expect(item.submissionKey).toBe(before.submissionKey);
    expect((await review(escalateMe, reviewer, { action: 'approve', ...item.mustRepeat })).status).toBe(403);
    expect((await readJson(await gw.get(`/cases/${rejectMe}`))).state).toBe('awaiting_review');
    clock.advance(24 * 3_600_000); // 73 h: the biologic gate (72 h, then reject) expires
    const rejected = await caseWhen(rejectMe, (c) => c.state === 'rejected');
    expect(rejected.events.at(-1)).toMatchObject({ event: 'rejected', data: { reason: 'REVIEW_EXPIRED' } });
    expect(await submissionsTo(rejectMe)).toHaveLength(0);
    // Each expiry is an exception task for the role whose gate expired (#14: review expired).
    const expiredTask = async (id: string) =>
      (
        await readJson(
          await fetch(`${gw.gateway.url}/tasks?kind=review_expired&caseId=${id}`, { headers: as(reviewer) }),
        )
      ).items;
    expect(await expiredTask(escalateMe)).toMatchObject([
      {
        kind: 'review_expired',
        state: 'open',
        ownerRole: 'utilization_reviewer',
        reasonCodes: ['REVIEW_EXPIRED', 'ESCALATED'],
        details: { escalatedTo: 'medical_director' },
      },
    ]);
    expect(await expiredTask(rejectMe)).toMatchObject([
      {
        kind: 'review_expired',
        ownerRole: rejected.events.at(-1).data.gateRole,
        reasonCodes: ['REVIEW_EXPIRED', 'CASE_REJECTED'],
      },
    ]);
  });
});
