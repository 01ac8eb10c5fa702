import type pg from 'pg';

/** Anything that runs a query: the pool, or a client inside a transaction. Store functions take one. */
export type Sql = Pick<pg.Pool, 'query'> | Pick<pg.PoolClient, 'query'>;

/** A client inside an open transaction. Functions that must run in one take this type. */
export type Tx = pg.PoolClient;

/**
 * Runs `work` in one transaction on a dedicated client: COMMIT when it resolves, ROLLBACK when it throws.
 * Never query the pool from inside `work`: on the embedded database every transaction is serialized,
 * so waiting on a second connection from inside one would wait forever.
 */
export async function withTransaction<T>(pool: pg.Pool, work: (tx: Tx) => Promise<T>): Promise<T> {
  const client = await pool.connect();
  let broken = false;
  try {
    await client.query('BEGIN');
    const result = await work(client);
    await client.query('COMMIT');
    return result;
  } catch (error) {
    try {
      await client.query('ROLLBACK');
    } catch {
      broken = true; // the connection is gone; the server has rolled back for us
    }
    throw error;
  } finally {
    client.release(broken);
  }
}
