/**
 * The analytics API on the hand-checkable seed (test/helpers/analytics-seed.ts): every figure below was worked
 * out by hand from the seed's table, on both databases.
 */
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { analyticsRouter } from '../../src/analytics/routes.ts';
import { buildApp } from '../../src/api/app.ts';
import { ManualClock } from '../../src/clock.ts';
import { createLogger } from '../../src/log/logger.ts';
import { createMetrics, registerBusinessMetrics } from '../../src/metrics/index.ts';
import { createApiToken, type Database } from '../../src/store/index.ts';
import { SEED_FROM, SEED_NOW, SEED_TO, seedAnalyticsCases } from '../helpers/analytics-seed.ts';
import { openTestDatabase, testDatabaseKind } from '../helpers/database.ts';
import { readJson } from '../helpers/http.ts';

describe(`analytics on ${testDatabaseKind()}`, () => {
  let db: Database;
  let server: Server;
  let base: string;
  let token: string;
  const clock = new ManualClock(SEED_NOW);

  beforeAll(async () => {
    db = await openTestDatabase();
    await seedAnalyticsCases(db.pool, 'clinic-a');
    await seedAnalyticsCases(db.pool, 'clinic-b'); // another tenant's cases must never count
    const app = buildApp({
      db,
      clock,
      logger: createLogger({ level: 'silent' }),
      routers: [analyticsRouter({ db, clock })],
    });
    server = await new Promise<Server>((resolve) => {
      const s = app.listen(0, '127.0.0.1', () => resolve(s));
    });
    base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    token = (await createApiToken(db.pool, { tenant: 'clinic-a', roles: ['erp'], at: clock.now() })).token;
  });
  afterAll(async () => {
    await new Promise((resolve) => server?.close(resolve));
    await db?.close();
  });

  const get = (path: string, headers: Record<string, string> = {}) =>
    fetch(`${base}${path}`, { headers: { authorization: `Bearer ${token}`, ...headers } });
  const range = `from=${SEED_FROM}&to=${SEED_TO}&tz=UTC`;

  it('turnaround p50/p90 by payer and by service (receipt to first decision, hours)', async () => {
    const byPayer = await readJson(await get(`/analytics/turnaround?${range}&by=payer`));
    expect(byPayer.rows).toEqual([
      { key: 'acme', decided: 4, p50Hours: 15, p90Hours: 27 },
      { key: 'beta', decided: 2, p50Hours: 3, p90Hours: 3.8 },
    ]);
    const byService = await readJson(await get(`/analytics/turnaround?${range}&by=service`));
    expect(byService.rows).toEqual([
      { key: '70553', decided: 4, p50Hours: 7, p90Hours: 24 },
      { key: '97110', decided: 2, p50Hours: 13, p90Hours: 18.6 },
    ]);
  });

  it('approval, denial, straight-through and approved-after-appeal rates by payer and in total', async () => {
    const body = await readJson(await get(`/analytics/outcomes?${range}`));
    expect(body.rows).toEqual([
      {
        payer: 'acme',
        cases: 6,
        decided: 4,
        approved: 2,
        denied: 2,
        straightThrough: 2,
        appealed: 1,
        approvedAfterAppeal: 1,
        approvalRate: 50,
        denialRate: 50,
        straightThroughRate: 50,
        approvedAfterAppealRate: 25,
      },
      {
        payer: 'beta',
        cases: 4,
        decided: 2,
        approved: 1,
        denied: 1,
        straightThrough: 2,
        appealed: 0,
        approvedAfterAppeal: 0,
        approvalRate: 50,
        denialRate: 50,
        straightThroughRate: 100,
        approvedAfterAppealRate: 0,
      },
    ]);
    expect(body.total).toMatchObject({
      payer: 'all payers',
      cases: 10,
      decided: 6,
      straightThroughRate: 66.7,
      denialRate: 50,
      approvedAfterAppealRate: 16.7,
    });
  });

  it('SLA breaches (decided late, or open past due) and cases at risk, at the injected now', async () => {
    const body = await readJson(await get(`/analytics/sla?${range}`));
    expect(body.rows).toEqual([
      { payer: 'acme', withSla: 5, breached: 1, atRisk: 0, breachRate: 20 },
      { payer: 'beta', withSla: 3, breached: 1, atRisk: 1, breachRate: 33.3 },
    ]);
    expect(body.total).toEqual({ payer: 'all payers', withSla: 8, breached: 2, atRisk: 1, breachRate: 25 });
  });

  it('volume per day with every day of the range, and a forecast of 28 days after it', async () => {
    const body = await readJson(await get(`/analytics/volume?${range}`));
    expect(body.days.map((d: { count: number }) => d.count)).toEqual([2, 2, 2, 1, 2, 1]);
    expect(body.days[0].day).toBe('2026-03-02');
    expect(body.forecast).toHaveLength(28);
    expect(body.forecast[0]).toEqual({ day: '2026-03-08', expected: 1.67 }); // under a week: the mean, 10 / 6
    expect(body.model.method).toBe('mean');
  });

  it('days are counted in the viewer’s time zone', async () => {
    // In Honolulu (UTC−10) case B (d0 09:00Z) still falls on 2026-03-01 … and A (08:00Z) too.
    const body = await readJson(
      await get(`/analytics/volume?from=2026-03-01&to=2026-03-01&tz=Pacific/Honolulu`),
    );
    expect(body.days).toEqual([{ day: '2026-03-01', count: 2 }]);
  });

  it('the CMS-0057-F scorecard per payer: standard and expedited apart, decision time from submission', async () => {
    const body = await readJson(await get(`/analytics/scorecard?${range}`));
    const acme = body.payers.find((p: { payer: string }) => p.payer === 'acme');
    expect(acme.standard).toEqual({
      requests: 3,
      percentApproved: 66.7,
      percentDenied: 33.3,
      percentApprovedAfterAppeal: 33.3,
      percentApprovedAfterExtension: 33.3,
      averageDecisionHours: 19,
      medianDecisionHours: 19,
    });
    expect(acme.expedited).toMatchObject({
      requests: 1,
      percentApproved: 0,
      percentDenied: 100,
      medianDecisionHours: 4,
    });
    const beta = body.payers.find((p: { payer: string }) => p.payer === 'beta');
    expect(beta.standard).toMatchObject({ requests: 1, percentApproved: 100, averageDecisionHours: 3 });
    expect(beta.expedited).toMatchObject({ requests: 1, percentDenied: 100, averageDecisionHours: 1.5 });
  });

  it('filters by payer, service and prescriber', async () => {
    const acmeByService = await readJson(await get(`/analytics/turnaround?${range}&by=service&payer=acme`));
    expect(acmeByService.rows).toEqual([
      { key: '70553', decided: 2, p50Hours: 20, p90Hours: 28 },
      { key: '97110', decided: 2, p50Hours: 13, p90Hours: 18.6 },
    ]);
    const prescriber = await readJson(await get(`/analytics/outcomes?${range}&prescriber=2222222222`));
    expect(prescriber.total).toMatchObject({ cases: 2, decided: 2, denied: 2, denialRate: 100 });
    const facets = await readJson(await get(`/analytics/facets?${range}`));
    expect(facets).toMatchObject({
      payers: ['acme', 'beta'],
      services: ['70553', '97110'],
      prescribers: ['1111111111', '2222222222', '3333333333'],
    });
  });

  it('answers CSV for ?format=csv and for Accept: text/csv', async () => {
    const res = await get(`/analytics/outcomes?${range}`, { accept: 'text/csv' });
    expect(res.headers.get('content-type')).toMatch(/^text\/csv/);
    const lines = (await res.text()).trim().split('\r\n');
    expect(lines[0]).toBe(
      'payer,cases,decided,approved,denied,straightThrough,appealed,approvedAfterAppeal,approvalRate,denialRate,straightThroughRate,approvedAfterAppealRate',
    );
    expect(lines[1]).toBe('acme,6,4,2,2,2,1,1,50,50,50,25');
    expect(lines.at(-1)).toBe('all payers,10,6,3,3,4,1,1,50,50,66.7,16.7');
    const scorecard = await (await get(`/analytics/scorecard?${range}&format=csv`)).text();
    expect(scorecard.split('\r\n')[1]).toBe('acme,standard,3,66.7,33.3,33.3,33.3,19,19');
  });

  it('refuses a bad filter with one problem per parameter', async () => {
    const res = await get(
      '/analytics/turnaround?from=2026-02-30&to=2026-03-01&prescriber=12&tz=Mars/Olympus',
    );
    expect(res.status).toBe(400);
    const body = await readJson(res);
    expect(body.issue.map((i: { expression: string[] }) => i.expression[0]).sort()).toEqual([
      'from',
      'prescriber',
      'tz',
    ]);
  });

  it('needs a token', async () => {
    expect((await fetch(`${base}/analytics/outcomes`)).status).toBe(401);
  });

  it('business metrics on /metrics: decisions, turnaround histogram, queue depths, SLA at risk, no PHI', async () => {
    const metrics = createMetrics({ processMetrics: false });
    registerBusinessMetrics(metrics.registry, { pool: db.pool, clock });
    const text = await metrics.registry.metrics();
    // Two tenants seeded the same cases: every figure is doubled.
    expect(text).toContain('pagw_case_decisions_total{payer="acme",outcome="denied",channel="x12"} 4');
    expect(text).toContain('pagw_case_decisions_total{payer="beta",outcome="modified",channel="x12"} 2');
    // acme standard turnarounds 10 h, 30 h, 20 h (×2): ≤ 12 h → 2, ≤ 1 d → 4, ≤ 2 d → 6.
    expect(text).toContain(
      'pagw_case_turnaround_seconds_bucket{payer="acme",urgency="standard",le="43200"} 2',
    );
    expect(text).toContain(
      'pagw_case_turnaround_seconds_bucket{payer="acme",urgency="standard",le="86400"} 4',
    );
    expect(text).toContain(
      'pagw_case_turnaround_seconds_bucket{payer="acme",urgency="standard",le="+Inf"} 6',
    );
    expect(text).toContain('pagw_case_turnaround_seconds_count{payer="acme",urgency="standard"} 6');
    expect(text).toContain('pagw_case_turnaround_seconds_sum{payer="acme",urgency="standard"} 432000');
    expect(text).toContain('pagw_queue_depth{queue="review"} 2');
    expect(text).toContain('pagw_queue_depth{queue="exceptions"} 2');
    expect(text).toContain('pagw_queue_depth{queue="payer"} 4');
    expect(text).toContain('pagw_cases_sla_at_risk{payer="beta"} 2');
    expect(text).toContain('pagw_cases_sla_breached_open{payer="beta"} 2');
    expect(text).not.toMatch(/MRN|Testpatient|W123456789|ORD-/);
  });
});
