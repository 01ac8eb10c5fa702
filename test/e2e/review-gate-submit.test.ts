/**
 * The review gate end to end, at the submit step after an approval: a real gateway (HTTP API, step worker, timer
 * worker) on this run's database, the simulated clearinghouse as a separate process (review-gate-harness.ts),
 * orders posted the way an EHR posts them, reviewers deciding through the API — counting what the payer actually
 * received:
 * - a request changed after its approval is not sent: back to review, audited, no 278;
 * - retry paths: a redelivered order and a reviewer's double click give one gate, one approval, one 278, and the
 *   case's retry context (and its status events) say so;
 * - a failed case retried after its approval reuses the approval (same key, no second review).
 * Who may approve what (policy gates, four eyes, request changes, rollout modes, expiry):
 * review-gate-approvals.test.ts.
 */
import { describe, expect, it } from 'vitest';
import { transitionCase, withTransaction } from '../../src/store/index.ts';
import { scheduleAdvance } from '../../src/workers/case-advancer.ts';
import { traceNumberFor } from '../../src/workflow/case-workflow.ts';
import { testDatabaseKind } from '../helpers/database.ts';
import { buildOrmOrder } from '../helpers/hl7-orders.ts';
import { readJson } from '../helpers/http.ts';
import { countRows } from '../helpers/store.ts';
import {
  caseWhen,
  clock,
  gw,
  order,
  queueItem,
  review,
  reviewer,
  startReviewGate,
  submissionsTo,
} from './review-gate-harness.ts';

describe(`review gate end to end: submission after approval (${testDatabaseKind()})`, () => {
  startReviewGate();

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
});
