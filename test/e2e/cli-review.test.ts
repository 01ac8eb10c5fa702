/**
 * The review gate from the command line: a token issued to a named person (`pagw token create --user --npi`),
 * their approval through the API, then `pagw audit show CASE` printing the delegation chain of each row —
 * the ordering clinician as a digest unless revealed (and the reveal audited) — and `pagw audit verify` intact.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildApp } from '../../src/api/app.ts';
import { reviewRouter } from '../../src/api/review-routes.ts';
import { systemClock } from '../../src/clock.ts';
import { createLogger } from '../../src/log/logger.ts';
import { type Database, openStore, transitionCase, withTransaction } from '../../src/store/index.ts';
import { cleanEnv, databaseUrlOf, runCli } from '../helpers/cli.ts';
import { openTestDatabase, testDatabaseKind } from '../helpers/database.ts';
import { readJson } from '../helpers/http.ts';
import { insertSampleCase, testActor } from '../helpers/store.ts';

describe(`pagw token create --user and pagw audit show (${testDatabaseKind()})`, () => {
  let db: Database;
  let server: Server;
  let base: string;
  let env: NodeJS.ProcessEnv;
  let dir: string | undefined;

  beforeAll(async () => {
    if (process.env.DATABASE_URL) {
      db = await openTestDatabase();
      env = cleanEnv({ DATABASE_URL: databaseUrlOf(db) });
    } else {
      // An on-disk embedded database, shared with the CLI processes over its socket (as with a running gateway).
      dir = mkdtempSync(path.join(tmpdir(), 'pagw-cli-review-'));
      db = await openStore({ dataDir: dir });
      env = cleanEnv({ DATA_DIR: dir });
    }
    const app = buildApp({
      db,
      clock: systemClock,
      logger: createLogger({ level: 'silent' }),
      routers: [reviewRouter({ db, clock: systemClock })],
    });
    server = await new Promise<Server>((resolve) => {
      const s = app.listen(0, '127.0.0.1', () => resolve(s));
    });
    base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  afterAll(async () => {
    await new Promise((resolve) => server?.close(resolve));
    await db?.close();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it('refuses an NPI that fails its check digit, or one without a named person', async () => {
    const bad = await runCli(
      [
        'token',
        'create',
        '-t',
        'clinic-a',
        '-r',
        'medical_director',
        '--user',
        'dr.x',
        '--npi',
        '1245319590',
      ],
      { env },
    );
    expect(bad.code).toBe(2);
    expect(bad.stderr).toContain('valid 10-digit NPI');
    const anonymous = await runCli(
      ['token', 'create', '-t', 'clinic-a', '-r', 'medical_director', '--npi', '1245319599'],
      { env },
    );
    expect(anonymous.code).toBe(2);
  });

  it('a named medical director approves; audit show prints who, in which role, on whose behalf, through which connector', async () => {
    const created = await runCli(
      [
        'token',
        'create',
        '-t',
        'clinic-a',
        '-r',
        'medical_director',
        '--user',
        'dr.house@goodhealth.example.org',
        '--npi',
        '1245319599',
      ],
      { env },
    );
    expect(created.code).toBe(0);
    expect(created.stderr).toContain('issued to dr.house@goodhealth.example.org');
    const token = created.stdout.trim();

    const record = await insertSampleCase(db.pool);
    for (const event of ['validated', 'eligibility_checked', 'review_requested'] as const)
      await withTransaction(db.pool, (tx) =>
        transitionCase(tx, {
          tenant: 'clinic-a',
          caseId: record.id,
          event,
          actor: testActor,
          at: new Date(),
        }),
      );
    const headers = { authorization: `Bearer ${token}`, 'content-type': 'application/json' };
    const queue = await readJson(await fetch(`${base}/review/queue`, { headers }));
    const item = queue.items.find((i: { id: string }) => i.id === record.id);
    const approved = await fetch(`${base}/cases/${record.id}/review`, {
      method: 'POST',
      headers,
      body: JSON.stringify({ action: 'approve', ...item.mustRepeat }),
    });
    expect(approved.status).toBe(200);

    const shown = await runCli(['audit', 'show', record.id], { env });
    expect(shown.code).toBe(0);
    expect(shown.stdout).toContain(`case ${record.id} (tenant clinic-a)`);
    const submittedLine = shown.stdout.split('\n').findIndex((l) => l.includes('case.submitted'));
    expect(shown.stdout.split('\n')[submittedLine]).toContain(
      'by user:dr.house@goodhealth.example.org for tenant:clinic-a',
    );
    expect(shown.stdout.split('\n')[submittedLine + 1]).toMatch(
      /chain: ordering_clinician clinician:[0-9a-f]{16} → service service:pagw \(for tenant:clinic-a\) → reviewer user:dr\.house@goodhealth\.example\.org \(medical_director, NPI 1245319599\)/,
    );
    // The ordering clinician's NPI and name are not in the audit.
    expect(shown.stdout).not.toContain('1234567893');
    expect(shown.stdout).not.toMatch(/Welby/i);

    const revealed = await runCli(['audit', 'show', record.id, '--reveal'], { env });
    expect(revealed.stdout).toContain('= NPI 1234567893, Welby Marcus');
    const reveal = await db.pool.query(
      `SELECT actor FROM audit_log WHERE case_id = $1 AND action = 'case.chain_revealed'`,
      [record.id],
    );
    expect(reveal.rows[0].actor).toMatch(/^cli:/);

    const verified = await runCli(['audit', 'verify'], { env });
    expect(verified.stdout).toContain('chain intact');
    expect((await runCli(['audit', 'show', '00000000-0000-4000-8000-000000000000'], { env })).code).toBe(1);
  });
});
