/**
 * bench/e2e's report on the console: each run's figures as it ends, and with --runs K > 1 the median of the runs.
 * The JSON lines (--json) are the results themselves, written by bench/e2e.ts.
 */
import type { Result } from '../e2e.ts';
import { printProfileSummary } from './profile-summary.ts';

const ms = (x: number) =>
  Number.isFinite(x) ? `${x >= 10_000 ? (x / 1000).toFixed(1) + ' s' : `${Math.round(x)} ms`}` : '—';
const fixed = (x: number | undefined, digits = 1) =>
  x === undefined || !Number.isFinite(x) ? '—' : x.toFixed(digits);

/** One run's figures, as the run ends. */
export function printRun(r: Result): void {
  const what =
    r.mode.kind === 'burst'
      ? `burst of ${r.mode.n} at concurrency ${r.concurrency}`
      : `${r.mode.rate} orders/s for ${r.mode.seconds} s`;
  console.log(
    `\n== bench:e2e  db=${r.db} bus=${r.bus}  ${what}  payer=${r.payerMs} ms  load average ${r.loadAverage.join(' ')} (after: ${r.loadAverageAfter.join(' ')})`,
  );
  console.log(
    `  orders sent ${r.sent}, accepted ${r.accepted} (503 busy answers retried: ${r.busyAnswers}), final ${r.final}  states ${JSON.stringify(r.states)}`,
  );
  console.log(`  intake ${fixed(r.intakeRate)} orders/s   drain ${fixed(r.drainRate)} cases/s (whole run)`);
  console.log('  latency from the order             p50       p90       p99       max');
  for (const [label, s] of [
    ['201 answered', r.latency.intake],
    ['270 at the payer', r.latency.to270],
    ['278 at the payer', r.latency.to278],
    ['decided', r.latency.toDecided],
    ['delivered', r.latency.toDelivered],
    ['decided → delivered (per case)', r.latency.decidedToDelivered],
  ] as const) {
    console.log(
      `  ${label.padEnd(30)} ${ms(s.p50).padStart(9)} ${ms(s.p90).padStart(9)} ${ms(s.p99).padStart(9)} ${ms(s.max).padStart(9)}  (n=${s.n})`,
    );
  }
  console.log(
    `  gateway RSS at rest ${fixed(r.rssAtRestMb, 0)} MB, peak ${fixed(r.peakRssMb, 0)} MB; started in ${fixed(r.gatewayStartSeconds)} s`,
  );
  console.log(
    `  CPU per order: gateway ${fixed(r.gatewayCpuMsPerOrder)} ms${r.serverCpuMsPerOrder === undefined ? '' : `, PostgreSQL ${fixed(r.serverCpuMsPerOrder)} ms`}`,
  );
  console.log(
    `  per order: ${fixed(r.statementsPerOrder)} SQL statements, ${fixed(r.transactionsPerOrder)} transactions${r.serverCommitsPerOrder === undefined ? '' : `, ${fixed(r.serverCommitsPerOrder)} server commits (pg_stat_database)`}`,
  );
  for (const t of r.topStatements.slice(0, 10))
    console.log(`    ${String(t.perOrder).padStart(6)}  ${t.text}`);
  if (r.claimPlan.length > 0)
    console.log(`  step claim at the end of intake (EXPLAIN ANALYZE):\n    ${r.claimPlan.join('\n    ')}`);
  for (const t of r.queueTables ?? []) {
    console.log(
      `  table ${t.rel.padEnd(10)} per order: ${t.updatesPerOrder} updates (${Math.round(t.hotUpdateShare * 100)} % HOT), ${t.deletesPerOrder} deletes, ${t.indexTuplesReadPerOrder} index tuples read; at the end ${t.deadTuplesAtEnd} dead / ${t.liveTuplesAtEnd} live tuples, ${t.vacuums} vacuums`,
    );
    console.log(
      `      index tuples read per order, by index: ${JSON.stringify(t.indexTuplesReadPerOrderByIndex)}`,
    );
  }
  const f = r.floors;
  if (f.insertCommit)
    console.log(
      `  floor: bare BEGIN/INSERT/COMMIT x${r.concurrency}   ${fixed(f.insertCommit.perSecond, 0)} /s  → intake ratio ${fixed(r.ratios.intakeToInsertCommit, 2)}`,
    );
  if (f.http)
    console.log(
      `  floor: bare express + one INSERT     ${fixed(f.http.perSecond, 0)} /s  → intake ratio ${fixed(r.ratios.intakeToHttpFloor, 2)}`,
    );
  if (f.kafka)
    console.log(
      `  floor: bare kafkajs passthrough      ${fixed(f.kafka.perSecond, 0)} /s  → drain ratio ${fixed(r.ratios.drainToKafkaPassthrough, 2)}`,
    );
  if (r.profile) {
    console.log(
      `  gateway CPU profile, the measured window only (orders sent to the last case final): ${r.profile.file}`,
    );
    printProfileSummary(r.profile);
  }
}

/** With --runs K > 1: the median of the runs' headline figures. */
export function printMedians(results: Result[]): void {
  const runs = results.length;
  const median = (pick: (r: Result) => number | undefined) => {
    const xs = results
      .map(pick)
      .filter((x): x is number => x !== undefined && Number.isFinite(x))
      .sort((a, b) => a - b);
    return xs.length ? xs[Math.floor(xs.length / 2)]! : Number.NaN;
  };
  console.log(`\n== median of ${runs} runs`);
  console.log(
    `  intake ${fixed(median((r) => r.intakeRate))} /s, drain ${fixed(median((r) => r.drainRate))} /s`,
  );
  console.log(
    `  order → 278 p50 ${ms(median((r) => r.latency.to278.p50))}, p99 ${ms(median((r) => r.latency.to278.p99))}; → delivered p50 ${ms(median((r) => r.latency.toDelivered.p50))}`,
  );
  console.log(
    `  RSS at rest ${fixed(
      median((r) => r.rssAtRestMb),
      0,
    )} MB, peak ${fixed(
      median((r) => r.peakRssMb),
      0,
    )} MB`,
  );
  console.log(
    `  statements/order ${fixed(median((r) => r.statementsPerOrder))}, transactions/order ${fixed(median((r) => r.transactionsPerOrder))}`,
  );
  console.log(
    `  ratios: intake/INSERT floor ${fixed(
      median((r) => r.ratios.intakeToInsertCommit),
      2,
    )}, intake/HTTP floor ${fixed(
      median((r) => r.ratios.intakeToHttpFloor),
      2,
    )}`,
  );
}
