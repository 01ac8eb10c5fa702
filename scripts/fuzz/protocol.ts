/** What the fuzz main thread and its workers share: the counter slots and the messages. */
import type { TargetName } from './targets.ts';

/** Slots of the shared BigInt64Array. */
export const slot = {
  /** Index + 1 of the input running now; 0 between inputs. */
  running: 0,
  /** process.hrtime.bigint() when it started (the clock is process-wide, so the main thread can compare). */
  startedAt: 1,
  done: 2,
  accepted: 3,
  refused: 4,
  crashes: 5,
  slowestIndex: 6,
  slowestNs: 7,
  totalNs: 8,
} as const;
export const slotCount = 9;

export interface WorkerInput {
  readonly target: TargetName;
  readonly seed: number;
  readonly start: number;
  readonly end: number;
  readonly shared: SharedArrayBuffer;
  /** Replay: run these bytes instead of a range, `repeat` times (default 1), reporting the fastest. */
  readonly bytes?: Uint8Array;
  readonly repeat?: number;
}

export type WorkerMessage =
  | { type: 'crash'; index: number; name: string; message: string; stack: string }
  | { type: 'replayed'; verdict: string; ms: number }
  | { type: 'done' };
