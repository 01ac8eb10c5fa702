import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildApp } from '../../src/api/app.ts';
import { reviewRouter } from '../../src/api/review-routes.ts';
import type { AuthorizationRequest } from '../../src/canonical/index.ts';
import { ManualClock } from '../../src/clock.ts';
import { createLogger } from '../../src/log/logger.ts';
import {
  createApiToken,
  type Database,
  getCase,
  transitionCase,
  withTransaction,
} from '../../src/store/index.ts';
import { openTestDatabase, testDatabaseKind } from '../helpers/database.ts';
import { readJson } from '../helpers/http.ts';
import { countRows, insertSampleCase, testActor } from '../helpers/store.ts';

describe(`review gate on ${testDatabaseKind()}`, () => {
  let db: Database;
  let server: Server;
  let base: string;
  let reviewer: string;
  let ehrOnly: string;
  let otherTenantReviewer: string;
  const clock = new ManualClock('2026-03-01T10:00:00Z');

  async function caseAwaitingReview(tenant = 'clinic-a'): Promise<string> {
    return caseAwaitingReviewFor({ tenant });
  }

  async function caseAwaitingReviewFor(overrides: Partial<AuthorizationRequest>): Promise<string> {
    const tenant = overrides.tenant ?? 'clinic-a';
    const record = await insertSampleCase(db.pool, overrides);
    for (const event of ['validated', 'eligibility_checked', 'review_requested'] as const) {
      await withTransaction(db.pool, (tx) =>
        transitionCase(tx, { tenant, caseId: record.id, event, actor: testActor, at: clock.now() }),
      );
    }
    return record.id;
  }

  beforeAll(async () => {
    db = await openTestDatabase();
    const app = buildApp({
      db,
      clock,
      logger: createLogger({ level: 'silent' }),
      routers: [reviewRouter({ db, clock })],
    });
    server = await new Promise<Server>((resolve) => {
      const s = app.listen(0, '127.0.0.1', () => resolve(s));
    });
    base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    reviewer = (
      await createApiToken(db.pool, {
        tenant: 'clinic-a',
        roles: ['reviewer'],
        label: 'dr-who',
        at: clock.now(),
      })
    ).token;
    ehrOnly = (await createApiToken(db.pool, { tenant: 'clinic-a', roles: ['ehr'], at: clock.now() })).token;
    otherTenantReviewer = (
      await createApiToken(db.pool, { tenant: 'clinic-b', roles: ['reviewer'], at: clock.now() })
    ).token;
  });
  afterAll(async () => {
    await new Promise((resolve) => server?.close(resolve));
    await db?.close();
  });

  const post = (path: string, token: string, body: unknown, headers: Record<string, string> = {}) =>
    fetch(`${base}${path}`, {
      method: 'POST',
      headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json', ...headers },
      body: JSON.stringify(body),
    });

  async function queueEntry(caseId: string) {
    const queue = await readJson(
      await fetch(`${base}/review/queue`, { headers: { authorization: `Bearer ${reviewer}` } }),
    );
    return queue.items.find((item: { id: string }) => item.id === caseId);
  }

  it('lists cases awaiting review with what a decision must repeat, the submission key included', async () => {
    const caseId = await caseAwaitingReview();
    const entry = await queueEntry(caseId);
    expect(entry).toMatchObject({
      id: caseId,
      caseVersion: 4,
      patientIdentifiers: [{ value: 'MRN-100234', type: 'MR' }],
      serviceCodes: [{ system: 'http://www.ama-assn.org/go/cpt', code: '70553' }],
      gate: { requiredRole: 'reviewer', approvalsRequired: 1, approvals: 0 },
      canDecide: true,
    });
    expect(entry.submissionKey).toMatch(/^pa:clinic-a:pt-[0-9a-f]{16}:87726:70553:[0-9a-f]{32}$/);
    expect(entry.mustRepeat).toEqual({
      submissionKey: entry.submissionKey,
      caseVersion: 4,
      patientIdentifiers: entry.patientIdentifiers,
      serviceCodes: [{ system: 'http://www.ama-assn.org/go/cpt', code: '70553' }],
    });
    expect(JSON.stringify(entry.submissionKey)).not.toContain('MRN');
  });

  it('an approval bound to the case’s patient, services, version and key submits it, audited with who; a header cannot say for whom', async () => {
    const caseId = await caseAwaitingReview();
    const entry = await queueEntry(caseId);
    const res = await post(
      `/cases/${caseId}/review`,
      reviewer,
      { action: 'approve', ...entry.mustRepeat },
      { 'x-on-behalf-of': 'user:attending-md' },
    );
    expect(res.status).toBe(200);
    expect(await readJson(res)).toMatchObject({ state: 'submitted', version: 5 });
    const audit = await db.pool.query(
      `SELECT actor, on_behalf_of, action, details FROM audit_log WHERE case_id = $1 ORDER BY seq DESC LIMIT 1`,
      [caseId],
    );
    expect(audit.rows[0]).toMatchObject({ on_behalf_of: 'tenant:clinic-a', action: 'case.submitted' });
    expect(audit.rows[0].details).toMatchObject({ submissionKey: entry.submissionKey, review: 'approve' });
    expect(audit.rows[0].actor).toMatch(/^token:[0-9a-f-]+\(dr-who\)$/);
    expect((await getCase(db.pool, 'clinic-a', caseId))!.submissionKey).toBe(entry.submissionKey);
    expect(await countRows(db.pool, 'timers', `case_id = $1 AND kind = 'workflow.advance'`, [caseId])).toBe(
      1,
    );
  });

  it.each([
    ['a stale case version', (e: Record<string, unknown>) => ({ ...e, caseVersion: 3 }), 'caseVersion'],
    [
      'another patient',
      (e: Record<string, unknown>) => ({ ...e, patientIdentifier: { value: 'MRN-999' } }),
      'patientIdentifier',
    ],
    [
      'a different service',
      (e: Record<string, unknown>) => ({
        ...e,
        serviceCodes: [{ system: 'http://www.ama-assn.org/go/cpt', code: '70551' }],
      }),
      'serviceCodes',
    ],
    ['no services', (e: Record<string, unknown>) => ({ ...e, serviceCodes: [] }), 'serviceCodes'],
  ])('refuses a decision bound to %s and changes nothing', async (_label, mutate, location) => {
    const caseId = await caseAwaitingReview();
    const entry = await queueEntry(caseId);
    const good = {
      action: 'approve',
      submissionKey: entry.submissionKey,
      caseVersion: entry.caseVersion,
      patientIdentifier: entry.patientIdentifiers[0],
      serviceCodes: entry.serviceCodes,
    };
    const res = await post(`/cases/${caseId}/review`, reviewer, mutate(good));
    expect(res.status).toBe(409);
    const body = await readJson(res);
    expect(body.issue.map((i: { expression: string[] }) => i.expression[0])).toContain(location);
    expect(body.issue[0].details.coding[0].code).toBe('PAGW_REVIEW_BINDING_MISMATCH');
    expect((await getCase(db.pool, 'clinic-a', caseId))!).toMatchObject({
      state: 'awaiting_review',
      version: 4,
    });
    const refused = await db.pool.query(
      `SELECT details FROM audit_log WHERE case_id = $1 AND action = 'case.review_refused'`,
      [caseId],
    );
    expect(refused.rows).toHaveLength(1);
    expect(refused.rows[0].details).toMatchObject({
      errorCode: 'PAGW_REVIEW_BINDING_MISMATCH',
      problems: expect.arrayContaining([location]),
    });
  });

  it('an approval carrying another request’s key (another patient) is 409 IDEMPOTENCY_KEY_MISMATCH, audited, nothing changed', async () => {
    const caseId = await caseAwaitingReview();
    const otherId = await caseAwaitingReviewFor({
      patient: {
        identifiers: [{ system: 'urn:oid:2.16.840.1.113883.19.5', value: 'MRN-555000', type: 'MR' }],
      },
    });
    const entry = await queueEntry(caseId);
    const other = await queueEntry(otherId);
    expect(other.submissionKey).not.toBe(entry.submissionKey);
    const res = await post(`/cases/${caseId}/review`, reviewer, {
      action: 'approve',
      ...entry.mustRepeat,
      submissionKey: other.submissionKey,
    });
    expect(res.status).toBe(409);
    const body = await readJson(res);
    expect(body.issue[0].details.coding[0].code).toBe('PAGW_IDEMPOTENCY_KEY_MISMATCH');
    expect(body.issue[0].expression).toEqual(['submissionKey']);
    expect((await getCase(db.pool, 'clinic-a', caseId))!).toMatchObject({
      state: 'awaiting_review',
      version: 4,
    });
    const refused = await db.pool.query(
      `SELECT actor, details FROM audit_log WHERE case_id = $1 AND action = 'case.review_refused'`,
      [caseId],
    );
    expect(refused.rows).toHaveLength(1);
    expect(refused.rows[0].details).toMatchObject({
      errorCode: 'PAGW_IDEMPOTENCY_KEY_MISMATCH',
      givenKey: other.submissionKey,
      submissionKey: entry.submissionKey,
    });
    // Junk in the key field is not echoed into the audit log.
    await post(`/cases/${caseId}/review`, reviewer, {
      action: 'approve',
      ...entry.mustRepeat,
      submissionKey: 'MRN-100234 Alex',
    });
    const junk = await db.pool.query(
      `SELECT details FROM audit_log WHERE case_id = $1 AND action = 'case.review_refused' ORDER BY seq DESC LIMIT 1`,
      [caseId],
    );
    expect(junk.rows[0].details.givenKey).toBe('malformed');
  });

  it('a decision without the submission key is refused and audited', async () => {
    const caseId = await caseAwaitingReview();
    const entry = await queueEntry(caseId);
    const { submissionKey: _omitted, ...withoutKey } = entry.mustRepeat;
    const res = await post(`/cases/${caseId}/review`, reviewer, { action: 'approve', ...withoutKey });
    expect(res.status).toBe(409);
    expect((await readJson(res)).issue[0].expression).toEqual(['submissionKey']);
    expect(
      await countRows(db.pool, 'audit_log', `case_id = $1 AND action = 'case.review_refused'`, [caseId]),
    ).toBe(1);
  });

  it('a double click approves once: the repeat answers the same and records nothing more', async () => {
    const caseId = await caseAwaitingReview();
    const entry = await queueEntry(caseId);
    const body = { action: 'approve', ...entry.mustRepeat };
    const [a, b] = await Promise.all([
      post(`/cases/${caseId}/review`, reviewer, body),
      post(`/cases/${caseId}/review`, reviewer, body),
    ]);
    expect([a.status, b.status]).toEqual([200, 200]);
    const answers = [await readJson(a), await readJson(b)];
    expect(answers.map((x) => x.state)).toEqual(['submitted', 'submitted']);
    expect(answers.filter((x) => x.alreadyRecorded)).toHaveLength(1);
    expect(await countRows(db.pool, 'review_approvals', 'case_id = $1', [caseId])).toBe(1);
    expect(await countRows(db.pool, 'case_events', `case_id = $1 AND event = 'submitted'`, [caseId])).toBe(1);
    expect(await countRows(db.pool, 'timers', `case_id = $1 AND kind = 'workflow.advance'`, [caseId])).toBe(
      1,
    );
  });

  it('a rejection ends the case rejected', async () => {
    const caseId = await caseAwaitingReview();
    const entry = await queueEntry(caseId);
    const bad = await post(`/cases/${caseId}/review`, reviewer, { action: 'reject', ...entry.mustRepeat });
    expect(bad.status).toBe(400);
    const res = await post(`/cases/${caseId}/review`, reviewer, {
      action: 'reject',
      reasonCode: 'not_medically_necessary',
      ...entry.mustRepeat,
    });
    expect(await readJson(res)).toMatchObject({ state: 'rejected' });
    const event = await db.pool.query(
      `SELECT data FROM case_events WHERE case_id = $1 AND event = 'rejected'`,
      [caseId],
    );
    expect(event.rows[0].data).toMatchObject({
      reason: 'REVIEW_REJECTED',
      reasonCode: 'not_medically_necessary',
    });
  });

  it('needs the reviewer role, and another tenant’s reviewer sees 404', async () => {
    const caseId = await caseAwaitingReview();
    const entry = await queueEntry(caseId);
    const body = { action: 'approve', ...entry.mustRepeat };
    expect((await post(`/cases/${caseId}/review`, ehrOnly, body)).status).toBe(403);
    expect((await post(`/cases/${caseId}/review`, otherTenantReviewer, body)).status).toBe(404);
    expect((await getCase(db.pool, 'clinic-a', caseId))!.state).toBe('awaiting_review');
  });

  it('escalate: a new gate for a medical director at a new version; the old screen and the old role are refused', async () => {
    const caseId = await caseAwaitingReview();
    const entry = await queueEntry(caseId);
    const res = await post(`/cases/${caseId}/review`, reviewer, { action: 'escalate', ...entry.mustRepeat });
    expect(res.status).toBe(200);
    expect(await readJson(res)).toMatchObject({
      state: 'awaiting_review',
      version: 5,
      gate: { seq: 2, requiredRole: 'medical_director' },
    });
    const next = await queueEntry(caseId);
    expect(next).toMatchObject({
      caseVersion: 5,
      submissionKey: entry.submissionKey,
      canDecide: false,
      gate: { reason: 'escalation', requiredRole: 'medical_director', severity: 'high' },
    });
    expect(
      (await post(`/cases/${caseId}/review`, reviewer, { action: 'approve', ...next.mustRepeat })).status,
    ).toBe(403);
    const director = (
      await createApiToken(db.pool, {
        tenant: 'clinic-a',
        roles: ['medical_director'],
        userId: 'dr.md@clinic-a.example.org',
        npi: '1245319599',
        at: clock.now(),
      })
    ).token;
    expect(
      (await post(`/cases/${caseId}/review`, director, { action: 'approve', ...entry.mustRepeat })).status,
    ).toBe(409);
    const ok = await post(`/cases/${caseId}/review`, director, { action: 'approve', ...next.mustRepeat });
    expect(await readJson(ok)).toMatchObject({ state: 'submitted', version: 6 });
    const gates = await db.pool.query(
      `SELECT seq, status, required_role FROM review_gates WHERE case_id = $1 ORDER BY seq`,
      [caseId],
    );
    expect(gates.rows).toEqual([
      { seq: 1, status: 'escalated', required_role: 'reviewer' },
      { seq: 2, status: 'approved', required_role: 'medical_director' },
    ]);
    const audit = await db.pool.query(
      `SELECT actor, details FROM audit_log WHERE case_id = $1 AND action = 'case.submitted'`,
      [caseId],
    );
    expect(audit.rows[0].actor).toBe('user:dr.md@clinic-a.example.org');
    expect(audit.rows[0].details.chain.at(-1)).toEqual({
      as: 'reviewer',
      id: 'user:dr.md@clinic-a.example.org',
      npi: '1245319599',
      role: 'medical_director',
    });
  });
});
