import type pg from 'pg';
import { beginSignals, endSignals } from './signals.ts';

/** Anything that runs a query: the pool, or a client inside a transaction. Store functions take one. */
export type Sql = Pick<pg.Pool, 'query'> | Pick<pg.PoolClient, 'query'>;

/** A client inside an open transaction. Functions that must run in one take this type. */
export type Tx = pg.PoolClient;

/**
 * A pool client that sends a transaction's BEGIN and COMMIT with its first and last statements (preparingClient's,
 * transaction-edges.ts).
 */
interface EdgeClient {
  deferBegin(): void;
  takeUnsentBegin(): boolean;
  takeCommitted(): boolean;
  queryThenCommit(text: string, values: unknown[]): Promise<pg.QueryResult>;
}

/**
 * Runs `work` in one transaction on a dedicated client: COMMIT when it resolves, ROLLBACK when it throws.
 * Never query the pool from inside `work`: on the embedded database every transaction is serialized,
 * so waiting on a second connection from inside one would wait forever.
 */
export async function withTransaction<T>(pool: pg.Pool, work: (tx: Tx) => Promise<T>): Promise<T> {
  const client = await pool.connect();
  let broken = false;
  let committed = false;
  beginSignals(client, pool);
  // A client of ours sends BEGIN with the first statement: a transaction that ran none has nothing to commit or
  // roll back. One that ran queryThenCommit has committed already.
  const edges = client as Partial<EdgeClient>;
  const open = () => !edges.takeUnsentBegin?.() && !edges.takeCommitted?.();
  try {
    if (edges.deferBegin) edges.deferBegin();
    else await client.query('BEGIN');
    const result = await work(client);
    if (open()) await client.query('COMMIT');
    committed = true;
    return result;
  } catch (error) {
    // Work that threw after its last statement committed leaves nothing to roll back.
    committed = edges.takeCommitted?.() ?? false;
    try {
      if (!committed && !edges.takeUnsentBegin?.()) await client.query('ROLLBACK');
    } catch {
      broken = true; // the connection is gone; the server has rolled back for us
    }
    throw error;
  } finally {
    edges.takeUnsentBegin?.();
    edges.takeCommitted?.();
    client.release(broken);
    // Wake the workers this transaction gave work to (signals.ts), only once it is committed and visible.
    endSignals(client, committed);
  }
}

/**
 * Runs several reads against one snapshot (a read-only REPEATABLE READ transaction), so that what they return
 * belongs together: a case row and its events read in two statements could otherwise show an event beside the
 * state it replaced. Given a client already inside a transaction, the reads simply join it.
 */
export async function withReadSnapshot<T>(sql: Sql | pg.Pool, work: (sql: Sql) => Promise<T>): Promise<T> {
  if (!('connect' in sql)) return work(sql);
  return withTransaction(sql as pg.Pool, async (tx) => {
    await tx.query('SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY');
    return work(tx);
  });
}

/**
 * Runs a transaction's LAST statement and commits, in one round trip where the client can (transaction-edges.ts);
 * elsewhere it runs the statement and withTransaction commits after. Nothing may run in the transaction after it.
 */
export async function queryThenCommit(tx: Tx, text: string, values: unknown[]): Promise<pg.QueryResult> {
  const edges = tx as Partial<EdgeClient>;
  return edges.queryThenCommit ? edges.queryThenCommit(text, values) : tx.query(text, values);
}

/** Runs a statement, through queryThenCommit when `thenCommit` says it is its transaction's last (`sql` a Tx then). */
export function queryMaybeLast<R extends pg.QueryResultRow = pg.QueryResultRow>(
  sql: Sql,
  text: string,
  values: unknown[],
  options: { thenCommit?: boolean } = {},
): Promise<pg.QueryResult<R>> {
  return options.thenCommit
    ? (queryThenCommit(sql as Tx, text, values) as Promise<pg.QueryResult<R>>)
    : sql.query<R>(text, values);
}
