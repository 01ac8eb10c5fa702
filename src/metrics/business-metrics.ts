/**
 * Business metrics, read from the database at scrape time (one in-flight read shared by all of them, like the
 * outbox lag): decisions by payer, outcome and channel; turnaround histograms; queue depths; SLA at-risk counts.
 * Reading them from the cases table (migration 0013's fact columns) rather than counting in memory means they
 * survive restarts and include every instance's work. Every instance reports the same values: aggregate them
 * across instances with max(), not sum(). Labels are payer ids, channels, outcomes, urgencies, states and queue
 * names: never tenant data or PHI, and their value sets stay small.
 */
import type pg from 'pg';
import type { Metric, Registry } from 'prom-client';
import { Counter, Gauge } from 'prom-client';
import type { Clock } from '../clock.ts';
import { activeCaseStates } from '../workflow/case-state-machine.ts';

/** Turnaround buckets in seconds: 1 h, 4 h, 12 h, 1 d, 2 d, 3 d (expedited SLA), 7 d (standard SLA), 14 d, 30 d. */
export const TURNAROUND_BUCKETS = [
  3600, 14_400, 43_200, 86_400, 172_800, 259_200, 604_800, 1_209_600, 2_592_000,
];
export const SLA_AT_RISK_SECONDS = 24 * 3600;

interface DecisionRow {
  payer: string | null;
  outcome: string | null;
  channel: string | null;
  n: number;
}
interface TurnaroundRow {
  payer: string | null;
  urgency: string | null;
  /** Cumulative: buckets[i] counts turnarounds ≤ TURNAROUND_BUCKETS[i]. */
  buckets: number[];
  sum: number;
  n: number;
}
interface StateRow {
  state: string;
  n: number;
}
interface SlaRow {
  payer: string | null;
  at_risk: number;
  breached: number;
}

export interface BusinessFigures {
  decisions: DecisionRow[];
  turnaround: TurnaroundRow[];
  states: StateRow[];
  sla: SlaRow[];
}

const openStates = `(${activeCaseStates.map((s) => `'${s}'`).join(', ')})`;

export async function readBusinessFigures(pool: Pick<pg.Pool, 'query'>, now: Date): Promise<BusinessFigures> {
  // One pass over the decided cases (an index-only scan of migration 0013's covering index), grouped down to the
  // labels and the bucket each turnaround falls in: k = how many bucket bounds lie below it, so it counts in
  // every bucket from k on (Prometheus buckets are `le`, inclusive).
  const bounds = `ARRAY[${TURNAROUND_BUCKETS.join(', ')}]::float8[]`;
  const decided = await pool.query<{
    payer: string | null;
    urgency: string | null;
    outcome: string | null;
    channel: string | null;
    k: number;
    n: number;
    sum: number;
  }>(
    `SELECT payer, urgency, outcome, channel, width_bucket(s, ${bounds}) - (s = ANY(${bounds}))::int AS k,
            count(*)::int AS n, sum(s)::float8 AS sum
       FROM (SELECT payer_id AS payer, urgency, first_outcome AS outcome, channel,
                    date_part('epoch', decided_at - created_at) AS s
               FROM cases WHERE decided_at IS NOT NULL OFFSET 0) t
      GROUP BY 1, 2, 3, 4, 5`,
  );
  const decisions = new Map<string, DecisionRow>();
  const turnaround = new Map<string, TurnaroundRow>();
  for (const row of decided.rows) {
    const dKey = JSON.stringify([row.payer, row.outcome, row.channel]);
    const d = decisions.get(dKey) ?? { payer: row.payer, outcome: row.outcome, channel: row.channel, n: 0 };
    d.n += row.n;
    decisions.set(dKey, d);
    const tKey = JSON.stringify([row.payer, row.urgency]);
    const t = turnaround.get(tKey) ?? {
      payer: row.payer,
      urgency: row.urgency,
      buckets: TURNAROUND_BUCKETS.map(() => 0),
      sum: 0,
      n: 0,
    };
    for (let i = row.k; i < TURNAROUND_BUCKETS.length; i++) t.buckets[i]! += row.n;
    t.sum += row.sum;
    t.n += row.n;
    turnaround.set(tKey, t);
  }
  const states = await pool.query<StateRow>('SELECT state, count(*)::int AS n FROM cases GROUP BY 1');
  const sla = await pool.query<SlaRow>(
    `SELECT payer_id AS payer,
            count(*) FILTER (WHERE sla_due_at >= $1 AND sla_due_at < $1::timestamptz + $2 * interval '1 second')::int
              AS at_risk,
            count(*) FILTER (WHERE sla_due_at < $1)::int AS breached
       FROM cases WHERE sla_due_at IS NOT NULL AND decided_at IS NULL AND state IN ${openStates}
      GROUP BY 1`,
    [now, SLA_AT_RISK_SECONDS],
  );
  return {
    decisions: [...decisions.values()],
    turnaround: [...turnaround.values()],
    states: states.rows,
    sla: sla.rows,
  };
}

const none = (value: string | null) => value ?? 'none';

/** Which queue a state counts towards. */
const queues: Record<string, string> = {
  awaiting_review: 'review',
  failed: 'exceptions',
  submitted: 'payer',
  pended: 'payer',
  received: 'intake',
  validated: 'intake',
  eligibility_checked: 'intake',
};

/**
 * A Prometheus histogram whose buckets are counted by SQL at scrape time (prom-client's Histogram only takes
 * observations one by one). It implements the registry's metric interface: name, help, type and get().
 */
function sqlHistogram(
  name: string,
  help: string,
  read: () => Promise<BusinessFigures | null>,
): { name: string; help: string; type: string; aggregator: string; reset(): void; get(): Promise<unknown> } {
  return {
    name,
    help,
    type: 'histogram',
    aggregator: 'max',
    reset() {},
    async get() {
      const figures = await read();
      const values: Array<{ metricName: string; labels: Record<string, string | number>; value: number }> =
        [];
      for (const row of figures?.turnaround ?? []) {
        const labels = { payer: none(row.payer), urgency: none(row.urgency) };
        TURNAROUND_BUCKETS.forEach((le, i) => {
          values.push({ metricName: `${name}_bucket`, labels: { ...labels, le }, value: row.buckets[i]! });
        });
        values.push({ metricName: `${name}_bucket`, labels: { ...labels, le: '+Inf' }, value: row.n });
        values.push({ metricName: `${name}_sum`, labels, value: row.sum });
        values.push({ metricName: `${name}_count`, labels, value: row.n });
      }
      return { name, help, type: 'histogram', aggregator: 'max', values };
    },
  };
}

export function registerBusinessMetrics(
  registry: Registry,
  deps: { pool: Pick<pg.Pool, 'query'>; clock: Clock },
): void {
  let inFlight: Promise<BusinessFigures | null> | undefined;
  const read = () => {
    inFlight ??= readBusinessFigures(deps.pool, deps.clock.now())
      .catch(() => null)
      .finally(() => {
        inFlight = undefined;
      });
    return inFlight;
  };
  const registers = [registry];
  new Counter({
    name: 'pagw_case_decisions_total',
    help: 'Cases with a payer decision, by payer, first outcome and channel (read from the database).',
    labelNames: ['payer', 'outcome', 'channel'],
    registers,
    async collect() {
      const figures = await read();
      this.reset();
      for (const row of figures?.decisions ?? [])
        this.inc({ payer: none(row.payer), outcome: none(row.outcome), channel: none(row.channel) }, row.n);
    },
  });
  registry.registerMetric(
    sqlHistogram(
      'pagw_case_turnaround_seconds',
      'Time from receipt to the payer’s first decision, by payer and urgency.',
      read,
    ) as unknown as Metric,
  );
  new Gauge({
    name: 'pagw_cases',
    help: 'Cases by state.',
    labelNames: ['state'],
    registers,
    async collect() {
      const figures = await read();
      this.reset();
      for (const row of figures?.states ?? []) this.set({ state: row.state }, row.n);
    },
  });
  new Gauge({
    name: 'pagw_queue_depth',
    help: 'Cases waiting, by queue: review (a reviewer), exceptions (failed), payer (submitted or pended), intake.',
    labelNames: ['queue'],
    registers,
    async collect() {
      const figures = await read();
      this.reset();
      const depth: Record<string, number> = { review: 0, exceptions: 0, payer: 0, intake: 0 };
      for (const row of figures?.states ?? []) {
        const queue = queues[row.state];
        if (queue) depth[queue] = (depth[queue] ?? 0) + row.n;
      }
      for (const [queue, n] of Object.entries(depth)) this.set({ queue }, figures ? n : Number.NaN);
    },
  });
  new Gauge({
    name: 'pagw_cases_sla_at_risk',
    help: 'Open cases without a decision whose SLA falls due within 24 hours, by payer.',
    labelNames: ['payer'],
    registers,
    async collect() {
      const figures = await read();
      this.reset();
      for (const row of figures?.sla ?? []) this.set({ payer: none(row.payer) }, row.at_risk);
    },
  });
  new Gauge({
    name: 'pagw_cases_sla_breached_open',
    help: 'Open cases without a decision whose SLA due time has passed, by payer.',
    labelNames: ['payer'],
    registers,
    async collect() {
      const figures = await read();
      this.reset();
      for (const row of figures?.sla ?? []) this.set({ payer: none(row.payer) }, row.breached);
    },
  });
}
