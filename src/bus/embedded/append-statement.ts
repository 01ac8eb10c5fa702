/**
 * The embedded bus's append as one statement: every partition's offsets taken and the messages appended, however
 * many partitions a publish goes to (issue #17: a relay round writes to several), optionally with the caller's last
 * writes (TransactionalPublisher's publishLastInTransaction, ../port.ts).
 */
import type { Statement } from '../../store/together.ts';
import { renumberParameters } from '../../store/together.ts';
import type { LastWrites, OutgoingMessage } from '../port.ts';

/** The messages of one partition, in the order they were given. */
export interface PartitionGroup {
  readonly topic: string;
  readonly partition: number;
  readonly messages: readonly OutgoingMessage[];
}

/** A row of the answer: each partition's first offset taken (topic null when none was), and the last writes' result. */
export interface AppendAnswer {
  topic: string | null;
  partition: number;
  first: number;
  result?: unknown;
}

/** The text of the error an append with last writes fails with when a partition is gone. */
export const partitionsMissing = 'embedded bus: partitions missing';

/**
 * `ordered`: the groups sorted by (topic, partition). `locked` takes the partitions' row locks in that fixed order
 * first (LockRows above the Sort), so two publishers never deadlock; the UPDATE then only touches rows this
 * statement holds. A partition that does not exist takes no offsets and appends nothing: the caller compares the
 * partitions answered with those wanted.
 *
 * With `last`, the caller's writes are more CTEs of the statement and the COMMIT goes with it, so a missing
 * partition must fail the statement itself (the transaction then rolls back): `complete` casts a text to int when
 * fewer partitions than wanted took offsets. Its subquery keeps the planner from folding the cast early.
 */
export function appendStatement(ordered: readonly PartitionGroup[], last?: LastWrites): Statement {
  const m = { topic: [] as string[], partition: [] as number[], ord: [] as number[] };
  const payload = { key: [] as (string | null)[], headers: [] as string[], value: [] as Buffer[] };
  for (const group of ordered) {
    group.messages.forEach((message, i) => {
      m.topic.push(group.topic);
      m.partition.push(group.partition);
      m.ord.push(i + 1);
      payload.key.push(message.key);
      payload.headers.push(JSON.stringify(message.headers ?? {}));
      payload.value.push(message.value);
    });
  }
  const values: unknown[] = [
    ordered.map((g) => g.topic),
    ordered.map((g) => g.partition),
    ordered.map((g) => g.messages.length),
    m.topic,
    m.partition,
    m.ord,
    payload.key,
    payload.headers,
    payload.value,
  ];
  const ownParameters = values.length;
  if (last) values.push(...last.values, ordered.length);
  const answer = last
    ? `, ${renumberParameters(last.ctes, ownParameters)}
       SELECT t.topic, t.partition, t.first, g.result, g.complete
         FROM (SELECT ${renumberParameters(last.result, ownParameters)} AS result,
                      CASE WHEN (SELECT count(*) FROM taken) = $${values.length} THEN true
                           ELSE CAST(concat('${partitionsMissing}: ',
                                            $${values.length} - (SELECT count(*) FROM taken)) AS int) > 0
                      END AS complete) g
         LEFT JOIN taken t ON true`
    : `
       SELECT topic, partition, first FROM taken`;
  return {
    text: `WITH wanted AS (
         SELECT * FROM unnest($1::text[], $2::int[], $3::int[]) AS w(topic, partition, n)),
       locked AS MATERIALIZED (
         SELECT p.topic, p.partition FROM bus_partitions p JOIN wanted w USING (topic, partition)
          ORDER BY p.topic, p.partition FOR UPDATE OF p),
       taken AS (
         UPDATE bus_partitions p SET next_offset = p.next_offset + w.n
           FROM wanted w JOIN locked l USING (topic, partition)
          WHERE p.topic = w.topic AND p.partition = w.partition
          RETURNING p.topic, p.partition, p.next_offset - w.n AS first),
       appended AS (
         INSERT INTO bus_log (topic, partition, "offset", message_key, headers, value)
         SELECT t.topic, t.partition, t.first + m.ord - 1, m.k, m.h::jsonb, m.v
           FROM unnest($4::text[], $5::int[], $6::int[], $7::text[], $8::text[], $9::bytea[])
                  AS m(topic, partition, ord, k, h, v)
           JOIN taken t ON t.topic = m.topic AND t.partition = m.partition)${answer}`,
    values,
  };
}
