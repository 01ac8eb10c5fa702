/**
 * A transaction's BEGIN and COMMIT sent in the same write as its first and last statements (issue #17).
 *
 * The pg client sends each statement and waits for its answer before the next, so BEGIN and COMMIT each cost a
 * round trip: a write, a wake-up of the server, a read. On a two-core machine a round trip costs the gateway more
 * CPU than most statements' own work, and a step's transaction is usually two statements between them.
 *
 * In the extended protocol, the messages before a Sync run in order and are answered by one ReadyForQuery. So:
 * - BEGIN ahead of the first statement: Parse/Bind/Execute `BEGIN`, then the statement, then Sync. The
 *   ReadyForQuery reports the transaction open, or failed when the statement failed (the caller's ROLLBACK ends
 *   it, as before).
 * - COMMIT behind the last statement: the statement, then Parse/Bind/Execute `COMMIT`, then Sync. When the
 *   statement fails, the server skips the rest up to the Sync: nothing is committed, and the caller's ROLLBACK
 *   ends the failed transaction. A COMMIT that fails reports its error on the statement's promise.
 *
 * Only parameterized statements go this way (so they are one statement each, on the extended protocol); others
 * get their BEGIN or COMMIT on its own. Used by preparingClient (prepared-statements.ts), through withTransaction
 * and queryThenCommit (sql.ts).
 */
import pg from 'pg';

/** The parts of pg's Connection used here (pg/lib/connection.js). */
interface PgConnection {
  parse(m: { text: string; name: string; types: unknown[] }): void;
  bind(m: { portal: string; statement: string; values: unknown[] }): void;
  execute(m: { portal: string; rows: number | undefined }): void;
  sync(): void;
}

/** The parts of pg's Query built on (pg/lib/query.js). */
interface PgQueryInternals {
  readonly portal: string;
  prepare(connection: PgConnection): void;
  _getRows(connection: PgConnection, rows: number | undefined): void;
  handleCommandComplete(message: unknown, connection: PgConnection): void;
}

type QueryCallback = (error: Error | null, result: pg.QueryResult) => void;

const PgQuery = pg.Query as unknown as new (
  config: pg.QueryConfig,
  values: undefined,
  callback: QueryCallback,
) => PgQueryInternals;

/** One unnamed statement run between the query's own messages: BEGIN or COMMIT. */
function sendEdge(connection: PgConnection, text: 'BEGIN' | 'COMMIT'): void {
  connection.parse({ text, name: '', types: [] });
  connection.bind({ portal: '', statement: '', values: [] });
  connection.execute({ portal: '', rows: 0 });
}

/** A query sent with a BEGIN ahead of it, a COMMIT behind it, or both, in one round trip. */
export class TransactionEdgeQuery extends PgQuery {
  /** Marks a query that opens a transaction, or ends one (bench/e2e counts transactions by them). */
  readonly beginsTransaction: boolean;
  readonly endsTransaction: boolean;
  /** CommandCompletes seen: BEGIN's, when sent, comes before the query's, and COMMIT's after. */
  private completes = 0;
  /** Whether BEGIN's ParseComplete, the first the query gets when BEGIN is sent, has come. */
  private beginParsed = false;

  constructor(
    config: pg.QueryConfig,
    private readonly edges: { readonly begin: boolean; readonly commit: boolean },
    callback: QueryCallback,
  ) {
    super(config, undefined, callback);
    this.beginsTransaction = edges.begin;
    this.endsTransaction = edges.commit;
  }

  /** True once, for BEGIN's ParseComplete: the client must not take it for the statement's (PreparingClient). */
  takeBeginParseComplete(): boolean {
    if (!this.edges.begin || this.beginParsed) return false;
    this.beginParsed = true;
    return true;
  }

  override prepare(connection: PgConnection): void {
    if (this.edges.begin) sendEdge(connection, 'BEGIN');
    super.prepare(connection);
  }

  override _getRows(connection: PgConnection, rows: number | undefined): void {
    if (!this.edges.commit || rows) {
      super._getRows(connection, rows);
      return;
    }
    connection.execute({ portal: this.portal, rows });
    sendEdge(connection, 'COMMIT');
    connection.sync();
  }

  override handleCommandComplete(message: unknown, connection: PgConnection): void {
    const index = this.completes++;
    if (index === (this.edges.begin ? 1 : 0)) super.handleCommandComplete(message, connection);
  }
}

/**
 * The query's config when it can carry a transaction edge: parameterized (so one statement, on the extended
 * protocol) and in promise form.
 */
export function edgeQueryConfig(args: readonly unknown[]): pg.QueryConfig | undefined {
  if (typeof args.at(-1) === 'function') return undefined;
  const [first, second] = args;
  if (typeof first === 'string') {
    return Array.isArray(second) && second.length > 0 ? { text: first, values: second } : undefined;
  }
  if (!first || typeof first !== 'object') return undefined;
  const config = first as pg.QueryConfig & { submit?: unknown };
  if (typeof config.submit === 'function' || typeof config.text !== 'string') return undefined;
  if (!config.values || config.values.length === 0 || second !== undefined) return undefined;
  return { name: config.name, text: config.text, values: config.values };
}
