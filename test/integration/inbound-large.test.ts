/**
 * Large messages (issue #10 item 7). One HL7 message of 5,000 order groups used to answer 500 after 50 s
 * (and a FHIR Bundle of 10,000 ServiceRequests after 89 s), holding the embedded database all along: the
 * audit rows went into one INSERT past PostgreSQL's 65,535 bind parameters. Now: the audit log appends in
 * chunks; a message over the configured ceilings (order groups, field length, repetitions, size) is refused
 * at once with PAGW_MAP_LIMIT_EXCEEDED naming the limit and the value found, recorded and dead-lettered; and
 * a message at the ceiling is recorded in a fixed number of statements, however many groups it holds (a
 * proxy for "never holds the database for seconds" that does not depend on the machine's speed).
 */
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildApp } from '../../src/api/app.ts';
import {
  type AuditEntry,
  appendAuditEntries,
  chainAllAudit,
  verifyAuditChain,
} from '../../src/audit/audit-log.ts';
import { ManualClock } from '../../src/clock.ts';
import { loadConfig } from '../../src/config/load-config.ts';
import { acceptInboundMessage, type InboundDeps, inboundOrdersRouter } from '../../src/inbound/index.ts';
import { createLogger } from '../../src/log/logger.ts';
import { createApiToken, type Database, withTransaction } from '../../src/store/index.ts';
import { readFixture } from '../conformance/mapping-cases.ts';
import { openTestDatabase, testDatabaseKind } from '../helpers/database.ts';
import { buildOrmOrder } from '../helpers/hl7-orders.ts';
import { readJson } from '../helpers/http.ts';
import { countRows } from '../helpers/store.ts';
import { testVault } from '../helpers/vault.ts';

const tenant = 'clinic-large';
const logger = createLogger({ level: 'silent' });
const clock = new ManualClock('2026-03-03T08:00:00Z');
let db: Database;
let server: Server;
let base: string;
let token: string;
let deps: InboundDeps;

beforeAll(async () => {
  db = await openTestDatabase({ poolSize: 6 });
  deps = { db, clock, logger, deadLetterTopic: 'pa.deadletter.v1', phi: testVault(db).phi };
  const app = buildApp({ db, clock, logger, routers: [inboundOrdersRouter(deps)] });
  server = await new Promise<Server>((resolve) => {
    const s = app.listen(0, '127.0.0.1', () => resolve(s));
  });
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  token = (await createApiToken(db.pool, { tenant, roles: ['ehr'], label: 'ehr', at: clock.now() })).token;
});
afterAll(async () => {
  await new Promise((resolve) => server?.close(resolve));
  await db?.close();
});

/** An ORM^O01 with `groups` ORC/OBR order groups (each its own placer number). */
function ormWithGroups(groups: number, messageId: string): string {
  const [msh, pid, in1, , , dg1] = buildOrmOrder({ messageId, memberId: 'BIG-MEMBER-1', cpt: '70553' }).split(
    '\r',
  );
  const body: string[] = [];
  for (let i = 0; i < groups; i++) {
    const provider = '1234567893^WELBY^MARCUS^^^^^^^^^^NPI';
    body.push(`ORC|NW|P-${i}|||||^^^20261201^^R|||20261123101500|||${provider}`);
    body.push(`OBR|${i + 1}|P-${i}||70553^MRI brain^C4||||||||||||${provider}`);
  }
  return [msh, pid, in1, ...body, dg1].join('\r');
}

/** The synthetic FHIR transaction Bundle with its ServiceRequest repeated `orders` times. */
function bundleWithOrders(orders: number): Buffer {
  const bundle = JSON.parse(
    readFixture('fhir/synthetic_bundle-transaction-two-orders.json').toString('utf8'),
  );
  const template = bundle.entry.find(
    (e: { resource: { resourceType: string } }) => e.resource.resourceType === 'ServiceRequest',
  );
  const others = bundle.entry.filter(
    (e: { resource: { resourceType: string } }) => e.resource.resourceType !== 'ServiceRequest',
  );
  // Compact entries (no display texts, no request): 10,000 of them stay well under the 5 MiB body limit.
  const { resourceType, status, intent, subject, requester, insurance } = template.resource;
  const code = { coding: [{ system: template.resource.code.coding[0].system, code: '27447' }] };
  const requests = Array.from({ length: orders }, (_, i) => ({
    fullUrl: `urn:uuid:10000000-0000-4000-8000-${String(i).padStart(12, '0')}`,
    resource: { resourceType, status, intent, code, subject, requester, insurance },
  }));
  const body = Buffer.from(
    JSON.stringify({ ...bundle, id: `big-${orders}`, entry: [...others, ...requests] }),
  );
  expect(body.length).toBeLessThan(5 * 1024 * 1024);
  return body;
}

const post = (path: string, body: Buffer | string, type: string) =>
  fetch(`${base}${path}`, {
    method: 'POST',
    body: typeof body === 'string' ? body : new Uint8Array(body),
    headers: { authorization: `Bearer ${token}`, 'content-type': type },
  });

/** The pool, counting the statements run through it and its clients. */
function countingPool(pool: pg.Pool): { pool: pg.Pool; statements: () => number } {
  let statements = 0;
  const counted = <T extends object>(target: T): T =>
    new Proxy(target, {
      get(object, property) {
        const value = Reflect.get(object, property, object);
        if (property === 'query') {
          return (...args: unknown[]) => {
            statements++;
            return (value as (...a: unknown[]) => unknown).apply(object, args);
          };
        }
        if (property === 'connect') {
          return async () => counted(await (value as () => Promise<pg.PoolClient>).apply(object));
        }
        return typeof value === 'function' ? value.bind(object) : value;
      },
    });
  return { pool: counted(pool), statements: () => statements };
}

describe(`large inbound messages (${testDatabaseKind()})`, () => {
  it('appends thousands of audit rows in one transaction (past 65,535 bind parameters) and the chain still verifies', async () => {
    const entries: AuditEntry[] = Array.from({ length: 7_000 }, (_, i) => ({
      tenant,
      actor: { id: 'system:test' },
      action: 'test.bulk',
      details: { i },
      at: clock.now(),
    }));
    await withTransaction(db.pool, (tx) => appendAuditEntries(tx, entries));
    expect(await countRows(db.pool, 'audit_log', `action = 'test.bulk'`)).toBe(7_000);
    expect(await chainAllAudit(db.pool)).toBeGreaterThanOrEqual(7_000);
    expect(await verifyAuditChain(db.pool)).toMatchObject({ ok: true, unchained: 0 });
  });

  it('refuses an HL7 message of 5,000 order groups at once: 422 naming the limit and the count; recorded, dead-lettered', async () => {
    const raw = ormWithGroups(5_000, 'BIG-5000');
    const res = await post('/orders/hl7v2', raw, 'x-application/hl7-v2+er7');
    expect(res.status).toBe(422);
    const outcome = await readJson(res);
    expect(outcome.issue).toHaveLength(1);
    expect(outcome.issue[0].details.coding[0].code).toBe('PAGW_MAP_LIMIT_EXCEEDED');
    expect(outcome.issue[0].details.text).toContain('5000 order groups');
    expect(outcome.issue[0].details.text).toContain('the limit is 100 (inbound.maxOrderGroups)');
    expect(await countRows(db.pool, 'cases', 'tenant_id = $1', [tenant])).toBe(0);
    expect(
      await countRows(db.pool, 'outbox', `tenant_id = $1 AND headers->>'pagw-dlq-error-code' = $2`, [
        tenant,
        'PAGW_MAP_LIMIT_EXCEEDED',
      ]),
    ).toBe(1);
    // The gateway answers its probes right after (nothing held).
    expect((await fetch(`${base}/readyz`)).status).toBe(200);
  });

  it('refuses a FHIR Bundle of 10,000 ServiceRequests at once: 422 naming the limit and the count', async () => {
    const res = await post('/orders/fhir', bundleWithOrders(10_000), 'application/fhir+json');
    expect(res.status).toBe(422);
    const outcome = await readJson(res);
    expect(outcome.issue[0].details.coding[0].code).toBe('PAGW_MAP_LIMIT_EXCEEDED');
    expect(outcome.issue[0].expression).toEqual(['Bundle.entry']);
    expect(outcome.issue[0].details.text).toContain('10000 order resources');
    expect(outcome.issue[0].details.text).toContain('the limit is 100');
  });

  it('records a message at the limit in as many statements as a message of one order group', async () => {
    const one = countingPool(db.pool);
    const single = await acceptInboundMessage(
      { ...deps, db: { pool: one.pool } },
      { tenant, raw: Buffer.from(ormWithGroups(1, 'AT-LIMIT-1')), sender: 'ehr', transport: 'http' },
    );
    expect(single.caseIds).toHaveLength(1);
    const hundred = countingPool(db.pool);
    const many = await acceptInboundMessage(
      { ...deps, db: { pool: hundred.pool } },
      { tenant, raw: Buffer.from(ormWithGroups(100, 'AT-LIMIT-100')), sender: 'ehr', transport: 'http' },
    );
    expect(many.outcome).toBe('accepted');
    expect(many.caseIds).toHaveLength(100);
    expect(new Set(many.caseIds).size).toBe(100);
    expect(hundred.statements()).toBe(one.statements());
    // What was written is complete: every case validated, with both events, a timer and its audit rows.
    const ids = many.caseIds as string[];
    expect(
      await countRows(db.pool, 'cases', `id = ANY($1) AND state = 'validated' AND version = 2`, [ids]),
    ).toBe(100);
    expect(await countRows(db.pool, 'case_events', 'case_id = ANY($1)', [ids])).toBe(200);
    expect(await countRows(db.pool, 'timers', `case_id = ANY($1) AND kind = 'workflow.advance'`, [ids])).toBe(
      100,
    );
    expect(await countRows(db.pool, 'audit_log', 'case_id = ANY($1)', [ids])).toBe(200);
    await chainAllAudit(db.pool);
    expect(await verifyAuditChain(db.pool)).toMatchObject({ ok: true, unchained: 0 });
  });

  it('refuses fields over the length and repetition limits, naming each field, the limit and the value', async () => {
    const base = ormWithGroups(1, 'FIELDS-1');
    const repeated = base.replace(
      /^PID\|1\|\|[^|]*/m,
      `PID|1||${Array.from({ length: 150 }, (_, i) => `MRN-${i}^^^GOODHEALTH^MR`).join('~')}`,
    );
    const long = `${base}\rNTE|1||${'x'.repeat(70_000)}`;
    const first = await acceptInboundMessage(deps, {
      tenant,
      raw: Buffer.from(repeated),
      sender: 'ehr',
      transport: 'http',
    });
    expect(first.errorCode).toBe('PAGW_MAP_LIMIT_EXCEEDED');
    expect(first.problems.map((p) => [p.location, p.message])).toEqual([
      ['PID-3', 'the field has 150 repetitions: the limit is 100 (inbound.maxFieldRepetitions)'],
    ]);
    const second = await acceptInboundMessage(deps, {
      tenant,
      raw: Buffer.from(long.replace('FIELDS-1', 'FIELDS-2')),
      sender: 'ehr',
      transport: 'http',
    });
    expect(second.problems.map((p) => [p.location, p.message])).toEqual([
      ['NTE-3', 'the field is 70000 characters long: the limit is 65536 (inbound.maxFieldLength)'],
    ]);
  });

  it('takes its limits from config (env INBOUND_*) and refuses a bus message over inbound.maxMessageBytes', async () => {
    const config = loadConfig({
      env: { INBOUND_MAX_ORDER_GROUPS: '3', INBOUND_MAX_MESSAGE_BYTES: '4096' },
    });
    expect(config.inbound).toMatchObject({
      maxOrderGroups: 3,
      maxMessageBytes: 4096,
      maxFieldRepetitions: 100,
    });
    const limited = { ...deps, limits: config.inbound };
    const four = await acceptInboundMessage(limited, {
      tenant,
      raw: Buffer.from(ormWithGroups(4, 'CONFIGURED-4')),
      sender: 'ehr',
      transport: 'bus',
    });
    expect(four.problems[0]!.message).toContain('4 order groups');
    expect(four.problems[0]!.message).toContain('the limit is 3');
    const big = Buffer.from(ormWithGroups(30, 'CONFIGURED-BIG'));
    expect(big.length).toBeGreaterThan(4096);
    const tooBig = await acceptInboundMessage(limited, { tenant, raw: big, sender: 'ehr', transport: 'bus' });
    expect(tooBig).toMatchObject({ outcome: 'rejected', errorCode: 'PAGW_INBOUND_TOO_LARGE' });
    expect(tooBig.problems[0]!.message).toBe(
      `the message is ${big.length} bytes: the limit is 4096 (inbound.maxMessageBytes)`,
    );
  });
});
