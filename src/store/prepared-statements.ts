/**
 * Named prepared statements for the PostgreSQL server (issue #17).
 *
 * The pg client sends every parameterized query as an *unnamed* statement, so PostgreSQL parses, analyzes and plans
 * it again on every run. The gateway runs the same few dozen statements millions of times, several of them CTEs
 * whose planning costs more than their execution. A named statement is parsed once per connection; after five runs
 * PostgreSQL keeps a generic plan when it costs no more than the custom ones (plan_cache_mode).
 *
 * Only queries with parameters are named: those already use the extended protocol, one statement each. Parameterless
 * text (BEGIN, COMMIT, a migration's script) may hold several statements and stays on the simple protocol.
 *
 * A statement whose best plan depends on its values (the console's searches and dashboards, with filters of any
 * selectivity) starts with `planEachRun`: it runs unnamed and is planned for the values it has. These run at the
 * pace of a person, so planning costs nothing that matters there.
 *
 * On the embedded database, pglite-socket multiplexes every connection onto PGlite's one session, so a statement
 * prepared by one connection exists for all: there the clients share what is prepared (`sharedSession`). A client
 * names a statement only once it is known to exist in the session or when no other client is preparing it; while
 * another is, it runs unnamed, so two clients never prepare one name (which the session would refuse).
 *
 * The same client sends a transaction's BEGIN and COMMIT with its first and last statements (transaction-edges.ts).
 */
import { createHash, randomBytes } from 'node:crypto';
import pg from 'pg';
import { edgeQueryConfig, TransactionEdgeQuery } from './transaction-edges.ts';

/**
 * Texts named per process. Statement texts are few and fixed, but a few are built per batch size (multi-row
 * inserts); past this many distinct texts, new ones run unnamed, so a connection's prepared statements stay bounded.
 */
const maxNamedTexts = 1000;

/** Put first in a statement whose best plan depends on its values: it is then planned on each run (see above). */
export const planEachRun = '/* plan each run */ ';

const names = new Map<string, string>();
/**
 * Names carry this process's tag: a second process reaching a session this one prepared in (a test pointing
 * DATABASE_URL at a pglite-socket) must not find its names taken.
 */
const processTag = randomBytes(4).toString('base64url');

function nameFor(text: string): string | undefined {
  if (text.startsWith(planEachRun)) return undefined;
  let name = names.get(text);
  if (name === undefined && names.size < maxNamedTexts) {
    name = `pagw_${processTag}_${createHash('sha1').update(text).digest('base64url')}`;
    names.set(text, name);
  }
  return name;
}

type QueryArgs = unknown[];

/** The query's arguments with a statement name added where one applies; otherwise the arguments unchanged. */
function withName(args: QueryArgs): QueryArgs {
  const [first, second, ...rest] = args;
  if (typeof first === 'string') {
    if (!Array.isArray(second) || second.length === 0) return args;
    const name = nameFor(first);
    return name ? [{ name, text: first, values: second }, ...rest] : args;
  }
  if (!first || typeof first !== 'object') return args;
  const config = first as pg.QueryConfig & { submit?: unknown };
  // A Submittable (a cursor, a stream) manages its own protocol messages.
  if (typeof config.submit === 'function' || config.name || typeof config.text !== 'string') return args;
  const values = Array.isArray(second) ? second : config.values;
  if (!values || values.length === 0) return args;
  const name = nameFor(config.text);
  return name ? [{ ...config, name, values }, ...(Array.isArray(second) ? rest : [second, ...rest])] : args;
}

/** What the clients of one shared session (the embedded database) know of its prepared statements. */
interface SharedSession {
  /** Statements the session holds: the object pg's connections consult before sending a Parse. */
  parsed: Record<string, string>;
  /** Statements a client is preparing right now. */
  preparing: Set<string>;
}

/**
 * A pg.Client class that runs parameterized queries as named prepared statements: give it to pg.Pool as `Client`.
 * `sharedSession`: every connection of the pool reaches one server session (pglite-socket); pass a new class per
 * session, never one process-wide, since each embedded database has its own.
 */
export function preparingClient(options: { sharedSession: boolean }): typeof pg.Client {
  const shared: SharedSession | undefined = options.sharedSession
    ? { parsed: {}, preparing: new Set() }
    : undefined;
  return class PreparingClient extends pg.Client {
    constructor(config?: string | pg.ClientConfig) {
      super(config);
      if (shared)
        (
          this as unknown as { connection: { parsedStatements: Record<string, string> } }
        ).connection.parsedStatements = shared.parsed;
    }

    /** withTransaction's BEGIN, not sent yet: it goes out with the transaction's first statement. */
    private beginDeferred = false;
    /** The transaction committed with its last statement (queryThenCommit): nothing may follow. */
    private committedEarly = false;

    /** Holds the BEGIN back until the first statement (transaction-edges.ts). */
    deferBegin(): void {
      this.beginDeferred = true;
      this.committedEarly = false;
    }

    /** Whether the deferred BEGIN is still unsent (the transaction ran no statement); forgets it either way. */
    takeUnsentBegin(): boolean {
      const unsent = this.beginDeferred;
      this.beginDeferred = false;
      return unsent;
    }

    /** Whether queryThenCommit committed the transaction; forgets it either way. */
    takeCommitted(): boolean {
      const committed = this.committedEarly;
      this.committedEarly = false;
      return committed;
    }

    /**
     * The transaction's last statement and its COMMIT in one round trip. A transaction with no statement before it
     * is this one statement, which commits on its own.
     */
    async queryThenCommit(text: string, values: unknown[]): Promise<pg.QueryResult> {
      if (this.takeUnsentBegin()) {
        const result = (await this.query(text, values)) as pg.QueryResult;
        this.committedEarly = true;
        return result;
      }
      const config = edgeQueryConfig(withName([text, values]));
      let result: pg.QueryResult;
      if (config) {
        result = await this.sendWithEdges(config, { begin: false, commit: true });
      } else {
        result = (await this.query(text, values)) as pg.QueryResult;
        await this.query('COMMIT');
      }
      this.committedEarly = true;
      return result;
    }

    /**
     * How to send a named statement: by its name when the session holds it or this client may prepare it now; else
     * unnamed (on a shared session another client is preparing it). `done` is called when the query has finished.
     */
    private naming(name: string): { named: boolean; done?: () => void } {
      if (!shared || shared.parsed[name] !== undefined) return { named: true };
      if (shared.preparing.has(name)) return { named: false };
      shared.preparing.add(name);
      return { named: true, done: () => shared.preparing.delete(name) };
    }

    private sendWithEdges(
      config: pg.QueryConfig,
      edges: { begin: boolean; commit: boolean },
    ): Promise<pg.QueryResult> {
      const naming = config.name ? this.naming(config.name) : { named: false };
      const sent = naming.named ? config : { text: config.text, values: config.values };
      const result = new Promise<pg.QueryResult>((resolve, reject) => {
        super.query(new TransactionEdgeQuery(sent, edges, (e, r) => (e ? reject(e) : resolve(r))) as never);
      });
      if (naming.done) result.then(naming.done, naming.done);
      return result;
    }

    /**
     * pg marks the active query's statement prepared on every ParseComplete. BEGIN's, sent ahead of a statement
     * (transaction-edges.ts), is not the statement's: were the statement's own Parse to fail, pg would take it for
     * prepared and bind to a statement that does not exist.
     */
    _handleParseComplete(): void {
      const active = (this as unknown as { _activeQuery?: unknown })._activeQuery;
      if (active instanceof TransactionEdgeQuery && active.takeBeginParseComplete()) return;
      (pg.Client.prototype as unknown as { _handleParseComplete(): void })._handleParseComplete.call(this);
    }

    // biome-ignore lint/suspicious/noExplicitAny: pg.Client.query's many overloads; the arguments pass through.
    override query(...args: any[]): any {
      // biome-ignore lint/suspicious/noExplicitAny: as above
      const run = (a: unknown[]) => (super.query as (...q: unknown[]) => any)(...a);
      if (this.committedEarly) {
        return Promise.reject(
          new Error(
            'A statement after the transaction committed: queryThenCommit must be its last statement',
          ),
        );
      }
      if (this.beginDeferred) {
        this.beginDeferred = false;
        const config = edgeQueryConfig(withName(args));
        if (config) return this.sendWithEdges(config, { begin: true, commit: false });
        // BEGIN on its own, queued ahead of the query so that the two keep their order.
        const begin = run(['BEGIN']) as Promise<unknown>;
        const result = this.query(...args);
        if (!(result instanceof Promise)) {
          begin.catch(() => {}); // the callback form: the query's own callback hears of a broken connection
          return result;
        }
        return begin.then(
          () => result,
          (error) => {
            result.catch(() => {});
            throw error;
          },
        );
      }
      const named = withName(args);
      if (named === args) return run(named);
      const naming = this.naming((named[0] as { name: string }).name);
      if (!naming.named) return run(args);
      const done = naming.done;
      if (!done) return run(named);
      const callback = named.at(-1);
      if (typeof callback === 'function') {
        // pg.Pool's own query() passes a callback.
        return run([
          ...named.slice(0, -1),
          (error: unknown, result: unknown) => {
            done();
            callback(error, result);
          },
        ]);
      }
      const result = run(named) as Promise<unknown>;
      result.then(done, done);
      return result;
    }
  };
}
