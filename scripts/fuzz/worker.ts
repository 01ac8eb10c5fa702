/**
 * A fuzz worker thread: runs inputs [start, end) of one target, or one given input (replay). It publishes what it
 * is running in shared memory before each input, so the main thread's watchdog can see an input that runs too
 * long and terminate the thread (the only way to stop a synchronous parser). Counters live in the same memory,
 * so a terminated worker's figures are not lost; crashes are posted as messages with their stack.
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { parentPort, workerData } from 'node:worker_threads';
import { isGatewayError } from '../../src/errors/index.ts';
import { inputAt } from './inputs.ts';
import { slot, type WorkerInput, type WorkerMessage } from './protocol.ts';
import { loadRunner, loadTarget } from './targets.ts';

function describe(error: unknown): { name: string; message: string; stack: string } {
  if (error instanceof Error) return { name: error.name, message: error.message, stack: error.stack ?? '' };
  return { name: typeof error, message: String(error), stack: '' };
}

const input = workerData as WorkerInput;
const slots = new BigInt64Array(input.shared);
const repoRoot = path.resolve(import.meta.dirname, '..', '..');
const target = loadTarget(input.target);
const run = await loadRunner(input.target);
const post = (message: WorkerMessage) => parentPort!.postMessage(message);

/** Runs one input; returns its verdict ('crash' after posting the crash). */
function runOne(bytes: Uint8Array, index: number): { verdict: string; ns: bigint } {
  const started = process.hrtime.bigint();
  Atomics.store(slots, slot.startedAt, started);
  Atomics.store(slots, slot.running, BigInt(index + 1));
  let verdict: string;
  try {
    verdict = run(bytes);
  } catch (error) {
    // A typed refusal thrown instead of returned is still a refusal; anything else is a crash.
    if (isGatewayError(error)) verdict = 'refused';
    else {
      verdict = 'crash';
      post({ type: 'crash', index, ...describe(error) });
    }
  }
  const ns = process.hrtime.bigint() - started;
  Atomics.store(slots, slot.running, 0n);
  return { verdict, ns };
}

// Warm up on the unmutated seeds first, so that a time measured is the input's, not the JIT's or a lazy table's.
for (const file of target.seedFiles) {
  try {
    run(readFileSync(path.join(repoRoot, file)));
  } catch {
    // A seed that fails is the fuzzing's business, not the warm-up's.
  }
}

if (input.bytes) {
  // A replay runs the input `repeat` times and reports the fastest: on a busy machine the fastest run is the
  // input's own cost; the first verdict is the one reported.
  let first: { verdict: string; ns: bigint } | undefined;
  let best = 0n;
  for (let i = 0; i < (input.repeat ?? 1); i++) {
    const result = runOne(input.bytes, 0);
    first ??= result;
    if (i === 0 || result.ns < best) best = result.ns;
    if (result.verdict === 'crash') break;
  }
  post({ type: 'replayed', verdict: first!.verdict, ms: Number(best) / 1e6 });
} else {
  for (let index = input.start; index < input.end; index++) {
    const bytes = inputAt(target.arbitrary, input.seed, index);
    const { verdict, ns } = runOne(bytes, index);
    if (verdict === 'accepted') Atomics.add(slots, slot.accepted, 1n);
    else if (verdict === 'refused') Atomics.add(slots, slot.refused, 1n);
    else Atomics.add(slots, slot.crashes, 1n);
    Atomics.add(slots, slot.totalNs, ns);
    if (ns > Atomics.load(slots, slot.slowestNs)) {
      Atomics.store(slots, slot.slowestNs, ns);
      Atomics.store(slots, slot.slowestIndex, BigInt(index));
    }
    Atomics.add(slots, slot.done, 1n);
  }
  post({ type: 'done' });
}
