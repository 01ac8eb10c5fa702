/**
 * The review gate end to end, who may approve what: a real gateway (HTTP API, step worker, timer worker) on this
 * run's database, the simulated clearinghouse as a separate process (review-gate-harness.ts), orders posted the way
 * an EHR posts them, reviewers deciding through the API — counting what the payer actually received:
 * - a policy gate for a medical director (J0135 at $4,200): a utilization reviewer is refused, the approval cannot
 *   be replayed against another patient's or procedure's case, the director's approval submits one 278;
 * - a four-eyes gate: two distinct approvers, the same person's second click counts once;
 * - request changes: the units edited, a new version and key, before/after audited, a new review;
 * - rollout modes: assistive (a reviewer releases every submission) and shadow (a person submits it; accuracy);
 * - expiry (last: it moves the clock days ahead): a gate rejected or escalated to a medical director.
 * What happens at the submit step after an approval (a changed request, redeliveries, retries):
 * review-gate-submit.test.ts.
 */
import { describe, expect, it } from 'vitest';
import { withTransaction } from '../../src/store/index.ts';
import { openSubmissionPayloads } from '../../src/store/payer-payloads.ts';
import { testDatabaseKind } from '../helpers/database.ts';
import { readJson } from '../helpers/http.ts';
import {
  as,
  biologic,
  caseWhen,
  clock,
  director,
  gw,
  order,
  queueItem,
  review,
  reviewer,
  reviewer2,
  startReviewGate,
  submissionsTo,
} from './review-gate-harness.ts';

describe(`review gate end to end: approvals (${testDatabaseKind()})`, () => {
  startReviewGate();

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
