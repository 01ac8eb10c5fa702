/**
 * The dashboards' figures, computed from the counts and percentiles the SQL aggregates (queries.ts). Pure.
 *
 * Definitions (docs/analytics.md says the same for readers of the dashboards):
 * - turnaround: from the case's receipt to the payer's first decision (event `decided`); p50/p90 are continuous
 *   percentiles (linear interpolation, SQL percentile_cont).
 * - decision time (scorecard): from the first submission to the payer to its first decision: the payer's part.
 * - approved: the first decision certified the service in total, in part or modified (outcome approved or
 *   modified); denied: outcome denied. Rates are of the cases with a payer decision.
 * - straight-through: a decided case no person touched after receipt (every event after the intake by `system:*`).
 * - approved after appeal: a decided case with an event named for an appeal (`appeal…`, arriving with #14) whose
 *   current outcome is approved or modified. With no appeal events it is 0 (of a non-zero number decided).
 * - approved after extension: the payer pended the case (extended its review) and then approved it.
 * - SLA breach: the first decision came after the case's SLA due time, or there is none yet, the case is open
 *   and the due time has passed. At risk: open, not breached, due within SLA_AT_RISK_HOURS.
 * A percentage is null when nothing is counted under it (no decided case), never a misleading 0.
 */

export const SLA_AT_RISK_HOURS = 24;
export const NO_PAYER = '(unrouted)';
export const NO_SERVICE = '(none)';

/** n of d as a percentage with one decimal, or null when d is 0. */
export function percent(n: number, d: number): number | null {
  return d === 0 ? null : Math.round((n / d) * 1000) / 10;
}

export function hours(seconds: number | null): number | null {
  return seconds === null ? null : Math.round((seconds / 3600) * 100) / 100;
}

export interface TurnaroundRow {
  readonly key: string | null;
  readonly decided: number;
  readonly p50Seconds: number | null;
  readonly p90Seconds: number | null;
}

export interface TurnaroundFigure {
  readonly key: string;
  readonly decided: number;
  readonly p50Hours: number | null;
  readonly p90Hours: number | null;
}

export function turnaroundFigures(
  rows: readonly TurnaroundRow[],
  by: 'payer' | 'service',
): TurnaroundFigure[] {
  return rows
    .map((row) => ({
      key: row.key ?? (by === 'payer' ? NO_PAYER : NO_SERVICE),
      decided: row.decided,
      p50Hours: hours(row.p50Seconds),
      p90Hours: hours(row.p90Seconds),
    }))
    .sort((a, b) => a.key.localeCompare(b.key));
}

export interface OutcomeCounts {
  readonly payer: string | null;
  /** Cases created in the range. */
  readonly cases: number;
  /** ... with a payer decision. */
  readonly decided: number;
  readonly approved: number;
  readonly denied: number;
  readonly straightThrough: number;
  readonly appealed: number;
  readonly approvedAfterAppeal: number;
}

export interface OutcomeFigure extends OutcomeCounts {
  readonly payer: string;
  readonly approvalRate: number | null;
  readonly denialRate: number | null;
  readonly straightThroughRate: number | null;
  readonly approvedAfterAppealRate: number | null;
}

function outcomeFigure(counts: OutcomeCounts, payer: string): OutcomeFigure {
  return {
    ...counts,
    payer,
    approvalRate: percent(counts.approved, counts.decided),
    denialRate: percent(counts.denied, counts.decided),
    straightThroughRate: percent(counts.straightThrough, counts.decided),
    approvedAfterAppealRate: percent(counts.approvedAfterAppeal, counts.decided),
  };
}

/** Per payer, plus the total over all of them. */
export function outcomeFigures(rows: readonly OutcomeCounts[]): {
  rows: OutcomeFigure[];
  total: OutcomeFigure;
} {
  const sum = (pick: (r: OutcomeCounts) => number) => rows.reduce((acc, r) => acc + pick(r), 0);
  const total: OutcomeCounts = {
    payer: null,
    cases: sum((r) => r.cases),
    decided: sum((r) => r.decided),
    approved: sum((r) => r.approved),
    denied: sum((r) => r.denied),
    straightThrough: sum((r) => r.straightThrough),
    appealed: sum((r) => r.appealed),
    approvedAfterAppeal: sum((r) => r.approvedAfterAppeal),
  };
  return {
    rows: rows
      .map((r) => outcomeFigure(r, r.payer ?? NO_PAYER))
      .sort((a, b) => a.payer.localeCompare(b.payer)),
    total: outcomeFigure(total, 'all payers'),
  };
}

export interface SlaCounts {
  readonly payer: string | null;
  /** Cases created in the range that have an SLA due time. */
  readonly withSla: number;
  readonly breached: number;
  /** Open, not yet breached, due within SLA_AT_RISK_HOURS. */
  readonly atRisk: number;
}

export interface SlaFigure extends SlaCounts {
  readonly payer: string;
  readonly breachRate: number | null;
}

export function slaFigures(rows: readonly SlaCounts[]): { rows: SlaFigure[]; total: SlaFigure } {
  const withSla = rows.reduce((a, r) => a + r.withSla, 0);
  const breached = rows.reduce((a, r) => a + r.breached, 0);
  const atRisk = rows.reduce((a, r) => a + r.atRisk, 0);
  return {
    rows: rows
      .map((r) => ({ ...r, payer: r.payer ?? NO_PAYER, breachRate: percent(r.breached, r.withSla) }))
      .sort((a, b) => a.payer.localeCompare(b.payer)),
    total: { payer: 'all payers', withSla, breached, atRisk, breachRate: percent(breached, withSla) },
  };
}

export interface ScorecardRow {
  readonly payer: string | null;
  readonly urgency: 'standard' | 'expedited';
  readonly decided: number;
  readonly approved: number;
  readonly denied: number;
  readonly approvedAfterAppeal: number;
  readonly extendedThenApproved: number;
  readonly meanDecisionSeconds: number | null;
  readonly medianDecisionSeconds: number | null;
}

export interface ScorecardPart {
  readonly requests: number;
  readonly percentApproved: number | null;
  readonly percentDenied: number | null;
  readonly percentApprovedAfterAppeal: number | null;
  readonly percentApprovedAfterExtension: number | null;
  readonly averageDecisionHours: number | null;
  readonly medianDecisionHours: number | null;
}

/**
 * One payer's figures in the shape CMS-0057-F (45 CFR 156.223(c), 42 CFR 422.122(c)) asks payers to publish,
 * measured from our side: standard and expedited requests apart.
 */
export interface PayerScorecard {
  readonly payer: string;
  readonly standard: ScorecardPart;
  readonly expedited: ScorecardPart;
}

function scorecardPart(row: ScorecardRow | undefined): ScorecardPart {
  if (!row)
    return {
      requests: 0,
      percentApproved: null,
      percentDenied: null,
      percentApprovedAfterAppeal: null,
      percentApprovedAfterExtension: null,
      averageDecisionHours: null,
      medianDecisionHours: null,
    };
  return {
    requests: row.decided,
    percentApproved: percent(row.approved, row.decided),
    percentDenied: percent(row.denied, row.decided),
    percentApprovedAfterAppeal: percent(row.approvedAfterAppeal, row.decided),
    percentApprovedAfterExtension: percent(row.extendedThenApproved, row.decided),
    averageDecisionHours: hours(row.meanDecisionSeconds),
    medianDecisionHours: hours(row.medianDecisionSeconds),
  };
}

export function payerScorecards(rows: readonly ScorecardRow[]): PayerScorecard[] {
  const payers = [...new Set(rows.map((r) => r.payer ?? NO_PAYER))].sort((a, b) => a.localeCompare(b));
  return payers.map((payer) => {
    const of = (urgency: ScorecardRow['urgency']) =>
      rows.find((r) => (r.payer ?? NO_PAYER) === payer && r.urgency === urgency);
    return { payer, standard: scorecardPart(of('standard')), expedited: scorecardPart(of('expedited')) };
  });
}

/** Flattens scorecards into one row per payer and urgency (CSV). */
export function scorecardTable(cards: readonly PayerScorecard[]): Array<Record<string, unknown>> {
  return cards.flatMap((card) =>
    (['standard', 'expedited'] as const).map((urgency) => ({ payer: card.payer, urgency, ...card[urgency] })),
  );
}

export interface VolumeDay {
  readonly day: string;
  readonly count: number;
}

/** The counts the SQL found, with 0 for every day of the range it found none. */
export function fillDays(days: readonly string[], rows: readonly VolumeDay[]): VolumeDay[] {
  const byDay = new Map(rows.map((r) => [r.day, r.count]));
  return days.map((day) => ({ day, count: byDay.get(day) ?? 0 }));
}
