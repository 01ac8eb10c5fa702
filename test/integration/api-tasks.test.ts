/**
 * The task routes on a real database (PGlite, or PostgreSQL with DATABASE_URL): listing and filtering, claim, assign,
 * release and resolve — each role-limited, tenant-scoped, version-checked and audited, each publishing its task
 * event — and a failed case retried through its channel_failure task.
 */
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildApp } from '../../src/api/app.ts';
import { taskRouter } from '../../src/api/task-routes.ts';
import { ManualClock } from '../../src/clock.ts';
import { createLogger } from '../../src/log/logger.ts';
import { createTaskOutboundPlanner } from '../../src/outbound/tasks/task-outbound.ts';
import {
  type CaseRecord,
  createApiToken,
  type Database,
  transitionCase,
  withTransaction,
} from '../../src/store/index.ts';
import { openTask } from '../../src/store/tasks.ts';
import { planTask } from '../../src/workflow/tasks/tasks.ts';
import { openTestDatabase, testDatabaseKind } from '../helpers/database.ts';
import { readJson } from '../helpers/http.ts';
import { countRows, insertSampleCase, testActor } from '../helpers/store.ts';

const tenants = {
  get: (id: string) => ({ id, displayName: `Clinic ${id}` }),
};

describe(`task routes on ${testDatabaseKind()}`, () => {
  let db: Database;
  let server: Server;
  let base: string;
  const clock = new ManualClock('2026-03-02T10:00:00.000Z');
  const tokens: Record<string, string> = {};
  const taskOutbound = createTaskOutboundPlanner({
    tenants,
    topics: { tasks: 'pa.tasks.v1', ehrTasks: 'pa.ehr.tasks.v1' },
  });

  beforeAll(async () => {
    db = await openTestDatabase();
    const app = buildApp({
      db,
      clock,
      logger: createLogger({ level: 'silent' }),
      routers: [taskRouter({ db, clock, taskOutbound })],
    });
    server = await new Promise<Server>((resolve) => {
      const s = app.listen(0, '127.0.0.1', () => resolve(s));
    });
    base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    for (const [name, tenant, roles] of [
      ['admin', 'clinic-a', ['admin']],
      ['reviewer', 'clinic-a', ['reviewer']],
      ['director', 'clinic-a', ['medical_director']],
      ['erp', 'clinic-a', ['erp']],
      ['other', 'clinic-b', ['admin']],
    ] as const)
      tokens[name] = (
        await createApiToken(db.pool, { tenant, roles: [...roles], label: name, at: clock.now() })
      ).token;
  });
  afterAll(async () => {
    await new Promise((resolve) => server?.close(resolve));
    await db?.close();
  });

  const call = async (method: string, path: string, who: string, body?: unknown) => {
    const res = await fetch(`${base}${path}`, {
      method,
      headers: {
        authorization: `Bearer ${tokens[who]}`,
        ...(body === undefined ? {} : { 'content-type': 'application/json' }),
      },
      ...(body === undefined ? {} : { body: JSON.stringify(body) }),
    });
    const json = await readJson(res);
    return { status: res.status, body: json, code: json?.issue?.[0]?.details?.coding?.[0]?.code };
  };

  async function caseWithTask(
    kind: 'sla_at_risk' | 'channel_failure',
  ): Promise<{ record: CaseRecord; taskId: string }> {
    const record = await insertSampleCase(db.pool, {}, clock.now());
    return withTransaction(db.pool, async (tx) => {
      let current = record;
      if (kind === 'channel_failure') {
        for (const event of ['validated', 'failed'] as const)
          current = (
            await transitionCase(tx, {
              tenant: record.tenant,
              caseId: record.id,
              event,
              actor: testActor,
              at: clock.now(),
            })
          ).after;
      }
      const { task } = await openTask(tx, {
        tenant: record.tenant,
        caseId: record.id,
        spec: planTask(kind, { urgency: 'standard', at: clock.now() }, { reasonCodes: ['TEST'] }),
        actor: testActor,
        at: clock.now(),
        outbox: (t, change) => taskOutbound({ task: t, change, caseRecord: current, at: clock.now() }),
      });
      return { record: current, taskId: task.id };
    });
  }

  it('lists a tenant’s open tasks, filters them, and answers another tenant’s task like a missing one', async () => {
    const { taskId, record } = await caseWithTask('sla_at_risk');
    const listed = await call('GET', `/tasks?caseId=${record.id}`, 'erp');
    expect(listed.status).toBe(200);
    expect(listed.body.items).toEqual([
      expect.objectContaining({
        id: taskId,
        kind: 'sla_at_risk',
        state: 'open',
        ownerRole: 'reviewer',
        canWork: false,
        actions: [],
      }),
    ]);
    expect(
      (await call('GET', `/tasks?kind=sla_at_risk&caseId=${record.id}`, 'reviewer')).body.items[0].actions,
    ).toEqual([
      expect.objectContaining({
        action: 'acknowledge',
        href: `/tasks/${taskId}/resolve`,
        body: { action: 'acknowledge', taskVersion: 1 },
      }),
    ]);
    expect((await call('GET', '/tasks?kind=nope', 'reviewer')).status).toBe(400);
    expect((await call('GET', `/tasks/${taskId}`, 'other')).status).toBe(404);
    expect((await call('GET', '/tasks?state=all', 'other')).body.items).toEqual([]);
    expect((await call('POST', `/tasks/${taskId}/claim`, 'other', { taskVersion: 1 })).status).toBe(404);
    // The event of its opening is in the outbox, keyed by the case.
    expect(await countRows(db.pool, 'outbox', `case_id = $1 AND topic = 'pa.tasks.v1'`, [record.id])).toBe(1);
  });

  it('claim, assign, release and resolve: owner role only, a stale version refused, every change audited and published', async () => {
    const { taskId, record } = await caseWithTask('sla_at_risk');
    const forbidden = await call('POST', `/tasks/${taskId}/claim`, 'erp', { taskVersion: 1 });
    expect(forbidden).toMatchObject({ status: 403, code: 'PAGW_AUTH_FORBIDDEN' });
    // A reviewer task takes any reviewing role.
    const claimed = await call('POST', `/tasks/${taskId}/claim`, 'director', { taskVersion: 1 });
    expect(claimed.body).toMatchObject({
      state: 'claimed',
      version: 2,
    });
    expect(claimed.body.assignee).toMatch(/\(director\)$/);
    const stale = await call('POST', `/tasks/${taskId}/assign`, 'reviewer', {
      taskVersion: 1,
      assignee: 'ana',
    });
    expect(stale).toMatchObject({ status: 409, code: 'PAGW_TASK_VERSION_CONFLICT' });
    const assigned = await call('POST', `/tasks/${taskId}/assign`, 'reviewer', {
      taskVersion: 2,
      assignee: 'ana@clinic',
    });
    expect(assigned.body).toMatchObject({ state: 'claimed', assignee: 'user:ana@clinic', version: 3 });
    const released = await call('POST', `/tasks/${taskId}/assign`, 'reviewer', {
      taskVersion: 3,
      assignee: null,
    });
    expect(released.body).toMatchObject({ state: 'open', assignee: null, version: 4 });
    const wrong = await call('POST', `/tasks/${taskId}/resolve`, 'reviewer', {
      taskVersion: 4,
      action: 'retry',
    });
    expect(wrong).toMatchObject({ status: 409, code: 'PAGW_TASK_ACTION_NOT_ALLOWED' });
    const done = await call('POST', `/tasks/${taskId}/resolve`, 'reviewer', {
      taskVersion: 4,
      action: 'acknowledge',
    });
    expect(done.body.task).toMatchObject({
      state: 'resolved',
      version: 5,
      resolution: { action: 'acknowledge' },
    });
    const again = await call('POST', `/tasks/${taskId}/resolve`, 'reviewer', {
      taskVersion: 5,
      action: 'acknowledge',
    });
    expect(again).toMatchObject({ status: 409, code: 'PAGW_TASK_CLOSED' });

    const { rows } = await db.pool.query<{ action: string }>(
      `SELECT action FROM audit_log WHERE case_id = $1 AND action LIKE 'task.%' ORDER BY seq`,
      [record.id],
    );
    expect(rows.map((r) => r.action)).toEqual([
      'task.opened',
      'task.claimed',
      'task.assigned',
      'task.released',
      'task.resolved',
    ]);
    const events = await db.pool.query<{ value: Buffer }>(
      `SELECT value FROM outbox WHERE case_id = $1 AND topic = 'pa.tasks.v1' ORDER BY id`,
      [record.id],
    );
    expect(events.rows.map((r) => JSON.parse(r.value.toString('utf8')).change)).toEqual([
      'opened',
      'claimed',
      'assigned',
      'released',
      'resolved',
    ]);
  });

  it('a failed case is retried through its channel_failure task (admin), the task closed with it', async () => {
    const { taskId, record } = await caseWithTask('channel_failure');
    expect(
      (await call('POST', `/tasks/${taskId}/resolve`, 'reviewer', { taskVersion: 1, action: 'retry' }))
        .status,
    ).toBe(403);
    const retried = await call('POST', `/tasks/${taskId}/resolve`, 'admin', {
      taskVersion: 1,
      action: 'retry',
    });
    expect(retried.status).toBe(200);
    expect(retried.body).toMatchObject({
      task: { state: 'resolved', resolution: { action: 'retry' } },
      case: { id: record.id, state: 'validated' },
    });
    expect(
      await countRows(db.pool, 'timers', `case_id = $1 AND kind = 'workflow.advance' AND fired_at IS NULL`, [
        record.id,
      ]),
    ).toBe(1);
    // The case is no longer failed: retrying it again is refused.
    const twice = await call('POST', `/cases/${record.id}/retry`, 'admin', {});
    expect(twice).toMatchObject({ status: 409, code: 'PAGW_TASK_ACTION_NOT_ALLOWED' });
  });
});
