import { type ChildProcess, spawn } from 'node:child_process';
import path from 'node:path';
import type { Database } from '../../src/store/index.ts';

export const repoRoot = path.join(import.meta.dirname, '..', '..');
export const pagwBin = path.join(repoRoot, 'bin', 'pagw.js');

export interface CliResult {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** Environment for a child process: the parent's, minus anything that would point it at another database. */
export function cleanEnv(extra: Record<string, string | undefined> = {}): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = { ...process.env, LOG_LEVEL: 'warn' };
  for (const name of ['DATABASE_URL', 'KAFKA_BROKERS', 'PAGW_CONFIG', 'PORT', 'DATA_DIR', 'MLLP_PORT'])
    delete env[name];
  return { ...env, ...extra };
}

/** A DATABASE_URL a child process can use to reach the same database (and schema) as `db`. */
export function databaseUrlOf(db: Database): string {
  const { connectionString, options } = db.connection;
  if (!connectionString) throw new Error('test database has no connection string');
  return options
    ? `${connectionString}${connectionString.includes('?') ? '&' : '?'}options=${encodeURIComponent(options)}`
    : connectionString;
}

export function runCli(
  args: string[],
  options: { env?: NodeJS.ProcessEnv; input?: string; timeoutMs?: number } = {},
): Promise<CliResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [pagwBin, ...args], {
      env: options.env ?? cleanEnv(),
      cwd: repoRoot,
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d) => {
      stdout += d;
    });
    child.stderr.on('data', (d) => {
      stderr += d;
    });
    const timer = setTimeout(
      () => {
        child.kill('SIGKILL');
        reject(
          new Error(`pagw ${args.join(' ')} did not finish in time\nstdout: ${stdout}\nstderr: ${stderr}`),
        );
      },
      Math.max(options.timeoutMs ?? 0, 240_000),
    );
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    });
    if (options.input !== undefined) child.stdin.end(options.input);
    else child.stdin.end();
  });
}

/** Starts a long-running `pagw` command and resolves once its stdout matches `ready`. */
export function startCli(
  args: string[],
  ready: RegExp,
  options: { env?: NodeJS.ProcessEnv; timeoutMs?: number } = {},
): Promise<{ child: ChildProcess; output: () => string; match: RegExpMatchArray }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [pagwBin, ...args], {
      env: options.env ?? cleanEnv(),
      cwd: repoRoot,
    });
    let out = '';
    let err = '';
    const timer = setTimeout(
      () => {
        child.kill('SIGKILL');
        reject(new Error(`pagw ${args.join(' ')} not ready in time\nstdout: ${out}\nstderr: ${err}`));
      },
      Math.max(options.timeoutMs ?? 0, 240_000),
    );
    child.stdout!.on('data', (d) => {
      out += d;
      const match = out.match(ready);
      if (match) {
        clearTimeout(timer);
        resolve({ child, output: () => out, match });
      }
    });
    child.stderr!.on('data', (d) => {
      err += d;
    });
    child.on('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`pagw ${args.join(' ')} exited with ${code}\nstdout: ${out}\nstderr: ${err}`));
    });
  });
}
