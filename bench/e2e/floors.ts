/**
 * bench/e2e's floors, measured in the same run as the gateway so that ratios cancel out the machine's speed
 * and load: what the database, an HTTP server and the broker do with nothing of the gateway around them.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { Kafka, logLevel, Partitioners } from 'kafkajs';
import { openDatabase } from '../../src/store/index.ts';
import { burst } from './load.ts';

export interface Rate {
  readonly perSecond: number;
  readonly count: number;
  readonly seconds: number;
}

const repoRoot = path.join(import.meta.dirname, '..', '..');

/** Where a floor's database lives: the bench's PostgreSQL database, or a fresh embedded one of its own. */
export type FloorDatabase = { kind: 'pg'; url: string } | { kind: 'embedded' };

/**
 * The database floor: `concurrency` clients each looping BEGIN; INSERT one row like an order's; COMMIT, for
 * `seconds`. On the embedded database this goes through the same PGlite + socket + pg stack as the gateway.
 */
export async function insertCommitFloor(
  where: FloorDatabase,
  seconds: number,
  concurrency: number,
): Promise<Rate> {
  const dir = where.kind === 'embedded' ? mkdtempSync(path.join(tmpdir(), 'pagw-floor-')) : undefined;
  const db = await openDatabase(
    where.kind === 'pg'
      ? { databaseUrl: where.url, poolSize: concurrency }
      : { dataDir: dir!, poolSize: concurrency },
  );
  try {
    await db.pool.query(
      'CREATE TABLE IF NOT EXISTS bench_insert_floor (id bigserial PRIMARY KEY, body bytea NOT NULL, at timestamptz NOT NULL)',
    );
    const body = Buffer.alloc(1200, 'x'); // about an HL7 order's size
    const deadline = Date.now() + seconds * 1000;
    const start = Date.now();
    let count = 0;
    await Promise.all(
      Array.from({ length: concurrency }, async () => {
        const client = await db.pool.connect();
        try {
          while (Date.now() < deadline) {
            await client.query('BEGIN');
            await client.query('INSERT INTO bench_insert_floor (body, at) VALUES ($1, now())', [body]);
            await client.query('COMMIT');
            count++;
          }
        } finally {
          client.release();
        }
      }),
    );
    const elapsed = (Date.now() - start) / 1000;
    return { perSecond: count / elapsed, count, seconds: elapsed };
  } finally {
    await db.close();
    if (dir) rmSync(dir, { recursive: true, force: true });
  }
}

export async function startProcess(
  script: string,
  env: NodeJS.ProcessEnv,
  ready: RegExp,
  nodeArgs: readonly string[] = [],
): Promise<{ child: ChildProcess; match: RegExpExecArray; output: () => string }> {
  const child = spawn(process.execPath, [...nodeArgs, '--import', 'tsx', script], {
    cwd: repoRoot,
    env,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  const keep = (d: Buffer) => {
    out += d;
    if (out.length > 200_000) out = out.slice(-100_000);
  };
  child.stdout!.on('data', keep);
  child.stderr!.on('data', keep);
  const match = await new Promise<RegExpExecArray>((resolve, reject) => {
    const timer = setInterval(() => {
      const m = ready.exec(out);
      if (m) {
        clearInterval(timer);
        resolve(m);
      }
    }, 50);
    child.once('exit', (code) => {
      clearInterval(timer);
      reject(new Error(`${script} exited with ${code}:\n${out.slice(-4000)}`));
    });
  });
  child.removeAllListeners('exit');
  return { child, match, output: () => out };
}

export async function stopProcess(child: ChildProcess, signal: NodeJS.Signals = 'SIGTERM'): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  await new Promise<void>((resolve) => {
    const force = setTimeout(() => child.kill('SIGKILL'), 20_000);
    child.once('exit', () => {
      clearTimeout(force);
      resolve();
    });
    child.kill(signal);
  });
}

/** The HTTP floor: the same burst against a bare express handler doing one INSERT (bench/e2e/floor-http.ts). */
export async function httpFloor(
  where: FloorDatabase,
  n: number,
  concurrency: number,
  body: (index: number) => { messageId: string; body: string },
): Promise<Rate> {
  const dir = where.kind === 'embedded' ? mkdtempSync(path.join(tmpdir(), 'pagw-floor-http-')) : undefined;
  const env: NodeJS.ProcessEnv = { ...process.env };
  delete env.DATABASE_URL;
  if (where.kind === 'pg') env.DATABASE_URL = where.url;
  else env.DATA_DIR = dir!;
  const { child, match } = await startProcess('bench/e2e/floor-http.ts', env, /listening on (http:\/\/\S+)/);
  try {
    const target = { url: match[1]!, path: '/orders', contentType: 'x-application/hl7-v2+er7' };
    const start = Date.now();
    const sent = await burst(target, n, concurrency, body);
    const elapsed = (Math.max(...sent.map((s) => s.respondedAt)) - start) / 1000;
    const ok = sent.filter((s) => s.status === 201).length;
    return { perSecond: ok / elapsed, count: ok, seconds: elapsed };
  } finally {
    await stopProcess(child);
    if (dir) rmSync(dir, { recursive: true, force: true });
  }
}

/**
 * The broker floor: kafkajs alone, consuming `n` messages from one topic and producing each to another (the
 * same partition concurrency the gateway's subscription uses), timed from the first message consumed.
 */
export async function kafkaPassthroughFloor(
  brokers: string[],
  topics: { input: string; output: string },
  n: number,
  message: (index: number) => { key: string; value: string; headers: Record<string, string> },
): Promise<Rate> {
  const kafka = new Kafka({ clientId: 'bench-floor', brokers, logLevel: logLevel.NOTHING });
  const producer = kafka.producer({ createPartitioner: Partitioners.DefaultPartitioner });
  await producer.connect();
  for (let i = 0; i < n; i += 500) {
    const chunk = Array.from({ length: Math.min(500, n - i) }, (_, j) => message(i + j));
    await producer.send({ topic: topics.input, messages: chunk });
  }
  let forwarded = 0;
  let startedAt = 0;
  const consumer = kafka.consumer({ groupId: `bench-floor-${Date.now()}`, maxWaitTimeInMs: 100 });
  await consumer.connect();
  await consumer.subscribe({ topic: topics.input, fromBeginning: true });
  const done = new Promise<number>((resolve) => {
    void consumer.run({
      partitionsConsumedConcurrently: 4,
      eachMessage: async ({ message: m }) => {
        if (startedAt === 0) startedAt = Date.now();
        await producer.send({
          topic: topics.output,
          messages: [{ key: m.key, value: m.value, headers: m.headers }],
        });
        if (++forwarded === n) resolve(Date.now());
      },
    });
  });
  const endedAt = await done;
  await consumer.disconnect();
  await producer.disconnect();
  const seconds = (endedAt - startedAt) / 1000;
  return { perSecond: n / seconds, count: n, seconds };
}
