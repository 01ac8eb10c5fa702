/**
 * The dashboards' common filter: a range of calendar days in the viewer's time zone, and optionally one payer,
 * one service (the primary service code) and one prescriber (requesting provider NPI). Pure: parsed from query
 * parameters, checked, with one problem per bad parameter.
 */
import { GatewayError } from '../errors/index.ts';

export interface AnalyticsFilter {
  /** First day, inclusive (YYYY-MM-DD in `timeZone`). */
  readonly from: string;
  /** Last day, inclusive. */
  readonly to: string;
  /** IANA time zone the days are counted in (the viewer's). */
  readonly timeZone: string;
  readonly payer?: string;
  readonly service?: string;
  readonly prescriber?: string;
}

/** The longest range one query may cover: two years of days. */
export const MAX_RANGE_DAYS = 731;
/** Default range: the 12 weeks ending today. */
export const DEFAULT_RANGE_DAYS = 84;

const dayPattern = /^\d{4}-\d{2}-\d{2}$/;
const facetPattern = /^[\w.:|/-]{1,128}$/;
const npiPattern = /^\d{10}$/;

function dayNumber(day: string): number {
  return (
    Date.UTC(Number(day.slice(0, 4)), Number(day.slice(5, 7)) - 1, Number(day.slice(8, 10))) / 86_400_000
  );
}

function isRealDay(day: string): boolean {
  if (!dayPattern.test(day)) return false;
  const d = new Date(`${day}T00:00:00Z`);
  return !Number.isNaN(d.getTime()) && d.toISOString().slice(0, 10) === day;
}

export function addDays(day: string, days: number): string {
  return new Date((dayNumber(day) + days) * 86_400_000).toISOString().slice(0, 10);
}

/** Every calendar day from `from` to `to`, inclusive. */
export function daysBetween(from: string, to: string): string[] {
  const count = dayNumber(to) - dayNumber(from) + 1;
  return Array.from({ length: Math.max(0, count) }, (_, i) => addDays(from, i));
}

/** The calendar day `at` falls on in `timeZone`. */
export function dayIn(at: Date, timeZone: string): string {
  const parts = new Intl.DateTimeFormat('en-CA', {
    timeZone,
    year: 'numeric',
    month: '2-digit',
    day: '2-digit',
  }).formatToParts(at);
  const get = (type: string) => parts.find((p) => p.type === type)!.value;
  return `${get('year')}-${get('month')}-${get('day')}`;
}

function isTimeZone(value: string): boolean {
  try {
    new Intl.DateTimeFormat('en', { timeZone: value });
    return /^[A-Za-z_+\-/0-9]{1,64}$/.test(value);
  } catch {
    return false;
  }
}

/** Reads the filter from query parameters; `now` sets the default range (the 12 weeks ending today). */
export function parseAnalyticsFilter(query: Record<string, unknown>, now: Date): AnalyticsFilter {
  const problems: Array<{ location: string; message: string }> = [];
  const text = (name: string): string | undefined => {
    const value = query[name];
    if (value === undefined || value === '') return undefined;
    if (typeof value !== 'string') {
      problems.push({ location: name, message: 'must be given once, as text' });
      return undefined;
    }
    return value;
  };
  const timeZone = text('tz') ?? 'UTC';
  if (!isTimeZone(timeZone)) problems.push({ location: 'tz', message: 'must be an IANA time zone name' });
  const today = dayIn(now, isTimeZone(timeZone) ? timeZone : 'UTC');
  const to = text('to') ?? today;
  const from = text('from') ?? addDays(to, -(DEFAULT_RANGE_DAYS - 1));
  for (const [name, day] of [
    ['from', from],
    ['to', to],
  ] as const) {
    if (!isRealDay(day)) problems.push({ location: name, message: 'must be a calendar day, YYYY-MM-DD' });
  }
  if (isRealDay(from) && isRealDay(to)) {
    const span = dayNumber(to) - dayNumber(from) + 1;
    if (span < 1) problems.push({ location: 'to', message: 'must not be before from' });
    else if (span > MAX_RANGE_DAYS)
      problems.push({ location: 'from', message: `the range may cover at most ${MAX_RANGE_DAYS} days` });
  }
  const payer = text('payer');
  if (payer !== undefined && !facetPattern.test(payer))
    problems.push({ location: 'payer', message: 'must be a payer id' });
  const service = text('service');
  if (service !== undefined && !facetPattern.test(service))
    problems.push({ location: 'service', message: 'must be a service code' });
  const prescriber = text('prescriber');
  if (prescriber !== undefined && !npiPattern.test(prescriber))
    problems.push({ location: 'prescriber', message: 'must be a 10-digit NPI' });
  if (problems.length > 0) {
    throw new GatewayError('PAGW_HTTP_BAD_REQUEST', `Invalid analytics filter: ${problems[0]!.location}`, {
      problems,
    });
  }
  return {
    from,
    to,
    timeZone,
    ...(payer ? { payer } : {}),
    ...(service ? { service } : {}),
    ...(prescriber ? { prescriber } : {}),
  };
}
