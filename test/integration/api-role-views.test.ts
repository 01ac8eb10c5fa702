/**
 * Minimum necessary (issue #10 item 10): every case route, called with a token of every role. ERP and scheduling
 * read service, dates, units, status and reimbursement, and never the patient's name, birth date, MRN or member
 * id (nor the payer's free text); the roles that act on the request read the whole case.
 */
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildApp } from '../../src/api/app.ts';
import { caseConsoleRouter } from '../../src/api/case-console-routes.ts';
import { caseViewFor } from '../../src/api/case-views.ts';
import { reviewRouter } from '../../src/api/review-routes.ts';
import { taskRouter } from '../../src/api/task-routes.ts';
import type { AuthorizationDecision } from '../../src/canonical/index.ts';
import { ManualClock } from '../../src/clock.ts';
import { createLogger } from '../../src/log/logger.ts';
import type { PayerInfo } from '../../src/outbound/case-view.ts';
import {
  type ApiRole,
  apiRoles,
  createApiToken,
  type Database,
  transitionCase,
  withTransaction,
} from '../../src/store/index.ts';
import type { CaseEventType } from '../../src/workflow/case-state-machine.ts';
import { seedPayerExchange } from '../helpers/analytics-seed.ts';
import { openTestDatabase, testDatabaseKind } from '../helpers/database.ts';
import { readJson } from '../helpers/http.ts';
import { insertSampleCase, testActor } from '../helpers/store.ts';
import { testVault } from '../helpers/vault.ts';

/** What the sample request and the decision below hold that only the full view may show. */
const demographics = [
  'Testpatient', // family name
  'Alex', // given name
  '1980-04-12', // birth date
  'MRN-100234', // MRN
  'W123456789', // member id
  'GRP-77', // group number
  'Welby', // the requesting provider's name
  'G43.909', // diagnosis
  'seen by the reviewer', // the payer's free text
];

const operationalRoles = new Set<ApiRole>(['erp', 'scheduling']);
const caseReaders = new Set<ApiRole>(apiRoles.filter((r) => r !== 'pharmacy'));
const evidenceReaders = new Set<ApiRole>([
  'reviewer',
  'utilization_reviewer',
  'medical_director',
  'pharmacist',
  'admin',
]);

const payer: PayerInfo = {
  id: '87726',
  name: 'Example Health Plan',
  feeSchedule: { 'http://www.ama-assn.org/go/cpt|70553': 412.5 },
  currency: 'USD',
};

const decision: AuthorizationDecision = {
  outcome: 'approved',
  reviewActionCode: 'A1',
  certificationNumber: 'AUTH-9001',
  payer: { id: '87726', name: 'Example Health Plan' },
  channel: 'x12',
  authorizedPeriod: { start: '2026-03-05', end: '2026-06-03' },
  lines: [
    {
      sequence: 1,
      outcome: 'approved',
      authorizedQuantity: { value: 1, unit: 'UN' },
      reasons: [{ code: 'AB', text: 'Alex Testpatient was seen by the reviewer' }],
    },
  ],
  reasons: [],
  messages: ['Alex Testpatient (1980-04-12) seen by the reviewer'],
  decidedAt: '2026-03-02T09:00:00Z',
};

describe(`case views per role on ${testDatabaseKind()}`, () => {
  let db: Database;
  let server: Server;
  let base: string;
  let caseId: string;
  let exchangeId: string;
  const tokens = new Map<string, string>();
  const clock = new ManualClock('2026-03-02T10:00:00Z');

  beforeAll(async () => {
    db = await openTestDatabase();
    const record = await insertSampleCase(db.pool, { tenant: 'clinic-a' });
    caseId = record.id;
    const steps: Array<[CaseEventType, Record<string, unknown>]> = [
      ['validated', {}],
      ['eligibility_checked', { payerId: '87726', channel: 'x12' }],
      ['submitted', {}],
      ['decided', { decision }],
    ];
    for (const [event, patch] of steps) {
      await withTransaction(db.pool, (tx) =>
        transitionCase(tx, { tenant: 'clinic-a', caseId, event, actor: testActor, at: clock.now(), patch }),
      );
    }
    // A failed case, for /exceptions.
    const failed = await insertSampleCase(db.pool, { tenant: 'clinic-a' });
    for (const event of ['validated', 'failed'] as const) {
      await withTransaction(db.pool, (tx) =>
        transitionCase(tx, {
          tenant: 'clinic-a',
          caseId: failed.id,
          event,
          actor: testActor,
          at: clock.now(),
          data: event === 'failed' ? { reason: 'STEP_FAILED', errorCode: 'PAGW_INTERNAL' } : {},
        }),
      );
    }
    exchangeId = await seedPayerExchange(db.pool, 'clinic-a', caseId, clock.now());
    const app = buildApp({
      db,
      clock,
      logger: createLogger({ level: 'silent' }),
      payerInfo: () => payer,
      routers: [
        reviewRouter({ db, clock }),
        caseConsoleRouter({
          db,
          clock,
          claimResponseTopic: 'pa.claimresponse.v1',
          payerInfo: () => payer,
          phi: testVault(db).phi,
        }),
        taskRouter({ db, clock }),
      ],
    });
    server = await new Promise<Server>((resolve) => {
      const s = app.listen(0, '127.0.0.1', () => resolve(s));
    });
    base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    const tokenSets: ApiRole[][] = [...apiRoles.map((r) => [r]), ['erp', 'scheduling'], ['erp', 'ehr']];
    for (const roles of tokenSets) {
      const { token } = await createApiToken(db.pool, { tenant: 'clinic-a', roles, at: clock.now() });
      tokens.set(roles.join('+'), token);
    }
  });
  afterAll(async () => {
    await new Promise((resolve) => server?.close(resolve));
    await db?.close();
  });

  const call = (roles: string, method: 'GET' | 'POST', path: string, body?: unknown) =>
    fetch(`${base}${path}`, {
      method,
      headers: {
        authorization: `Bearer ${tokens.get(roles)}`,
        ...(body === undefined ? {} : { 'content-type': 'application/json' }),
      },
      ...(body === undefined ? {} : { body: JSON.stringify(body) }),
    });

  const routes = () => [
    { name: 'GET /cases', method: 'GET' as const, path: '/cases', allowed: caseReaders },
    { name: 'GET /cases/:id', method: 'GET' as const, path: `/cases/${caseId}`, allowed: caseReaders },
    {
      name: 'POST /cases/_search',
      method: 'POST' as const,
      path: '/cases/_search',
      body: { term: 'ORD-5521' },
      allowed: caseReaders,
    },
    {
      name: 'GET /cases/:id/timeline',
      method: 'GET' as const,
      path: `/cases/${caseId}/timeline`,
      allowed: caseReaders,
    },
    {
      name: 'GET /cases/:id/exchanges/:n/evidence',
      method: 'GET' as const,
      path: `/cases/${caseId}/exchanges/${exchangeId}/evidence`,
      allowed: evidenceReaders,
    },
    { name: 'GET /exceptions', method: 'GET' as const, path: '/exceptions', allowed: caseReaders },
  ];

  it.each([...apiRoles])('every case route answers the %s role as its roles allow', async (role) => {
    for (const route of routes()) {
      const res = await call(role, route.method, route.path, route.body);
      const expected = route.allowed.has(role) ? 200 : 403;
      expect(res.status, `${route.name} as ${role}`).toBe(expected);
      const text = await res.text();
      if (expected === 200 && operationalRoles.has(role)) {
        for (const phi of demographics) expect(text, `${route.name} as ${role}: ${phi}`).not.toContain(phi);
      }
    }
  });

  it.each(['erp', 'scheduling', 'erp+scheduling'])(
    'GET /cases/:id as %s: services, dates, units, status and reimbursement, no demographics',
    async (roles) => {
      const body = await readJson(await call(roles, 'GET', `/cases/${caseId}`));
      expect(body.view).toBe('operational');
      expect(body.request).toBeUndefined();
      expect(body).toMatchObject({
        id: caseId,
        state: 'decided',
        outcome: 'approved',
        authorized: true,
        urgency: 'standard',
        order: { placerOrderNumber: 'ORD-5521' },
        expectedReimbursement: { amount: 412.5, currency: 'USD' },
        decision: {
          outcome: 'approved',
          certificationNumber: 'AUTH-9001',
          authorizedPeriod: { start: '2026-03-05', end: '2026-06-03' },
        },
      });
      expect(body.services).toEqual([
        expect.objectContaining({
          code: expect.objectContaining({ code: '70553' }),
          requestedQuantity: { value: 1, unit: 'UN' },
          authorizedQuantity: { value: 1, unit: 'UN' },
          authorizedPeriod: { start: '2026-03-05', end: '2026-06-03' },
          reasonCodes: [{ code: 'AB' }],
          expectedReimbursement: { amount: 412.5, currency: 'USD' },
        }),
      ]);
      expect(body.events.map((e: { event: string }) => e.event)).toEqual([
        'received',
        'validated',
        'eligibility_checked',
        'submitted',
        'decided',
      ]);
      const text = JSON.stringify(body);
      for (const phi of demographics) expect(text).not.toContain(phi);
    },
  );

  it('the timeline as erp: services and reimbursement, exchanges without the payer answer, audit without details', async () => {
    const body = await readJson(await call('erp', 'GET', `/cases/${caseId}/timeline`));
    expect(body.view).toBe('operational');
    expect(body.case.services[0].expectedReimbursement).toEqual({ amount: 412.5, currency: 'USD' });
    expect(body.decision.messages).toBeUndefined();
    expect(body.exchanges).toHaveLength(1);
    expect(body.exchanges[0].outcome).toBeUndefined();
    expect(body.audit.length).toBeGreaterThan(0);
    expect(body.audit.every((row: object) => !('details' in row))).toBe(true);
    expect(body.evidenceAllowed).toBe(false);
    expect(body.claimResponse).toBeUndefined();
  });

  it.each(['ehr', 'reviewer', 'admin', 'erp+ehr'])('GET /cases/:id as %s: the whole case', async (roles) => {
    const body = await readJson(await call(roles, 'GET', `/cases/${caseId}`));
    expect(body.view).toBe('full');
    expect(body.request.patient.name.family).toBe('Testpatient');
    expect(body.decision.messages).toEqual(decision.messages);
  });

  it('review routes refuse ERP and scheduling', async () => {
    for (const role of ['erp', 'scheduling', 'erp+scheduling']) {
      expect((await call(role, 'GET', '/review/queue')).status).toBe(403);
      expect((await call(role, 'POST', `/cases/${caseId}/review`, { action: 'approve' })).status).toBe(403);
    }
  });

  it('picks the widest view a token’s roles allow', () => {
    expect(caseViewFor(['erp'])).toBe('operational');
    expect(caseViewFor(['scheduling', 'erp'])).toBe('operational');
    expect(caseViewFor(['erp', 'ehr'])).toBe('full');
    for (const role of ['ehr', 'reviewer', 'utilization_reviewer', 'medical_director', 'pharmacist', 'admin'])
      expect(caseViewFor([role as ApiRole])).toBe('full');
  });
});
