/**
 * recordValidatedCases (the bulk intake of one inbound message's cases) writes exactly what createCase
 * followed by transitionCase('validated') and a workflow.advance timer write for each request: the same
 * case rows, events, outbox rows (through the real planner: status events), timers and audit entries. Only
 * the number of statements differs.
 */
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadPayerDirectory } from '../../connectors/payer-directory.ts';
import { type AuditEntry, appendAuditEntries } from '../../src/audit/audit-log.ts';
import type { AuthorizationRequest } from '../../src/canonical/index.ts';
import { createCaseOutboundPlanner } from '../../src/outbound/planner.ts';
import { loadTenantDirectory } from '../../src/outbound/tenant-loader.ts';
import { recordValidatedCases } from '../../src/store/case-intake.ts';
import {
  caseIdFor,
  createCase,
  type Database,
  scheduleTimer,
  transitionCase,
  withTransaction,
} from '../../src/store/index.ts';
import { openTestDatabase, testDatabaseKind } from '../helpers/database.ts';
import { sampleRequest } from '../helpers/fixtures.ts';

let db: Database;
const at = new Date('2026-03-04T09:00:00.000Z');
const actor = { id: 'http:ehr', onBehalfOf: 'sender:EPIC@GOODHEALTH' };
const planner = createCaseOutboundPlanner({
  tenants: loadTenantDirectory(path.join(import.meta.dirname, '..', '..', 'tenants')),
  payers: loadPayerDirectory(undefined),
  topics: { claimResponse: 'pa.claimresponse.v1', status: 'pa.status.v1' },
});

beforeAll(async () => {
  db = await openTestDatabase();
});
afterAll(async () => {
  await db?.close();
});

function requests(tenant: string): AuthorizationRequest[] {
  return [0, 1, 2].map((i) => sampleRequest({ tenant, idempotencyKey: `hl7v2:EPIC@GOODHEALTH:MSG-1#${i}` }));
}

/** The old path, one request at a time (what accept.ts did before). */
async function oneByOne(tenant: string): Promise<void> {
  await withTransaction(db.pool, async (tx) => {
    const audit: AuditEntry[] = [];
    for (const request of requests(tenant)) {
      const created = await createCase(tx, {
        request,
        actor,
        at,
        outbox: planner({
          event: 'received',
          after: {
            id: caseIdFor(tenant, request.idempotencyKey),
            tenant,
            state: 'received',
            version: 1,
            request,
            decision: null,
          },
          previousState: null,
          at,
        }),
        auditTo: audit,
      });
      await transitionCase(tx, {
        tenant,
        caseId: created.case.id,
        event: 'validated',
        actor,
        at,
        data: { format: request.source.format, orderIndex: 0 },
        outbox: (after, before) => planner({ event: 'validated', after, previousState: before.state, at }),
        auditTo: audit,
      });
      await scheduleTimer(tx, { tenant, caseId: created.case.id, kind: 'workflow.advance', dueAt: at }, at);
    }
    await appendAuditEntries(tx, audit);
  });
}

async function inBulk(tenant: string): Promise<void> {
  await withTransaction(db.pool, async (tx) => {
    const audit: AuditEntry[] = [];
    await recordValidatedCases(tx, {
      requests: requests(tenant),
      actor,
      at,
      validatedData: (request) => ({ format: request.source.format, orderIndex: 0 }),
      outbound: (event, after, previousState) => planner({ event, after, previousState, at }),
      timerKind: 'workflow.advance',
      auditTo: audit,
    });
    await appendAuditEntries(tx, audit);
  });
}

/** What a tenant's cases left in every table, with the tenant and the ids made comparable. */
async function written(tenant: string) {
  const ids = requests(tenant).map((r) => caseIdFor(tenant, r.idempotencyKey));
  const anonymous = (value: unknown) =>
    JSON.parse(
      ids.reduce(
        (text, id, i) => text.replaceAll(id, `case-${i}`),
        JSON.stringify(value).replaceAll(tenant, 'TENANT'),
      ),
    );
  const q = async (sql: string) => anonymous((await db.pool.query(sql, [tenant])).rows);
  // Event ids are deterministic per tenant and case; JSON key order is not part of an event's content (the
  // one-by-one path published the validated event from the jsonb row, whose keys PostgreSQL reorders).
  const events = (rows: Array<Record<string, unknown>>) =>
    rows.map(({ value, ...row }) => {
      const { eventId: _eventId, ...body } = JSON.parse(String(value));
      return { ...row, value: body };
    });
  return {
    cases: await q(
      `SELECT id, state, version, idempotency_key, request, decision, payer_id, channel, created_at, updated_at
         FROM cases WHERE tenant_id = $1 ORDER BY idempotency_key`,
    ),
    events: await q(
      `SELECT case_id, seq, event, from_state, to_state, actor, on_behalf_of, data, at
         FROM case_events WHERE tenant_id = $1 ORDER BY id`,
    ),
    outbox: events(
      await q(
        `SELECT case_id, topic, message_key, headers - 'pagw-event-id' AS headers, convert_from(value, 'UTF8') AS value
         FROM outbox WHERE tenant_id = $1 ORDER BY id`,
      ),
    ),
    timers: await q(
      `SELECT case_id, kind, due_at, payload, created_at FROM timers WHERE tenant_id = $1 ORDER BY id`,
    ),
    audit: await q(
      `SELECT actor, on_behalf_of, action, case_id, details FROM audit_log WHERE tenant_id = $1 ORDER BY seq`,
    ),
  };
}

describe(`bulk case intake (${testDatabaseKind()})`, () => {
  it('writes the same rows as createCase + transitionCase(validated) + a timer, per request', async () => {
    await oneByOne('intake-one');
    await inBulk('intake-bulk');
    const [one, bulk] = [await written('intake-one'), await written('intake-bulk')];
    expect(one.cases).toHaveLength(3);
    expect(one.events).toHaveLength(6);
    expect(one.outbox.length).toBeGreaterThan(0);
    expect(bulk).toEqual(one);
  });

  it('writes nothing for a request whose case exists already, and returns its id', async () => {
    await inBulk('intake-again');
    const before = await written('intake-again');
    await inBulk('intake-again');
    expect(await written('intake-again')).toEqual(before);
  });
});
