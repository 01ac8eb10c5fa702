/**
 * `npm run fuzz -- --target hl7|fhir|x12|pas --count N [--seed S] [--workers W] [--timeout-ms 1000]`
 * `npm run fuzz -- --target x12 --replay test-artifacts/fuzz/x12/crash-….bin [--repeat 5]`
 *
 * The long fuzzing CI does not do: mutations of the test fixtures (scripts/fuzz/mutate.ts) through the real
 * parser entries (scripts/fuzz/targets.ts), each input under a watchdog. Reports inputs tried, crashes (anything
 * but a typed GatewayError refusal, or a broken invariant on an accepted input), hangs (an input running longer
 * than --timeout-ms, confirmed by running it again alone), the slowest input and the throughput. Every finding is
 * saved with its seed and index under --out (default test-artifacts/fuzz/<target>/), and the slowest input too.
 * Exit code 1 when anything crashed or hung. Docs: docs/fuzzing.md.
 */
import { randomInt } from 'node:crypto';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { Worker } from 'node:worker_threads';
import { inputAt } from './fuzz/inputs.ts';
import { slot, slotCount, type WorkerInput, type WorkerMessage } from './fuzz/protocol.ts';
import { loadTarget, type TargetName, targetNames } from './fuzz/targets.ts';

const workerUrl = new URL('./fuzz/worker-entry.mjs', import.meta.url);

const { values } = parseArgs({
  options: {
    target: { type: 'string' },
    count: { type: 'string', default: '10000' },
    seed: { type: 'string' },
    workers: { type: 'string', default: '1' },
    'timeout-ms': { type: 'string', default: '1000' },
    replay: { type: 'string' },
    repeat: { type: 'string', default: '1' },
    out: { type: 'string' },
    json: { type: 'boolean', default: false },
  },
});

function usage(message: string): never {
  process.stderr.write(
    `${message}\nusage: npm run fuzz -- --target ${targetNames.join('|')} --count N [--seed S] [--workers W] [--timeout-ms 1000] [--out DIR] [--json]\n       npm run fuzz -- --target T --replay FILE\n`,
  );
  process.exit(2);
}

const targetName = values.target as TargetName;
if (!targetNames.includes(targetName)) usage(`--target must be one of ${targetNames.join(', ')}`);
const count = Number(values.count);
const workers = Number(values.workers);
const timeoutMs = Number(values['timeout-ms']);
const seed = values.seed === undefined ? randomInt(2 ** 31) : Number(values.seed);
for (const [name, value] of [
  ['--count', count],
  ['--workers', workers],
  ['--timeout-ms', timeoutMs],
  ['--seed', seed],
] as const) {
  if (!Number.isSafeInteger(value) || value < (name === '--seed' ? 0 : 1))
    usage(`${name} must be a positive integer`);
}
const outDir = path.resolve(values.out ?? path.join('test-artifacts', 'fuzz', targetName));

interface RunState {
  worker: Worker;
  slots: BigInt64Array<SharedArrayBuffer>;
  end: number;
  finished: Promise<void>;
}

interface Crash {
  index: number;
  name: string;
  message: string;
  stack: string;
}

/** Starts a worker; resolves `finished` when it says done or is terminated. */
function startWorker(
  input: Omit<WorkerInput, 'shared' | 'target'>,
  onMessage: (m: WorkerMessage) => void,
): RunState {
  const shared = new SharedArrayBuffer(slotCount * 8);
  const worker = new Worker(workerUrl, { workerData: { ...input, target: targetName, shared } });
  const finished = new Promise<void>((resolve, reject) => {
    worker.on('message', onMessage);
    worker.on('error', reject);
    worker.on('exit', () => resolve());
  });
  return { worker, slots: new BigInt64Array(shared), end: input.end, finished };
}

/** Runs bytes once in a fresh worker, stopped after `limitMs`: the verdict and time, or 'hang'. */
async function runAlone(
  bytes: Uint8Array,
  limitMs: number,
  repeat = 1,
): Promise<{ verdict: string; ms: number; crash?: Crash }> {
  let result: { verdict: string; ms: number; crash?: Crash } | undefined;
  let crash: Crash | undefined;
  const run = startWorker({ seed, start: 0, end: 0, bytes, repeat }, (m) => {
    if (m.type === 'crash') crash = m;
    if (m.type === 'replayed') result = { verdict: m.verdict, ms: m.ms, ...(crash ? { crash } : {}) };
  });
  // Loading the target takes seconds on a busy machine: the watch counts only from when the input started;
  // this is the last guard.
  const timer = setTimeout(() => void run.worker.terminate(), limitMs + 300_000);
  const watch = setInterval(() => {
    const started = Atomics.load(run.slots, slot.startedAt);
    if (
      Atomics.load(run.slots, slot.running) !== 0n &&
      process.hrtime.bigint() - started > BigInt(limitMs) * 1_000_000n
    ) {
      clearInterval(watch);
      void run.worker.terminate();
    }
  }, 20);
  await run.finished;
  clearTimeout(timer);
  clearInterval(watch);
  return result ?? { verdict: 'hang', ms: limitMs };
}

function save(kind: string, index: number, bytes: Uint8Array, note: string): string {
  mkdirSync(outDir, { recursive: true });
  const base = path.join(outDir, `${kind}-seed${seed}-i${index}`);
  writeFileSync(`${base}.bin`, bytes);
  writeFileSync(
    `${base}.txt`,
    `${note}\n\ntarget ${targetName}, seed ${seed}, index ${index}\nreplay: npm run fuzz -- --target ${targetName} --replay ${base}.bin\n`,
  );
  return `${base}.bin`;
}

async function replay(file: string): Promise<void> {
  const bytes = readFileSync(file);
  const result = await runAlone(bytes, timeoutMs, Number(values.repeat));
  process.stdout.write(`${targetName} ${file}: ${result.verdict} in ${result.ms.toFixed(1)} ms\n`);
  if (result.crash)
    process.stdout.write(`${result.crash.stack || `${result.crash.name}: ${result.crash.message}`}\n`);
  process.exitCode = result.verdict === 'crash' || result.verdict === 'hang' ? 1 : 0;
}

async function fuzz(): Promise<void> {
  const target = loadTarget(targetName);
  const started = process.hrtime.bigint();
  const crashes: Crash[] = [];
  const hangs: Array<{ index: number; file: string; rerunMs: number }> = [];
  const stalls: Array<{ index: number; rerunMs: number }> = [];
  const finishedSlots: BigInt64Array[] = [];
  const active = new Set<RunState>();
  process.stderr.write(
    `fuzz ${targetName}: ${target.describe}\n  ${target.seedFiles.length} seed files, seed ${seed}, ${count} inputs, ${workers} worker(s), hang limit ${timeoutMs} ms\n`,
  );

  const launch = (start: number, end: number): void => {
    if (start >= end) return;
    const run = startWorker({ seed, start, end }, (m) => {
      if (m.type === 'crash') crashes.push(m);
    });
    active.add(run);
    run.finished.then(
      () => {
        active.delete(run);
        finishedSlots.push(run.slots);
      },
      (error) => {
        process.stderr.write(`worker failed: ${(error as Error).stack}\n`);
        process.exit(3);
      },
    );
  };
  const per = Math.ceil(count / workers);
  for (let w = 0; w < workers; w++) launch(w * per, Math.min(count, (w + 1) * per));

  const total = (which: number) =>
    [...finishedSlots, ...[...active].map((r) => r.slots)].reduce((n, s) => n + Atomics.load(s, which), 0n);
  let lastReport = process.hrtime.bigint();
  const limitNs = BigInt(timeoutMs) * 1_000_000n;
  const pending: Promise<void>[] = [];
  while (active.size > 0) {
    await new Promise((resolve) => setTimeout(resolve, 25));
    const now = process.hrtime.bigint();
    for (const run of active) {
      const running = Atomics.load(run.slots, slot.running);
      if (running === 0n || now - Atomics.load(run.slots, slot.startedAt) <= limitNs) continue;
      // Over the limit: stop the thread, go on after the input, and check the input alone with a longer limit
      // (a busy machine can stall a thread for a second; a hang hangs again).
      const index = Number(running - 1n);
      active.delete(run);
      await run.worker.terminate(); // its `finished` handler keeps its counters
      launch(index + 1, run.end);
      const bytes = inputAt(target.arbitrary, seed, index);
      pending.push(
        runAlone(bytes, timeoutMs * 10).then((again) => {
          if (again.verdict === 'hang' || again.ms > timeoutMs) {
            hangs.push({
              index,
              file: save(
                'hang',
                index,
                bytes,
                `ran over ${timeoutMs} ms twice (again: ${again.verdict}, ${again.ms.toFixed(0)} ms)`,
              ),
              rerunMs: again.ms,
            });
          } else stalls.push({ index, rerunMs: again.ms });
        }),
      );
    }
    if (now - lastReport > 10_000_000_000n) {
      lastReport = now;
      const done = Number(total(slot.done));
      const seconds = Number(now - started) / 1e9;
      process.stderr.write(
        `  ${done}/${count} (${(done / seconds).toFixed(0)}/s), crashes ${crashes.length}, over the limit ${pending.length}\n`,
      );
    }
  }
  await Promise.all(pending);
  const seconds = Number(process.hrtime.bigint() - started) / 1e9;

  const slowest = [...finishedSlots].reduce(
    (best, s) =>
      Atomics.load(s, slot.slowestNs) > best.ns
        ? { ns: Atomics.load(s, slot.slowestNs), index: Number(Atomics.load(s, slot.slowestIndex)) }
        : best,
    { ns: 0n, index: -1 },
  );
  const done = Number(total(slot.done)) + hangs.length + stalls.length;
  // The slowest input again, alone and warm, fastest of 5: what the input costs without the machine's stalls.
  const slowestBytes = slowest.index >= 0 ? inputAt(target.arbitrary, seed, slowest.index) : undefined;
  const slowestAgain = slowestBytes ? await runAlone(slowestBytes, timeoutMs * 10, 5) : undefined;
  const slowestFile =
    slowest.index >= 0
      ? save(
          'slowest',
          slowest.index,
          inputAt(target.arbitrary, seed, slowest.index),
          `slowest input: ${(Number(slowest.ns) / 1e6).toFixed(1)} ms`,
        )
      : undefined;
  // Crashes grouped by where they were thrown; the first input of each kind saved.
  const kinds = new Map<string, { first: Crash; count: number; file: string }>();
  for (const crash of crashes) {
    const where = crash.stack.split('\n').find((l) => l.trim().startsWith('at ')) ?? '';
    const key = `${crash.name}: ${crash.message.slice(0, 120)} ${where.trim()}`;
    const kind = kinds.get(key);
    if (kind) kind.count++;
    else {
      const file = save(
        'crash',
        crash.index,
        inputAt(target.arbitrary, seed, crash.index),
        crash.stack || `${crash.name}: ${crash.message}`,
      );
      kinds.set(key, { first: crash, count: 1, file });
    }
  }
  const summary = {
    target: targetName,
    seed,
    inputs: done,
    accepted: Number(total(slot.accepted)),
    refused: Number(total(slot.refused)),
    crashes: crashes.length,
    crashKinds: kinds.size,
    hangs: hangs.length,
    stallsUnderLoad: stalls.length,
    slowestMs: Number(slowest.ns) / 1e6,
    slowestIndex: slowest.index,
    slowestAloneMs: slowestAgain?.ms,
    meanMs: done > 0 ? Number(total(slot.totalNs)) / 1e6 / Number(total(slot.done)) : 0,
    seconds,
    perSecond: done / seconds,
    workers,
  };
  mkdirSync(outDir, { recursive: true });
  writeFileSync(path.join(outDir, `summary-seed${seed}.json`), `${JSON.stringify(summary, null, 2)}\n`);
  const lines = [
    `fuzz ${targetName} (seed ${seed}): ${done} inputs in ${seconds.toFixed(1)} s = ${summary.perSecond.toFixed(0)} inputs/s (${workers} worker(s))`,
    `  accepted ${summary.accepted}, refused with a typed error ${summary.refused}`,
    `  crashes ${crashes.length}${kinds.size ? ` (${kinds.size} kinds)` : ''}, hangs (> ${timeoutMs} ms, twice) ${hangs.length}, stalls that re-ran fast ${stalls.length}`,
    `  slowest input #${slowest.index}: ${summary.slowestMs.toFixed(1)} ms in the run, ${slowestAgain ? `${slowestAgain.ms.toFixed(1)} ms alone and warm` : 'not re-run'}${slowestFile ? ` (${slowestFile})` : ''}; mean ${summary.meanMs.toFixed(3)} ms`,
    ...[...kinds.values()].map(
      (k) => `  CRASH ×${k.count}: ${k.first.name}: ${k.first.message}\n    first input: ${k.file}`,
    ),
    ...hangs.map((h) => `  HANG #${h.index}: ${h.file}`),
  ];
  process.stdout.write(`${values.json ? JSON.stringify(summary) : lines.join('\n')}\n`);
  process.exitCode = crashes.length > 0 || hangs.length > 0 ? 1 : 0;
}

await (values.replay ? replay(values.replay) : fuzz());
