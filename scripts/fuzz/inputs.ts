/**
 * Input number `index` of a run with `seed`, the same on every machine: each input has its own generator seeded
 * from (seed, index), so a worker can start anywhere in the sequence and a finding is replayed from two numbers.
 */
import fc from 'fast-check';
import { xoroshiro128plus } from 'pure-rand/generator/xoroshiro128plus';

/** fast-check's bias factor per input (undefined = unbiased): a mix of small, edge-case and unbiased values. */
const biasCycle = [undefined, 2, 5, 20] as const;

/** Injective in `index` for a fixed seed (multiplication by an odd constant modulo 2^32). */
function mix(seed: number, index: number): number {
  return (Math.imul(seed ^ 0x9e3779b9, 0x85ebca6b) + Math.imul(index, 0xc2b2ae35)) | 0;
}

export function inputAt(arbitrary: fc.Arbitrary<Uint8Array>, seed: number, index: number): Uint8Array {
  const random = new fc.Random(xoroshiro128plus(mix(seed, index)));
  return arbitrary.generate(random, biasCycle[index % biasCycle.length]).value;
}
