/**
 * The payer's decision clock (CMS-0057-F: 72 hours for an expedited request, 7 calendar days for a standard one,
 * counted from submission; a payer's rule may set its own hours, payers/*.json `sla`), and the warnings raised as it
 * runs out. Pure: the SLA watch (src/exceptions/sla-watch.ts) schedules timers at these times and acts on them.
 *
 * The clock runs while the payer holds the request undecided (`pended`): it starts at the first submission (the
 * `submitted_at` fact), so a case pended after a slow submission has less time left, never more.
 */

/** Default warning points: three quarters and nine tenths of the decision time gone. */
export const defaultWarnAtFractions: readonly number[] = [0.75, 0.9];

export interface SlaClock {
  readonly startedAt: Date;
  readonly dueAt: Date;
  readonly hours: number;
}

export function slaClock(startedAt: Date, hours: number): SlaClock {
  return { startedAt, hours, dueAt: new Date(startedAt.getTime() + hours * 3_600_000) };
}

/** When each warning fraction falls, in order; fractions outside (0, 1) and repeats are dropped. */
export function warningTimes(
  clock: SlaClock,
  fractions: readonly number[],
): Array<{ fraction: number; at: Date }> {
  const span = clock.dueAt.getTime() - clock.startedAt.getTime();
  return [...new Set(fractions)]
    .filter((f) => f > 0 && f < 1)
    .sort((a, b) => a - b)
    .map((fraction) => ({ fraction, at: new Date(clock.startedAt.getTime() + Math.round(span * fraction)) }));
}

/** How urgent an SLA task is at `fraction` of the decision time gone (1 = breached): raised as time runs out. */
export function slaTaskPriority(fraction: number): 'high' | 'urgent' {
  return fraction >= 0.9 ? 'urgent' : 'high';
}

/** The reason code of a warning: `SLA_75` at 75 %, `SLA_BREACHED` at 100 %. */
export function slaReasonCode(fraction: number): string {
  return fraction >= 1 ? 'SLA_BREACHED' : `SLA_${Math.round(fraction * 100)}`;
}
