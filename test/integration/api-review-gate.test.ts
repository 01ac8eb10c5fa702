import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildApp } from '../../src/api/app.ts';
import { reviewRouter } from '../../src/api/review-routes.ts';
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
    const record = await insertSampleCase(db.pool, { tenant });
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

  it('lists cases awaiting review with what a decision must repeat', async () => {
    const caseId = await caseAwaitingReview();
    const entry = await queueEntry(caseId);
    expect(entry).toMatchObject({
      id: caseId,
      caseVersion: 4,
      patientIdentifiers: [{ value: 'MRN-100234', type: 'MR' }],
      serviceCodes: [{ system: 'http://www.ama-assn.org/go/cpt', code: '70553' }],
    });
  });

  it('an approval bound to the case’s patient, services and version submits it, audited with who and for whom', async () => {
    const caseId = await caseAwaitingReview();
    const entry = await queueEntry(caseId);
    const res = await post(
      `/cases/${caseId}/review`,
      reviewer,
      {
        action: 'approve',
        caseVersion: entry.caseVersion,
        patientIdentifier: entry.patientIdentifiers[0],
        serviceCodes: entry.serviceCodes,
      },
      { 'x-on-behalf-of': 'user:attending-md' },
    );
    expect(res.status).toBe(200);
    expect(await readJson(res)).toMatchObject({ state: 'submitted', version: 5 });
    const audit = await db.pool.query(
      `SELECT actor, on_behalf_of, action FROM audit_log WHERE case_id = $1 ORDER BY seq DESC LIMIT 1`,
      [caseId],
    );
    expect(audit.rows[0]).toMatchObject({ on_behalf_of: 'user:attending-md', action: 'case.submitted' });
    expect(audit.rows[0].actor).toMatch(/^token:[0-9a-f-]+\(dr-who\)$/);
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
  });

  it('a rejection ends the case rejected', async () => {
    const caseId = await caseAwaitingReview();
    const entry = await queueEntry(caseId);
    const res = await post(`/cases/${caseId}/review`, reviewer, {
      action: 'reject',
      caseVersion: entry.caseVersion,
      patientIdentifier: entry.patientIdentifiers[0],
      serviceCodes: entry.serviceCodes,
    });
    expect(await readJson(res)).toMatchObject({ state: 'rejected' });
  });

  it('needs the reviewer role, and another tenant’s reviewer sees 404', async () => {
    const caseId = await caseAwaitingReview();
    const entry = await queueEntry(caseId);
    const body = {
      action: 'approve',
      caseVersion: entry.caseVersion,
      patientIdentifier: entry.patientIdentifiers[0],
      serviceCodes: entry.serviceCodes,
    };
    expect((await post(`/cases/${caseId}/review`, ehrOnly, body)).status).toBe(403);
    expect((await post(`/cases/${caseId}/review`, otherTenantReviewer, body)).status).toBe(404);
    expect((await getCase(db.pool, 'clinic-a', caseId))!.state).toBe('awaiting_review');
  });
});
