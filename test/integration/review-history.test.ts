/**
 * The review history and the retry context are read in one statement each (JSON sub-selects, issue #17). These
 * tests hold them to the per-table reads they replaced: the same records, dates as dates, in the same order.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  type CaseRecord,
  closeGate,
  type Database,
  isRetryContextEvent,
  listApprovals,
  listGates,
  listReviewHistory,
  loadRetryContext,
  openGate,
  type RetryContextFacts,
  recordApproval,
  retryContextColumnsSql,
  retryContextFrom,
  type TransitionInput,
  transitionCase,
  withTransaction,
} from '../../src/store/index.ts';
import { buildRetryContext } from '../../src/workflow/review/retry-context.ts';
import { openTestDatabase, testDatabaseKind } from '../helpers/database.ts';
import { insertSampleCase, testActor } from '../helpers/store.ts';

describe(`review history and retry context in one read on ${testDatabaseKind()}`, () => {
  let db: Database;
  beforeAll(async () => {
    db = await openTestDatabase();
  });
  afterAll(() => db?.close());

  const t = (minute: number, micros = 0) =>
    `2026-03-01T10:${String(minute).padStart(2, '0')}:00.${String(micros).padStart(6, '0')}+00`;

  async function caseWithHistory() {
    const record = await insertSampleCase(db.pool);
    const spec = {
      reason: 'policy' as const,
      rolloutMode: 'auto' as const,
      submissionKey: 'key-1',
      requiredRole: 'reviewer',
      approvalsRequired: 2 as const,
      severity: 'high',
      expiresAt: new Date('2026-03-02T10:00:00.000Z'),
      onExpiry: 'escalate' as const,
      escalateTo: 'medical_director',
      facts: { cpt: '70553', amount: 1200 },
    };
    await withTransaction(db.pool, async (tx) => {
      await openGate(tx, {
        tenant: record.tenant,
        caseId: record.id,
        caseVersion: 1,
        at: new Date('2026-03-01T10:01:00.000Z'),
        spec,
      });
      // Two approvals at the same instant: the order falls to the approver, as listApprovals orders them.
      for (const approver of ['user:zed', 'user:amy'])
        await recordApproval(tx, {
          tenant: record.tenant,
          caseId: record.id,
          gateSeq: 1,
          approver,
          role: 'reviewer',
          npi: approver === 'user:amy' ? '1234567893' : null,
          submissionKey: 'key-1',
          at: new Date('2026-03-01T10:02:00.000Z'),
        });
      await closeGate(tx, {
        caseId: record.id,
        seq: 1,
        status: 'approved',
        at: new Date('2026-03-01T10:03:00.000Z'),
        by: 'user:amy',
      });
      await openGate(tx, {
        tenant: record.tenant,
        caseId: record.id,
        caseVersion: 3,
        at: new Date('2026-03-01T10:04:00.000Z'),
        spec: {
          ...spec,
          reason: 'key_mismatch',
          submissionKey: 'key-2',
          expiresAt: null,
          approvalsRequired: 1,
        },
      });
      // A timestamp with microseconds: JSON carries them, a date keeps milliseconds, as pg's own parser does.
      await tx.query(
        `INSERT INTO case_events (case_id, tenant_id, seq, event, from_state, to_state, actor, data, at)
         VALUES ($1, $2, 2, 'review_requested', 'eligibility_checked', 'awaiting_review', 'system:workflow',
                 '{"review": {"gateSeq": 1}}', $3),
                ($1, $2, 3, 'review_approved', 'awaiting_review', 'submitted', 'user:amy', '{"review": {"gateSeq": 1}}', $4),
                ($1, $2, 4, 'decided', 'submitted', 'decided', 'system:workflow', '{"x": 1}', $5)`,
        [record.id, record.tenant, t(1, 123456), t(3), t(5)],
      );
      await tx.query('UPDATE cases SET version = 4 WHERE id = $1', [record.id]); // the events above are 2 to 4
      await tx.query(
        `INSERT INTO payer_submissions (tenant_id, case_id, payer_id, channel, purpose, trace_number, attempt, status,
                                        created_at)
         VALUES ($1, $2, 'payer-a', 'x12', 'submit', 'T1', 1, 'unknown', $3),
                ($1, $2, 'payer-a', 'x12', 'reconcile', 'T1', 1, 'answered', $4)`,
        [record.tenant, record.id, t(6, 999999), t(7)],
      );
    });
    return record;
  }

  it('listReviewHistory returns what listGates and listApprovals return', async () => {
    const record = await caseWithHistory();
    const history = await listReviewHistory(db.pool, record.tenant, record.id);
    expect(history.gates).toEqual(await listGates(db.pool, record.tenant, record.id));
    expect(history.approvals).toEqual(await listApprovals(db.pool, record.tenant, record.id));
    expect(history.gates.map((g) => [g.seq, g.status, g.openedAt instanceof Date])).toEqual([
      [1, 'approved', true],
      [2, 'open', true],
    ]);
    expect(history.gates[0]!.expiresAt).toEqual(new Date('2026-03-02T10:00:00.000Z'));
    expect(history.gates[1]!.expiresAt).toBeNull();
    expect(history.approvals.map((a) => a.approver)).toEqual(['user:amy', 'user:zed']);
  });

  it('a case with no history reads as empty lists', async () => {
    const record = await insertSampleCase(db.pool);
    expect(await listReviewHistory(db.pool, record.tenant, record.id)).toEqual({ gates: [], approvals: [] });
  });

  /** The case's `validated` transition, with more input. */
  const validate = (record: CaseRecord, more: Partial<TransitionInput>) =>
    withTransaction(db.pool, (tx) =>
      transitionCase(tx, {
        tenant: record.tenant,
        caseId: record.id,
        event: 'validated',
        actor: testActor,
        at: new Date('2026-03-01T10:08:00.000Z'),
        ...more,
      }),
    );

  it('the facts read along with a transition give the context a read after it gives', async () => {
    const record = await caseWithHistory();
    const { after, alsoRead } = await validate(record, {
      data: { note: 'not a review event' },
      alsoSelect: retryContextColumnsSql,
    });
    expect(isRetryContextEvent({ note: 'not a review event' })).toBe(false);
    const along = retryContextFrom(alsoRead as unknown as RetryContextFacts, after);
    expect(along).toEqual(await loadRetryContext(db.pool, after));
    expect(along.attempts).toHaveProperty('x12'); // the payer exchanges are in it: the comparison is not of empties
  });

  it('alsoSelect sees the database as before the transition’s own writes', async () => {
    const record = await insertSampleCase(db.pool);
    const { alsoRead } = await validate(record, {
      alsoSelect:
        '(SELECT count(*)::int FROM case_events WHERE tenant_id = $1 AND case_id = $2) AS events_before',
    });
    expect(alsoRead).toEqual({ events_before: 1 }); // the creation event, not the one this transition wrote
  });

  it('says which events the retry context reads, as its SQL does', () => {
    expect(isRetryContextEvent({ review: { gateSeq: 1 } })).toBe(true);
    expect(isRetryContextEvent({ reason: 'REVIEW_EXPIRED' })).toBe(true);
    expect(isRetryContextEvent({ reason: 'OTHER' })).toBe(false);
    expect(isRetryContextEvent(undefined)).toBe(false);
  });

  it('loadRetryContext builds the context from the same facts as the per-table reads', async () => {
    const record = await caseWithHistory();
    const events = await db.pool.query(
      `SELECT event, actor, at, data FROM case_events WHERE tenant_id = $1 AND case_id = $2
          AND (data ? 'review' OR data ->> 'reason' = 'REVIEW_EXPIRED') ORDER BY seq`,
      [record.tenant, record.id],
    );
    const exchanges = await db.pool.query(
      `SELECT channel, purpose, status, trace_number, created_at FROM payer_submissions
        WHERE case_id = $1 AND tenant_id = $2 ORDER BY id`,
      [record.id, record.tenant],
    );
    const expected = buildRetryContext({
      gates: await listGates(db.pool, record.tenant, record.id),
      approvals: await listApprovals(db.pool, record.tenant, record.id),
      events: events.rows,
      exchanges: exchanges.rows.map((r) => ({
        channel: r.channel,
        purpose: r.purpose,
        status: r.status,
        traceNumber: r.trace_number,
        createdAt: r.created_at,
      })),
      submissionKey: 'key-2',
      decision: null,
    });
    const context = await loadRetryContext(db.pool, { ...record, submissionKey: 'key-2', decision: null });
    expect(context).toEqual(expected);
    expect(events.rows).toHaveLength(2); // the filter kept the review events only
  });
});
