/**
 * bench/e2e's gateway: `pagw start` in its own process, with the pg client counting what the gateway asks of the
 * database. On SIGUSR2 it writes the counts so far to $PAGW_BENCH_COUNTS as JSON:
 *   statements    every query sent, i.e. round trips (on both databases: the embedded one is reached through pg as
 *                 well); a BEGIN sent with the transaction's first statement is not one of its own
 *   transactions  BEGIN … COMMIT blocks plus statements run outside one (each is a transaction of its own)
 *   rollbacks     ROLLBACKs
 *   byText        statements per normalized text (first 90 characters), to see where they come from
 *   cpuMs         this process's CPU time (user + system)
 *   monotonicUs   when the counts were taken, on the clock of V8's CPU profiles
 * Run by bench/e2e.ts: node --import tsx bench/e2e/gateway-process.ts
 */
import { writeFileSync } from 'node:fs';
import pg from 'pg';

const counts = { statements: 0, transactions: 0, rollbacks: 0, byText: {} as Record<string, number> };
const inTransaction = new WeakSet<object>();
/** Normalized keys by statement text: normalizing every statement anew cost the gateway ~2 % of its CPU. */
const keys = new Map<string, string>();

function textOf(config: unknown): string {
  if (typeof config === 'string') return config;
  if (config && typeof config === 'object' && 'text' in config)
    return String((config as { text: unknown }).text);
  return '';
}

const original = pg.Client.prototype.query as (...args: unknown[]) => unknown;
(pg.Client.prototype as unknown as { query: (...args: unknown[]) => unknown }).query = function (
  this: object,
  ...args: unknown[]
) {
  const text = textOf(args[0]).trim();
  const verb = text.slice(0, 8).toUpperCase();
  counts.statements++;
  // A transaction's first statement sent with its BEGIN (src/store/prepared-statements.ts): one round trip.
  const behindBegin = (args[0] as { beginsTransaction?: boolean } | undefined)?.beginsTransaction === true;
  if (verb.startsWith('BEGIN') || behindBegin) {
    inTransaction.add(this);
    counts.transactions++;
  } else if (verb.startsWith('COMMIT')) inTransaction.delete(this);
  else if (verb.startsWith('ROLLBACK')) {
    inTransaction.delete(this);
    counts.rollbacks++;
  } else if (!inTransaction.has(this)) counts.transactions++;
  // A transaction's last statement sent with its COMMIT.
  if ((args[0] as { endsTransaction?: boolean } | undefined)?.endsTransaction === true)
    inTransaction.delete(this);
  let key = keys.get(text);
  if (key === undefined) {
    key = text.replace(/\s+/g, ' ').replace(/\$\d+/g, '$').slice(0, 90);
    if (keys.size < 5000) keys.set(text, key);
  }
  counts.byText[key] = (counts.byText[key] ?? 0) + 1;
  return original.apply(this, args);
};

process.on('SIGUSR2', () => {
  const file = process.env.PAGW_BENCH_COUNTS;
  if (!file) return;
  const cpu = process.cpuUsage();
  // monotonicUs: CLOCK_MONOTONIC, the clock of a V8 CPU profile's timestamps, so --cpu-prof can cut the profile
  // to the measured window.
  writeFileSync(
    file,
    JSON.stringify({
      ...counts,
      cpuMs: (cpu.user + cpu.system) / 1000,
      monotonicUs: Number(process.hrtime.bigint() / 1000n),
    }),
  );
});

const { runCli } = await import('../../src/cli/main.ts');
process.exitCode = await runCli(['start']);
