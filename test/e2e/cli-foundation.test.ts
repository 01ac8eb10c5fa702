import { once } from 'node:events';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Database } from '../../src/store/index.ts';
import { cleanEnv, databaseUrlOf, runCli, startCli } from '../helpers/cli.ts';
import { openTestDatabase, testDatabaseKind } from '../helpers/database.ts';
import { fixturePath } from '../helpers/fixtures.ts';
import { readJson } from '../helpers/http.ts';
import { insertSampleCase } from '../helpers/store.ts';

describe('pagw CLI', () => {
  let dataDir: string;
  beforeAll(() => {
    dataDir = mkdtempSync(path.join(tmpdir(), 'pagw-cli-'));
  });
  afterAll(() => rmSync(dataDir, { recursive: true, force: true }));

  it('prints help for the program and each command', async () => {
    const top = await runCli(['--help']);
    expect(top.code).toBe(0);
    for (const command of ['start', 'migrate', 'validate', 'audit', 'token'])
      expect(top.stdout).toContain(command);
    const start = await runCli(['start', '--help']);
    expect(start.code).toBe(0);
    expect(start.stdout).toContain('--port');
    const verify = await runCli(['audit', 'verify', '--help']);
    expect(verify.stdout).toContain('hash chain');
  });

  it('exits 2 on an unknown command', async () => {
    const result = await runCli(['frobnicate']);
    expect(result.code).toBe(2);
    expect(result.stderr).toMatch(/unknown command/);
  });

  it('validate prints "valid" for a good request and exits 0', async () => {
    const result = await runCli(['validate', fixturePath('canonical', 'authorization-request.valid.json')]);
    expect(result).toMatchObject({ code: 0, stdout: 'valid\n' });
  });

  it('validate prints each problem with its path and exits 1', async () => {
    const result = await runCli(['validate', fixturePath('canonical', 'authorization-request.invalid.json')]);
    expect(result.code).toBe(1);
    const lines = result.stdout.trim().split('\n');
    expect(lines).toContain('$.coverage.memberId: is required but missing');
    expect(lines).toContain('$.colour: is not a known property');
    expect(lines.length).toBeGreaterThanOrEqual(8);
  });

  it('validate exits 1 with a clear message on a file that is not JSON or does not exist', async () => {
    const file = path.join(dataDir, 'broken.json');
    writeFileSync(file, '{"tenant": ');
    const broken = await runCli(['validate', file]);
    expect(broken.code).toBe(1);
    expect(broken.stderr).toContain('cannot read JSON');
    const missing = await runCli(['validate', path.join(dataDir, 'nope.json')]);
    expect(missing.code).toBe(1);
  });

  it('a bad config value stops with one clear message per value and exit 2', async () => {
    const result = await runCli(['migrate'], {
      env: cleanEnv({ PORT: 'eighty', LOG_LEVEL: 'chatty', DATA_DIR: dataDir }),
    });
    expect(result.code).toBe(2);
    expect(result.stderr).toContain('PORT (env): must be integer');
    expect(result.stderr).toContain('LOG_LEVEL (env): must be one of');
  });

  it('migrate applies on the embedded default, then reports it up to date', async () => {
    const env = cleanEnv({ DATA_DIR: dataDir });
    const first = await runCli(['migrate'], { env });
    expect(first.code).toBe(0);
    expect(first.stdout).toMatch(/Applied 0001_foundation.* on embedded PGlite/);
    const second = await runCli(['migrate'], { env });
    expect(second.stdout).toMatch(/Schema up to date/);
  });

  it('start prints where it listens, serves a token made by `token create`, and stops cleanly on SIGTERM', async () => {
    const env = cleanEnv({ DATA_DIR: dataDir, PORT: '0' });
    const created = await runCli(['token', 'create', '--tenant', 'clinic-a', '--role', 'ehr', 'reviewer'], {
      env,
    });
    expect(created.code).toBe(0);
    const token = created.stdout.trim();
    expect(token).toMatch(/^pagw_[A-Za-z0-9_-]{43}$/);
    expect(created.stderr).toContain('not shown again');

    const { child, output, match } = await startCli(['start'], /listening on (http:\/\/\S+)[\s\S]*bus:.*\n/, {
      env,
    });
    try {
      expect(output()).toContain(`database: embedded PGlite in ${dataDir}`);
      expect(output()).toContain('bus:      embedded bus');
      const url = match[1]!;
      expect((await fetch(`${url}/cases`)).status).toBe(401);
      const listed = await fetch(`${url}/cases`, { headers: { authorization: `Bearer ${token}` } });
      expect(listed.status).toBe(200);
      expect(await readJson(listed)).toEqual({ items: [], next: null });
    } finally {
      child.kill('SIGTERM');
    }
    const [code] = await once(child, 'exit');
    expect(code).toBe(0);
    expect(output()).toContain('stopped');
  });

  it('shares the running gateway’s embedded database: a token made while it runs works at once', async () => {
    const env = cleanEnv({ DATA_DIR: dataDir, PORT: '0' });
    const { child, match } = await startCli(['start'], /listening on (http:\/\/\S+)[\s\S]*bus:.*\n/, { env });
    try {
      const created = await runCli(['token', 'create', '--tenant', 'clinic-b', '--role', 'erp'], { env });
      expect(created.code).toBe(0);
      const listed = await fetch(`${match[1]}/cases`, {
        headers: { authorization: `Bearer ${created.stdout.trim()}` },
      });
      expect(listed.status).toBe(200);
      const verified = await runCli(['audit', 'verify'], { env });
      expect(verified.stdout).toContain('chain intact');
      const migrated = await runCli(['migrate'], { env });
      expect(migrated.stdout).toMatch(/shared with the gateway running as process \d+/);
    } finally {
      child.kill('SIGTERM');
      await once(child, 'exit');
    }
  });
});

describe(`pagw audit verify against ${testDatabaseKind()}`, () => {
  let db: Database;
  beforeAll(async () => {
    db = await openTestDatabase();
    for (let i = 0; i < 3; i++) await insertSampleCase(db.pool);
  });
  afterAll(() => db?.close());

  it('reports an intact chain, then the edited row, with exit 1', async () => {
    const env = cleanEnv({ DATABASE_URL: databaseUrlOf(db) });
    const intact = await runCli(['audit', 'verify'], { env });
    expect(intact).toMatchObject({ code: 0 });
    expect(intact.stdout).toContain('3 rows, chain intact');
    await db.pool.query('ALTER TABLE audit_log DISABLE TRIGGER audit_log_append_only');
    await db.pool.query(`UPDATE audit_log SET action = 'case.nothing_to_see' WHERE seq = 2`);
    const broken = await runCli(['audit', 'verify'], { env });
    expect(broken.code).toBe(1);
    expect(broken.stdout).toContain('row 2: row content does not match its hash (edited)');
    expect(broken.stdout).toContain('audit log BROKEN');
  });

  it('audits token creation: who made which token for which tenant, with no secret', async () => {
    const env = cleanEnv({ DATABASE_URL: databaseUrlOf(db) });
    const created = await runCli(['token', 'create', '--tenant', 'clinic-z', '--role', 'erp'], { env });
    expect(created.code).toBe(0);
    const { rows } = await db.pool.query(
      `SELECT tenant_id, actor, on_behalf_of, details FROM audit_log WHERE action = 'token.created'`,
    );
    expect(rows).toHaveLength(1);
    expect(rows[0]).toMatchObject({
      tenant_id: 'clinic-z',
      on_behalf_of: 'tenant:clinic-z',
      details: { roles: ['erp'] },
    });
    expect(rows[0].actor).toMatch(/^cli:/);
    expect(JSON.stringify(rows[0])).not.toContain(created.stdout.trim());
  });
});
