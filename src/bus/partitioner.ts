import { createHash } from 'node:crypto';

/**
 * Partition of a keyed message on the embedded bus: a stable hash of the key, so one case (or one order's
 * placer number) always lands on one partition and keeps its order. Kafka uses its own murmur2 partitioner.
 */
export function partitionForKey(key: string, partitions: number): number {
  return createHash('md5').update(key).digest().readUInt32BE(0) % partitions;
}
