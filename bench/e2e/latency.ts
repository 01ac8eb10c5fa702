/**
 * bench/e2e's latencies: from each accepted order's send to the 201, to the 270 and the 278 at the payer (the
 * simulator's log) and to `decided` and `delivered` (case_events), as percentiles; and when the last case reached a
 * final state, the end of the drain. One machine, one clock: the three sources' times compare.
 */
import type pg from 'pg';
import { traceNumberFor } from '../../src/workflow/case-workflow.ts';
import type { SimProcess } from '../../test/sim/clearinghouse/process.ts';
import type { SentOrder } from './load.ts';

function percentile(sorted: number[], p: number): number {
  if (sorted.length === 0) return Number.NaN;
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))]!;
}

function stats(samples: number[]) {
  const sorted = samples.filter((x) => Number.isFinite(x)).sort((a, b) => a - b);
  return {
    n: sorted.length,
    p50: percentile(sorted, 50),
    p90: percentile(sorted, 90),
    p99: percentile(sorted, 99),
    max: sorted.at(-1) ?? Number.NaN,
  };
}

/** The accepted orders' latencies, and the time (ms since the epoch) the last of their cases reached a final state. */
export async function pipelineLatencies(
  pool: Pick<pg.Pool, 'query'>,
  sim: Pick<SimProcess, 'received'>,
  accepted: SentOrder[],
  ids: string[],
  finalStates: string[],
) {
  const received = await sim.received();
  const firstAt = new Map<string, number>();
  for (const r of received) {
    if (!r.traceNumber || (r.kind !== '270' && r.kind !== '278-request')) continue;
    const key = `${r.kind}:${r.traceNumber}`;
    if (!firstAt.has(key)) firstAt.set(key, Date.parse(r.at));
  }
  const { rows: events } = await pool.query<{
    case_id: string;
    event: string;
    to_state: string;
    at: Date;
  }>(
    `SELECT case_id, event, to_state, at FROM case_events WHERE case_id = ANY($1) AND (event IN ('decided', 'delivered') OR to_state = ANY($2))`,
    [ids, finalStates],
  );
  const eventAt = new Map<string, number>();
  let lastFinal = 0;
  for (const e of events) {
    eventAt.set(`${e.event}:${e.case_id}`, e.at.getTime());
    if (finalStates.includes(e.to_state)) lastFinal = Math.max(lastFinal, e.at.getTime());
  }
  const since = (s: SentOrder, at: number | undefined) => (at === undefined ? Number.NaN : at - s.sentAt);
  const latency = {
    intake: stats(accepted.map((s) => s.respondedAt - s.sentAt)),
    to270: stats(accepted.map((s) => since(s, firstAt.get(`270:${traceNumberFor(s.caseId!)}`)))),
    to278: stats(accepted.map((s) => since(s, firstAt.get(`278-request:${traceNumberFor(s.caseId!)}`)))),
    toDecided: stats(accepted.map((s) => since(s, eventAt.get(`decided:${s.caseId}`)))),
    toDelivered: stats(accepted.map((s) => since(s, eventAt.get(`delivered:${s.caseId}`)))),
    // Per case, not from the order: what the delivery step itself adds (publication of the decision's events).
    decidedToDelivered: stats(
      accepted.map((s) => {
        const decided = eventAt.get(`decided:${s.caseId}`);
        const delivered = eventAt.get(`delivered:${s.caseId}`);
        return decided === undefined || delivered === undefined ? Number.NaN : delivered - decided;
      }),
    ),
  };
  return { latency, lastFinal };
}
