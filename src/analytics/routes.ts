/**
 * The analytics API behind the console's dashboards. JSON by default; CSV with `?format=csv` or
 * `Accept: text/csv`. Every figure is of the caller's tenant only. Aggregates carry no PHI, so any role may read
 * them; the filter (days, payer id, service code, prescriber NPI) is no PHI either, so it travels in the query.
 *
 *   GET /analytics/turnaround?by=payer|service   p50/p90 hours from receipt to the payer's first decision
 *   GET /analytics/outcomes                      approval, denial, straight-through, approved-after-appeal rates
 *   GET /analytics/sla                           SLA breaches and cases at risk, by payer
 *   GET /analytics/volume                        cases per day and a 4-week forecast (forecast.ts)
 *   GET /analytics/scorecard                     per payer, in the CMS-0057-F shape
 *   GET /analytics/facets                        payers, services and prescribers in the range (filter menus)
 * Common parameters: from, to (YYYY-MM-DD, inclusive), tz (IANA zone), payer, service, prescriber.
 */
import { type Request, type Response, Router } from 'express';
import type pg from 'pg';
import { principalOf, requireRole } from '../api/auth.ts';
import type { Clock } from '../clock.ts';
import { GatewayError } from '../errors/index.ts';
import { apiRoles, type Sql } from '../store/index.ts';
import { toCsv } from './csv.ts';
import {
  fillDays,
  outcomeFigures,
  payerScorecards,
  scorecardTable,
  slaFigures,
  turnaroundFigures,
} from './figures.ts';
import { type AnalyticsFilter, addDays, daysBetween, parseAnalyticsFilter } from './filters.ts';
import { forecastDaily } from './forecast.ts';
import {
  inAnalyticsSession,
  queryFacets,
  queryOutcomes,
  queryScorecard,
  querySla,
  queryTurnaround,
  queryVolume,
} from './queries.ts';

export const FORECAST_DAYS = 28;

interface Answer {
  readonly json: Record<string, unknown>;
  readonly csv: { columns: readonly string[]; rows: ReadonlyArray<object> };
}

function wantsCsv(req: Request): boolean {
  if (req.query.format === 'csv') return true;
  if (req.query.format !== undefined && req.query.format !== 'json')
    throw new GatewayError('PAGW_HTTP_BAD_REQUEST', 'format must be json or csv', {
      problems: [{ location: 'format', message: 'must be json or csv' }],
    });
  return req.accepts(['application/json', 'text/csv']) === 'text/csv';
}

export function analyticsRouter(deps: { db: { pool: pg.Pool }; clock: Clock }): Router {
  const router = Router();
  const readers = requireRole(...apiRoles);

  function route(
    name: string,
    answer: (sql: Sql, tenant: string, filter: AnalyticsFilter, req: Request) => Promise<Answer>,
  ) {
    router.get(`/analytics/${name}`, readers, async (req: Request, res: Response) => {
      const csv = wantsCsv(req);
      const filter = parseAnalyticsFilter(req.query as Record<string, unknown>, deps.clock.now());
      const tenant = principalOf(res).tenant;
      const result = await inAnalyticsSession(deps.db.pool, (sql) => answer(sql, tenant, filter, req));
      res.setHeader('cache-control', 'no-store');
      res.vary('accept');
      if (csv) {
        res.type('text/csv; charset=utf-8');
        res.setHeader(
          'content-disposition',
          `attachment; filename="pagw-${name}-${filter.from}-${filter.to}.csv"`,
        );
        res.send(toCsv(result.csv.columns, result.csv.rows));
      } else {
        res.json({ filter, ...result.json });
      }
    });
  }

  route('turnaround', async (sql, tenant, filter, req) => {
    const by = req.query.by ?? 'payer';
    if (by !== 'payer' && by !== 'service')
      throw new GatewayError('PAGW_HTTP_BAD_REQUEST', 'by must be payer or service', {
        problems: [{ location: 'by', message: 'must be payer or service' }],
      });
    const rows = turnaroundFigures(await queryTurnaround(sql, tenant, filter, by), by);
    return { json: { by, rows }, csv: { columns: ['key', 'decided', 'p50Hours', 'p90Hours'], rows } };
  });

  route('outcomes', async (sql, tenant, filter) => {
    const { rows, total } = outcomeFigures(await queryOutcomes(sql, tenant, filter));
    const columns = [
      'payer',
      'cases',
      'decided',
      'approved',
      'denied',
      'straightThrough',
      'appealed',
      'approvedAfterAppeal',
      'approvalRate',
      'denialRate',
      'straightThroughRate',
      'approvedAfterAppealRate',
    ];
    return { json: { rows, total }, csv: { columns, rows: [...rows, total] } };
  });

  route('sla', async (sql, tenant, filter) => {
    const { rows, total } = slaFigures(await querySla(sql, tenant, filter, deps.clock.now()));
    return {
      json: { rows, total },
      csv: { columns: ['payer', 'withSla', 'breached', 'atRisk', 'breachRate'], rows: [...rows, total] },
    };
  });

  route('volume', async (sql, tenant, filter) => {
    const days = fillDays(daysBetween(filter.from, filter.to), await queryVolume(sql, tenant, filter));
    const forecast = forecastDaily(
      days.map((d) => d.count),
      FORECAST_DAYS,
    );
    const ahead = forecast.values.map((expected, i) => ({ day: addDays(filter.to, i + 1), expected }));
    return {
      json: { days, forecast: ahead, model: forecast.model },
      csv: {
        columns: ['day', 'count', 'forecast'],
        rows: [...days, ...ahead.map((f) => ({ day: f.day, count: null, forecast: f.expected }))],
      },
    };
  });

  route('scorecard', async (sql, tenant, filter) => {
    const payers = payerScorecards(await queryScorecard(sql, tenant, filter));
    const rows = scorecardTable(payers);
    const columns = [
      'payer',
      'urgency',
      'requests',
      'percentApproved',
      'percentDenied',
      'percentApprovedAfterAppeal',
      'percentApprovedAfterExtension',
      'averageDecisionHours',
      'medianDecisionHours',
    ];
    return { json: { payers }, csv: { columns, rows } };
  });

  route('facets', async (sql, tenant, filter) => {
    const facets = await queryFacets(sql, tenant, filter);
    const rows = (Object.entries(facets) as Array<[string, string[]]>).flatMap(([kind, values]) =>
      values.map((value) => ({ kind, value })),
    );
    return { json: { ...facets }, csv: { columns: ['kind', 'value'], rows } };
  });

  return router;
}
