/**
 * Back-pressure (issue #17, src/inbound/admission.ts): while more workflow steps are due than the limit, an HTTP
 * order waits; when the backlog falls it is accepted, and when it does not fall in time the sender gets 503
 * PAGW_INBOUND_BUSY with Retry-After and nothing is recorded. Bus and MLLP messages wait and are then accepted.
 * No step worker runs here, so the backlog is exactly the orders accepted (one workflow.advance step each).
 */
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildApp } from '../../src/api/app.ts';
import { ManualClock } from '../../src/clock.ts';
import { IntakeAdmission } from '../../src/inbound/admission.ts';
import { acceptInboundMessage, type InboundDeps, inboundOrdersRouter } from '../../src/inbound/index.ts';
import { createLogger } from '../../src/log/logger.ts';
import { createApiToken, type Database } from '../../src/store/index.ts';
import { openTestDatabase, testDatabaseKind } from '../helpers/database.ts';
import { buildOrmOrder } from '../helpers/hl7-orders.ts';
import { readJson } from '../helpers/http.ts';
import { countRows, waitFor } from '../helpers/store.ts';
import { testVault } from '../helpers/vault.ts';

describe(`intake back-pressure on ${testDatabaseKind()}`, () => {
  let db: Database;
  let server: Server;
  let base: string;
  let ehr: string;
  let deps: InboundDeps;
  const clock = new ManualClock('2026-03-03T08:00:00Z');
  const tenant = 'clinic-bp';
  let admission: IntakeAdmission;
  /** The wait of the next admission; the tests set it. */
  const wait = { ms: 60_000 };

  beforeAll(async () => {
    db = await openTestDatabase();
    const logger = createLogger({ level: 'silent' });
    admission = new IntakeAdmission({
      pool: db.pool,
      clock,
      maxBacklog: 2,
      get maxWaitMs() {
        return wait.ms;
      },
      recheckMs: 20,
      // Every check reads the backlog afresh: a cached read could still show the order accepted just before.
      cacheMs: 0,
    });
    deps = { db, clock, logger, deadLetterTopic: 'pa.deadletter.v1', phi: testVault(db).phi, admission };
    const app = buildApp({ db, clock, logger, routers: [inboundOrdersRouter(deps)] });
    server = await new Promise<Server>((resolve) => {
      const s = app.listen(0, '127.0.0.1', () => resolve(s));
    });
    base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    ehr = (await createApiToken(db.pool, { tenant, roles: ['ehr'], label: 'epic', at: clock.now() })).token;
  });
  afterAll(async () => {
    await new Promise((resolve) => server?.close(resolve));
    await db?.close();
  });

  const order = (n: number) => buildOrmOrder({ messageId: `BP-${n}`, memberId: `M${n}`, cpt: '73721' });
  const post = (n: number) =>
    fetch(`${base}/orders/hl7v2`, {
      method: 'POST',
      body: order(n),
      headers: { 'content-type': 'x-application/hl7-v2+er7', authorization: `Bearer ${ehr}` },
    });
  const dueSteps = () => countRows(db.pool, 'timers', `tenant_id = $1 AND lane <> 'timer'`, [tenant]);
  /** What a step worker does when it finishes a step: the timer leaves the queue. */
  const finishOneStep = () =>
    db.pool.query(
      `DELETE FROM timers WHERE id = (SELECT id FROM timers WHERE tenant_id = $1 AND lane <> 'timer' ORDER BY id LIMIT 1)`,
      [tenant],
    );

  it('holds an order while the backlog is at the limit and accepts it once a step finishes', async () => {
    expect((await post(1)).status).toBe(201);
    expect((await post(2)).status).toBe(201);
    expect(await dueSteps()).toBe(2);
    const held = post(3);
    await waitFor(() => admission.figures.waiting === 1, { what: 'the third order to be held' });
    expect(await countRows(db.pool, 'inbound_messages', `tenant_id = $1`, [tenant])).toBe(2);
    await finishOneStep();
    const answer = await held;
    expect(answer.status).toBe(201);
    expect(await countRows(db.pool, 'inbound_messages', `tenant_id = $1`, [tenant])).toBe(3);
    expect(admission.figures.waiting).toBe(0);
  });

  it('answers 503 PAGW_INBOUND_BUSY with Retry-After when the backlog does not fall in time, recording nothing', async () => {
    wait.ms = 200;
    expect(await dueSteps()).toBe(2);
    const answer = await post(4);
    expect(answer.status).toBe(503);
    expect(answer.headers.get('retry-after')).toBe('2');
    const body = await readJson(answer);
    expect(body.issue[0]).toMatchObject({
      code: 'transient',
      details: { coding: [{ code: 'PAGW_INBOUND_BUSY' }] },
    });
    expect(body.issue[0].details.text).toContain('workers.intakeMaxBacklog 2');
    expect(
      await countRows(db.pool, 'inbound_messages', `tenant_id = $1 AND message_key LIKE '%BP-4%'`, [tenant]),
    ).toBe(0);
    // The sender sends it again once the backlog has fallen: accepted.
    await finishOneStep();
    expect((await post(4)).status).toBe(201);
  });

  it('accepts a bus message after the wait rather than refusing it for load', async () => {
    wait.ms = 100;
    expect(await dueSteps()).toBe(2);
    const result = await acceptInboundMessage(deps, {
      tenant,
      format: 'hl7v2',
      raw: Buffer.from(order(5)),
      sender: 'orders-topic',
      transport: 'bus',
    });
    expect(result.outcome).toBe('accepted');
    expect(await dueSteps()).toBe(3);
  });
});
