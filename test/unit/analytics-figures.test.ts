import { describe, expect, it } from 'vitest';
import { toCsv } from '../../src/analytics/csv.ts';
import {
  fillDays,
  outcomeFigures,
  payerScorecards,
  percent,
  turnaroundFigures,
} from '../../src/analytics/figures.ts';
import { addDays, dayIn, daysBetween, parseAnalyticsFilter } from '../../src/analytics/filters.ts';
import { forecastDaily } from '../../src/analytics/forecast.ts';

describe('forecast (additive Holt-Winters, weekly season)', () => {
  const weekly = [5, 9, 10, 11, 12, 8, 3];

  it('forecasts a series that is exactly trend + weekly pattern exactly, whatever the parameters', () => {
    const series = Array.from({ length: 35 }, (_, t) => 20 + 0.5 * t + weekly[t % 7]!);
    const { model, values } = forecastDaily(series, 28);
    expect(model.method).toBe('holt-winters-additive');
    expect(model.sse).toBe(0);
    const expected = Array.from({ length: 28 }, (_, i) => {
      const t = 35 + i;
      return Math.round((20 + 0.5 * t + weekly[t % 7]!) * 100) / 100;
    });
    for (const [i, v] of values.entries()) expect(v).toBeCloseTo(expected[i]!, 6);
  });

  it('follows a weekly pattern in noisy data and never forecasts a negative count', () => {
    // Weekdays busy, weekends almost empty, a little noise (a fixed sequence, not random).
    const noise = [0.4, -0.3, 0.1, -0.2, 0.3, -0.1, 0.2];
    const series = Array.from({ length: 56 }, (_, t) => (t % 7 >= 5 ? 0.5 : 10) + noise[(t * 3) % 7]!);
    const { values } = forecastDaily(series, 14);
    expect(values.every((v) => v >= 0)).toBe(true);
    // Day 56 is t % 7 = 0 (a weekday); days 61 and 62 are the weekend.
    expect(values[0]).toBeGreaterThan(8);
    expect(values[5]).toBeLessThan(3);
    expect(values[6]).toBeLessThan(3);
  });

  it('is deterministic: the same history gives the same forecast and parameters', () => {
    const series = Array.from({ length: 30 }, (_, t) => (t * 7919) % 13);
    expect(forecastDaily(series, 28)).toEqual(forecastDaily(series, 28));
  });

  it('falls back to seasonal naive with one to two weeks of history, to the mean below a week', () => {
    const nine = [1, 2, 3, 4, 5, 6, 7, 8, 9];
    expect(forecastDaily(nine, 8)).toEqual({
      model: { method: 'seasonal-naive', seasonLength: 7 },
      values: [3, 4, 5, 6, 7, 8, 9, 3],
    });
    expect(forecastDaily([1, 2], 3)).toEqual({
      model: { method: 'mean', seasonLength: 7 },
      values: [1.5, 1.5, 1.5],
    });
    expect(forecastDaily([], 2).values).toEqual([0, 0]);
  });
});

describe('figures', () => {
  it('a percentage has one decimal and is null when nothing is counted under it', () => {
    expect(percent(2, 3)).toBe(66.7);
    expect(percent(0, 5)).toBe(0);
    expect(percent(0, 0)).toBeNull();
  });

  it('turnaround in hours, unrouted cases under a name of their own, sorted', () => {
    expect(
      turnaroundFigures(
        [
          { key: 'zeta', decided: 1, p50Seconds: 5400, p90Seconds: 7200 },
          { key: null, decided: 2, p50Seconds: 36, p90Seconds: null },
        ],
        'payer',
      ),
    ).toEqual([
      { key: '(unrouted)', decided: 2, p50Hours: 0.01, p90Hours: null },
      { key: 'zeta', decided: 1, p50Hours: 1.5, p90Hours: 2 },
    ]);
  });

  it('totals add the payers up before dividing (not an average of rates)', () => {
    const row = (payer: string, decided: number, straightThrough: number) => ({
      payer,
      cases: decided,
      decided,
      approved: 0,
      denied: 0,
      straightThrough,
      appealed: 0,
      approvedAfterAppeal: 0,
    });
    const { total } = outcomeFigures([row('a', 1, 1), row('b', 3, 0)]);
    expect(total.straightThroughRate).toBe(25); // 1 of 4, not (100 + 0) / 2
    expect(total.approvedAfterAppealRate).toBe(0);
  });

  it('a payer with decisions of one urgency only has an empty part for the other', () => {
    const [card] = payerScorecards([
      {
        payer: 'p',
        urgency: 'expedited',
        decided: 2,
        approved: 1,
        denied: 1,
        approvedAfterAppeal: 0,
        extendedThenApproved: 0,
        meanDecisionSeconds: 7200,
        medianDecisionSeconds: 7200,
      },
    ]);
    expect(card!.standard).toMatchObject({ requests: 0, percentApproved: null, averageDecisionHours: null });
    expect(card!.expedited).toMatchObject({ requests: 2, percentApproved: 50, medianDecisionHours: 2 });
  });

  it('fills the days the SQL found no case on with 0', () => {
    expect(fillDays(daysBetween('2026-02-27', '2026-03-02'), [{ day: '2026-03-01', count: 4 }])).toEqual([
      { day: '2026-02-27', count: 0 },
      { day: '2026-02-28', count: 0 },
      { day: '2026-03-01', count: 4 },
      { day: '2026-03-02', count: 0 },
    ]);
  });
});

describe('analytics filter', () => {
  const now = new Date('2026-03-10T03:00:00Z');

  it('defaults to the 12 weeks ending today in the viewer’s zone', () => {
    expect(parseAnalyticsFilter({}, now)).toEqual({ from: '2025-12-17', to: '2026-03-10', timeZone: 'UTC' });
    // 03:00Z is still March 9 in Chicago.
    expect(parseAnalyticsFilter({ tz: 'America/Chicago' }, now)).toMatchObject({ to: '2026-03-09' });
  });

  it('names each bad parameter', () => {
    expect(() =>
      parseAnalyticsFilter({ from: '2026-03-10', to: '2026-03-01', payer: 'a b', service: ['x', 'y'] }, now),
    ).toThrow(
      expect.objectContaining({
        code: 'PAGW_HTTP_BAD_REQUEST',
        problems: [
          { location: 'to', message: 'must not be before from' },
          { location: 'payer', message: 'must be a payer id' },
          { location: 'service', message: 'must be given once, as text' },
        ],
      }),
    );
    expect(() => parseAnalyticsFilter({ from: '2020-01-01', to: '2026-01-01' }, now)).toThrow(/from/);
  });

  it('counts calendar days across month ends and DST changes', () => {
    expect(addDays('2026-02-28', 1)).toBe('2026-03-01');
    expect(daysBetween('2026-03-07', '2026-03-09')).toEqual(['2026-03-07', '2026-03-08', '2026-03-09']);
    expect(dayIn(new Date('2026-03-08T07:30:00Z'), 'America/New_York')).toBe('2026-03-08');
  });
});

describe('CSV', () => {
  it('quotes what needs quoting, leaves null cells empty and defuses spreadsheet formulas', () => {
    expect(
      toCsv(
        ['a', 'b', 'c'],
        [
          { a: 'x,y', b: null, c: 1.5 },
          { a: '=HYPERLINK("http://x")', b: 'say "hi"', c: '@SUM(A1)' },
        ],
      ),
    ).toBe('a,b,c\r\n"x,y",,1.5\r\n"\'=HYPERLINK(""http://x"")","say ""hi""",\'@SUM(A1)\r\n');
  });
});
