/**
 * Round trips to the database, counted as the server's ReadyForQuery messages on the connections `work` takes
 * from the pool (issue #17: a round trip is the unit of cost, docs/performance.md).
 */
import type pg from 'pg';

export async function countRoundTrips(pool: pg.Pool, work: () => Promise<unknown>): Promise<number> {
  let count = 0;
  const counted = () => count++;
  const clients: pg.PoolClient[] = [];
  const onAcquire = (client: pg.PoolClient) => {
    clients.push(client);
    (client as unknown as { connection: pg.Connection }).connection.on('readyForQuery', counted);
  };
  pool.on('acquire', onAcquire);
  try {
    await work();
  } finally {
    pool.off('acquire', onAcquire);
    for (const c of clients)
      (c as unknown as { connection: pg.Connection }).connection.off('readyForQuery', counted);
  }
  return count;
}
