/**
 * Opens the gateway's PostgreSQL database: a real server when a URL is given, otherwise the embedded
 * default — PGlite persisted under the data directory and served over the Postgres wire protocol by
 * @electric-sql/pglite-socket — so the same `pg` code, migrations and queries run on both.
 */
import { execFile } from 'node:child_process';
import { closeSync, existsSync, mkdirSync, openSync, readFileSync, rmSync, writeSync } from 'node:fs';
import path from 'node:path';
import { promisify } from 'node:util';
import { PGlite } from '@electric-sql/pglite';
import { PGLiteSocketServer } from '@electric-sql/pglite-socket';
import pg from 'pg';
import { PersistError } from '../errors/index.ts';
import { preparingClient } from './prepared-statements.ts';

// int8 (bigserial ids, counts) as JS numbers: our ids stay far below 2^53.
pg.types.setTypeParser(pg.types.builtins.INT8, (value) => Number.parseInt(value, 10));

export type DatabaseKind = 'postgres' | 'pglite';

export interface Database {
  readonly pool: pg.Pool;
  readonly kind: DatabaseKind;
  /** Where the data lives, with no password: printed at start. */
  readonly description: string;
  /** How to open another pool on the same database (a second worker, a LISTEN client, a test). Holds secrets: never log. */
  readonly connection: pg.PoolConfig;
  /**
   * True when no other process can run workers on this database: the embedded database this process opened (its
   * data directory is locked). Lets the step worker resume a crashed predecessor's steps at once.
   */
  readonly exclusive?: boolean;
  close(): Promise<void>;
}

export interface OpenDatabaseOptions {
  /** postgres://… of a real server. When absent, the embedded database is used. */
  databaseUrl?: string;
  /** Directory for the embedded database; 'memory://' keeps it in memory (tests). */
  dataDir?: string;
  poolSize?: number;
  /**
   * Runs parameterized queries as named prepared statements (default true; see prepared-statements.ts). Off for a
   * pooler that cannot keep them, such as PgBouncer in transaction mode before 1.21. A process attached to another
   * gateway's embedded database never prepares: its statements would outlive it in that gateway's session.
   */
  preparedStatements?: boolean;
  /** Extra pg.Pool settings (tests pass a search_path through `options`). */
  poolOptions?: pg.PoolConfig;
}

export async function openDatabase(options: OpenDatabaseOptions): Promise<Database> {
  if (options.databaseUrl) return openPostgres(options.databaseUrl, options);
  return openEmbedded(options.dataDir ?? './data', options);
}

function redact(url: string): string {
  try {
    const parsed = new URL(url);
    if (parsed.password) parsed.password = '***';
    return parsed.toString();
  } catch {
    return 'postgres (unparseable URL)';
  }
}

function newPool(config: pg.PoolConfig): pg.Pool {
  const pool = new pg.Pool(config);
  // An idle client losing its connection must not crash the process; the pool replaces it.
  pool.on('error', () => {});
  return pool;
}

async function openPostgres(url: string, options: OpenDatabaseOptions): Promise<Database> {
  const connection: pg.PoolConfig = {
    connectionString: url,
    ...(options.preparedStatements === false ? {} : { Client: preparingClient({ sharedSession: false }) }),
    ...options.poolOptions,
  };
  const pool = newPool({ max: options.poolSize ?? 10, ...connection });
  try {
    await pool.query('SELECT 1');
  } catch (error) {
    await pool.end().catch(() => {});
    throw new PersistError('PAGW_STORE_UNAVAILABLE', `Cannot connect to PostgreSQL at ${redact(url)}`, {
      cause: error,
    });
  }
  return {
    pool,
    kind: 'postgres',
    description: `PostgreSQL ${redact(url)}`,
    connection,
    close: () => pool.end(),
  };
}

/**
 * Takes the data directory's lock, or reports the live process that holds it (a running gateway, whose
 * database the caller may then share through its socket).
 */
function lockDataDir(dir: string): { unlock: () => void } | { holder: number } {
  const lockFile = path.join(dir, 'pagw.lock');
  for (let attempt = 0; attempt < 2; attempt++) {
    try {
      const fd = openSync(lockFile, 'wx');
      writeSync(fd, String(process.pid));
      closeSync(fd);
      return { unlock: () => rmSync(lockFile, { force: true }) };
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
      const holder = Number.parseInt(readFileSync(lockFile, 'utf8'), 10);
      if (Number.isInteger(holder) && holder !== process.pid && isAlive(holder)) return { holder };
      rmSync(lockFile, { force: true }); // stale lock from a crashed process
    }
  }
  throw new PersistError('PAGW_STORE_UNAVAILABLE', `Cannot lock the embedded database in ${dir}`);
}

/** The Postgres-protocol socket a running gateway serves its embedded database on (inside the data dir). */
const socketName = '.s.PGSQL.5432';
/** Unix socket paths longer than this do not fit in sockaddr_un; such data dirs fall back to TCP (no sharing). */
const maxSocketPath = 100;

/** Joins the database of the gateway that holds `dir`, through its socket: CLI commands work while it runs. */
async function attachToRunningGateway(
  dir: string,
  holder: number,
  options: OpenDatabaseOptions,
): Promise<Database> {
  const socket = path.join(dir, socketName);
  if (!existsSync(socket)) {
    throw new PersistError(
      'PAGW_STORE_UNAVAILABLE',
      `The embedded database in ${dir} is in use by process ${holder}; stop it or set DATA_DIR to another directory`,
    );
  }
  const connection: pg.PoolConfig = {
    host: dir,
    port: 5432,
    user: 'postgres',
    database: 'postgres',
    ...options.poolOptions,
  };
  const pool = newPool({ max: options.poolSize ?? 4, ...connection });
  try {
    await pool.query('SELECT 1');
  } catch (error) {
    await pool.end().catch(() => {});
    throw new PersistError(
      'PAGW_STORE_UNAVAILABLE',
      `Cannot reach the embedded database of process ${holder} in ${dir}`,
      {
        cause: error,
      },
    );
  }
  return {
    pool,
    kind: 'pglite',
    description: `embedded PGlite in ${dir} (shared with the gateway running as process ${holder})`,
    connection,
    close: () => pool.end(),
  };
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** Frontend message types of the extended query protocol that leave a Parse…Sync sequence open. */
const extendedQueryMessages = new Set(['P', 'B', 'D', 'E', 'C', 'H'].map((c) => c.charCodeAt(0)));

/**
 * pglite-socket keeps one connection's messages together only while a transaction is open; outside one it
 * interleaves messages of different connections, so connection B's Parse (or BEGIN) could land between A's
 * Parse and Sync: A's statement is replaced, A gets "unnamed prepared statement does not exist", wrong rows or
 * a hang. Reporting "in a transaction" from a Parse until its Sync makes every extended-protocol query atomic.
 */
function withAtomicExtendedQueries(db: PGlite): PGlite {
  let openSequence = false;
  return new Proxy(db, {
    get(target, property) {
      if (property === 'isInTransaction') return () => openSequence || target.isInTransaction();
      if (property === 'execProtocolRawStream') {
        return (message: Uint8Array, options: Parameters<PGlite['execProtocolRawStream']>[1]) => {
          openSequence = extendedQueryMessages.has(message[0]!);
          return target.execProtocolRawStream(message, options);
        };
      }
      if (property === 'exec') {
        // The server's rollback of a connection that went away mid-sequence also ends the sequence.
        return (query: string, options?: Parameters<PGlite['exec']>[1]) => {
          openSequence = false;
          return target.exec(query, options);
        };
      }
      const value = Reflect.get(target, property, target);
      return typeof value === 'function' ? value.bind(target) : value;
    },
  });
}

/**
 * PGlite's start parameters: its defaults with a smaller buffer pool. PostgreSQL's 128 MB of shared_buffers live in
 * the WebAssembly memory, which never shrinks; the embedded database is small and the OS caches its files anyway,
 * so 16 MB keeps the gateway's resident memory ~130 MB lower at no measurable cost (issue #10 item 12).
 */
const embeddedStartParams = [...PGlite.defaultStartParams, '-c', 'shared_buffers=16MB'];

/**
 * Creates a new embedded database's files in a short-lived child process. PGlite's initdb grows the WebAssembly
 * memory to ~800 MB, and a WebAssembly memory is never returned to the OS: done in this process, the gateway would
 * carry that peak for its whole life. The child costs one node start, once per data directory.
 */
async function initEmbeddedDataDir(location: string): Promise<void> {
  const script = `
    const { PGlite } = await import(process.argv[1]);
    const db = await PGlite.create(process.argv[2], { startParams: JSON.parse(process.argv[3]) });
    await db.close();`;
  await promisify(execFile)(
    process.execPath,
    [
      '--input-type=module',
      '-e',
      script,
      import.meta.resolve('@electric-sql/pglite'),
      location,
      JSON.stringify(embeddedStartParams),
    ],
    { maxBuffer: 16 * 1024 * 1024 },
  );
}

async function openEmbedded(dataDir: string, options: OpenDatabaseOptions): Promise<Database> {
  const inMemory = dataDir.startsWith('memory://');
  let unlock = () => {};
  let location = dataDir;
  let socketPath: string | undefined;
  if (!inMemory) {
    const dir = path.resolve(dataDir);
    mkdirSync(dir, { recursive: true, mode: 0o700 });
    const lock = lockDataDir(dir);
    if ('holder' in lock) return attachToRunningGateway(dir, lock.holder, options);
    unlock = lock.unlock;
    location = path.join(dir, 'pglite');
    const candidate = path.join(dir, socketName);
    if (candidate.length <= maxSocketPath) {
      rmSync(candidate, { force: true }); // left by a crashed process: we hold the lock now
      socketPath = candidate;
    }
  }
  let db: PGlite | undefined;
  let server: PGLiteSocketServer | undefined;
  try {
    if (!inMemory && !existsSync(path.join(location, 'PG_VERSION'))) await initEmbeddedDataDir(location);
    db = await PGlite.create(location, { startParams: embeddedStartParams });
    // The socket server multiplexes many connections onto PGlite's single session, one transaction at a time.
    // On disk it listens on a Unix socket inside the (0700) data dir, so only this user can reach it.
    server = new PGLiteSocketServer({
      db: withAtomicExtendedQueries(db),
      ...(socketPath ? { path: socketPath } : { host: '127.0.0.1', port: 0 }),
      maxConnections: 64,
    });
    await server.start();
  } catch (error) {
    await server?.stop().catch(() => {});
    await db?.close().catch(() => {});
    unlock();
    throw new PersistError('PAGW_STORE_UNAVAILABLE', `Cannot open the embedded database in ${dataDir}`, {
      cause: error,
    });
  }
  // Every connection reaches PGlite's one session: the clients share what it has prepared.
  const prepared =
    options.preparedStatements === false ? {} : { Client: preparingClient({ sharedSession: true }) };
  const connection: pg.PoolConfig = socketPath
    ? {
        host: path.dirname(socketPath),
        port: 5432,
        user: 'postgres',
        database: 'postgres',
        ...prepared,
        ...options.poolOptions,
      }
    : {
        connectionString: `postgres://postgres@${server.getServerConn()}/postgres`,
        ...prepared,
        ...options.poolOptions,
      };
  const pool = newPool({ max: options.poolSize ?? 8, ...connection });
  const description = inMemory
    ? 'embedded PGlite (in memory)'
    : `embedded PGlite in ${path.resolve(dataDir)}`;
  let closed = false;
  return {
    pool,
    kind: 'pglite',
    description,
    connection,
    exclusive: true,
    async close() {
      if (closed) return;
      closed = true;
      await pool.end().catch(() => {});
      await server!.stop().catch(() => {});
      await db!.close().catch(() => {});
      if (socketPath) rmSync(socketPath, { force: true });
      unlock();
    },
  };
}
