/**
 * acceptInboundMessage on a real database (PGlite, or PostgreSQL with DATABASE_URL): one transaction records
 * the message, creates and validates one case per order group with a workflow timer, or dead-letters the
 * original bytes with the reasons; the same message again changes nothing.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ManualClock } from '../../src/clock.ts';
import {
  acceptInboundMessage,
  InboundDeadLetterHeader,
  type InboundDeps,
  type InboundMessage,
  workflowAdvanceTimer,
} from '../../src/inbound/index.ts';
import { createLogger } from '../../src/log/logger.ts';
import { type Database, getCase, listCaseEvents } from '../../src/store/index.ts';
import { readFixture } from '../conformance/mapping-cases.ts';
import { openTestDatabase, testDatabaseKind } from '../helpers/database.ts';
import { countRoundTrips } from '../helpers/round-trips.ts';
import { countRows } from '../helpers/store.ts';
import { openedInboundMessages, testVault } from '../helpers/vault.ts';

let db: Database;
let deps: InboundDeps;
const clock = new ManualClock('2026-03-02T09:00:00.000Z');
let tenantSeq = 0;

beforeAll(async () => {
  db = await openTestDatabase({ poolSize: 6 });
  deps = {
    db,
    clock,
    logger: createLogger({ level: 'silent' }),
    deadLetterTopic: 'pa.deadletter.v1',
    phi: testVault(db).phi,
  };
});
afterAll(async () => {
  await db?.close();
});

/** Each test its own tenant, so counts are its own. */
function tenant(): string {
  tenantSeq++;
  return `clinic-${tenantSeq}`;
}

function hl7(file: string, t: string, extra: Partial<InboundMessage> = {}): InboundMessage {
  return { tenant: t, raw: readFixture(file), sender: 'test-ehr', transport: 'http', ...extra };
}

async function counts(t: string) {
  return {
    messages: await countRows(db.pool, 'inbound_messages', 'tenant_id = $1', [t]),
    cases: await countRows(db.pool, 'cases', 'tenant_id = $1', [t]),
    events: await countRows(db.pool, 'case_events', 'tenant_id = $1', [t]),
    timers: await countRows(db.pool, 'timers', 'tenant_id = $1', [t]),
    outbox: await countRows(db.pool, 'outbox', 'tenant_id = $1', [t]),
    audit: await countRows(db.pool, 'audit_log', 'tenant_id = $1', [t]),
  };
}

/**
 * The first message of a tenant creates its data key: another order (new control id and placer number) warms it up,
 * so what a test counts next is an order's own cost.
 */
async function warmUp(inbound: InboundDeps, t: string): Promise<void> {
  const other = hl7('hl7v2/fhirconverter_ORM-O01-02.hl7', t);
  const raw = other.raw
    .toString()
    .replace('MSG00019', 'MSG00020')
    .replaceAll('1101^GHHPlacer', '1102^GHHPlacer');
  await acceptInboundMessage(inbound, { ...other, raw: Buffer.from(raw) });
}

describe(`inbound accept (${testDatabaseKind()})`, () => {
  it('records an order in three round trips: the message with BEGIN, the case, then every other row with COMMIT', async () => {
    const t = tenant();
    await warmUp(deps, t);
    const trips = await countRoundTrips(db.pool, () =>
      acceptInboundMessage(deps, hl7('hl7v2/fhirconverter_ORM-O01-02.hl7', t)),
    );
    expect(trips).toBe(3);
    expect(await counts(t)).toMatchObject({ messages: 2, cases: 2, events: 4, timers: 2 });
  });

  it('holding incomplete orders costs no round trip more: the held-case lookup goes with the message’s INSERT', async () => {
    const t = tenant();
    const holding: InboundDeps = { ...deps, holdIncomplete: true };
    await warmUp(holding, t);
    const trips = await countRoundTrips(db.pool, () =>
      acceptInboundMessage(holding, hl7('hl7v2/fhirconverter_ORM-O01-02.hl7', t)),
    );
    expect(trips).toBe(3);
    expect(await counts(t)).toMatchObject({ messages: 2, cases: 2, events: 4, timers: 2 });
  });

  it('records an order, creates one validated case with a workflow timer due now, and audits it', async () => {
    const t = tenant();
    const result = await acceptInboundMessage(deps, hl7('hl7v2/fhirconverter_ORM-O01-02.hl7', t));
    expect(result).toMatchObject({ outcome: 'accepted', duplicate: false, messageId: 'MSG00019' });
    expect(result.caseIds).toHaveLength(1);
    const record = await getCase(db.pool, t, result.caseIds[0]!);
    expect(record?.state).toBe('validated');
    expect(record?.request.coverage.memberId).toBe('548851236L');
    expect((await listCaseEvents(db.pool, t, record!.id)).map((e) => e.event)).toEqual([
      'received',
      'validated',
    ]);
    const timers = await db.pool.query('SELECT kind, due_at FROM timers WHERE case_id = $1', [record!.id]);
    expect(timers.rows).toEqual([{ kind: workflowAdvanceTimer, due_at: clock.now() }]);
    const audit = await db.pool.query(
      'SELECT action, actor, on_behalf_of FROM audit_log WHERE tenant_id = $1 ORDER BY seq',
      [t],
    );
    expect(audit.rows.map((r) => r.action)).toEqual(['case.received', 'case.validated', 'inbound.accepted']);
    expect(audit.rows.at(-1)).toMatchObject({
      actor: 'http:test-ehr',
      on_behalf_of: 'sender:ORDApp@GHHSFacility',
    });
    // The original bytes, opened through the audited path (that read is itself audited: phi.read).
    const [stored] = await openedInboundMessages(db, t);
    expect(stored).toMatchObject({ format: 'hl7v2', outcome: 'accepted', caseIds: result.caseIds });
    expect(Buffer.compare(stored!.raw, readFixture('hl7v2/fhirconverter_ORM-O01-02.hl7'))).toBe(0);
  });

  it('one ORC with two OBRs makes two cases', async () => {
    const t = tenant();
    const result = await acceptInboundMessage(deps, hl7('hl7v2/fhirconverter_MDHHS-OML-O21-2.hl7', t));
    expect(result.caseIds).toHaveLength(2);
    expect(new Set(result.caseIds).size).toBe(2);
    expect((await counts(t)).timers).toBe(2);
  });

  it('the same message again returns the first outcome and writes nothing, even re-framed with other line ends', async () => {
    const t = tenant();
    const first = await acceptInboundMessage(deps, hl7('hl7v2/fhirconverter_ORM-O01-02.hl7', t));
    const before = await counts(t);
    const again = await acceptInboundMessage(deps, hl7('hl7v2/fhirconverter_ORM-O01-02.hl7', t));
    const crlf = Buffer.from(
      readFixture('hl7v2/fhirconverter_ORM-O01-02.hl7').toString('utf8').replace(/\n/g, '\r\n'),
    );
    const reframed = await acceptInboundMessage(deps, {
      ...hl7('hl7v2/fhirconverter_ORM-O01-02.hl7', t),
      raw: crlf,
    });
    for (const duplicate of [again, reframed]) {
      expect(duplicate).toMatchObject({ outcome: 'accepted', duplicate: true, caseIds: first.caseIds });
    }
    expect(await counts(t)).toEqual(before);
  });

  it('a different message reusing a sender + MSH-10 is refused, not swallowed as a duplicate; a resend that only restamps MSH-7 is a duplicate', async () => {
    const t = tenant();
    const first = await acceptInboundMessage(deps, hl7('hl7v2/fhirconverter_ORM-O01-02.hl7', t));
    const restamped = Buffer.from(
      readFixture('hl7v2/fhirconverter_ORM-O01-02.hl7')
        .toString('utf8')
        .replace('|202110201126+0215|SECURITY|', '|202110201130+0215|SECURITY|'),
    );
    const resend = await acceptInboundMessage(deps, {
      ...hl7('hl7v2/fhirconverter_ORM-O01-02.hl7', t),
      raw: restamped,
    });
    expect(resend).toMatchObject({ duplicate: true, caseIds: first.caseIds });
    const other = await acceptInboundMessage(deps, hl7('hl7v2/fhirconverter_OML-O21-01.hl7', t));
    expect(other).toMatchObject({
      outcome: 'rejected',
      duplicate: false,
      errorCode: 'PAGW_INBOUND_ID_REUSED',
    });
    expect(other.problems.map((p) => p.location)).toEqual(['MSH-10']);
    const otherAgain = await acceptInboundMessage(deps, hl7('hl7v2/fhirconverter_OML-O21-01.hl7', t));
    expect(otherAgain).toMatchObject({
      outcome: 'rejected',
      duplicate: true,
      errorCode: 'PAGW_INBOUND_ID_REUSED',
    });
    expect(await counts(t)).toMatchObject({ messages: 2, cases: 1, outbox: 1 });
  });

  it('a message without MSH-10 is recognised by its content', async () => {
    const t = tenant();
    const message = Buffer.from(
      readFixture('hl7v2/synthetic_ORM-O01_rxo-ndc.hl7').toString('utf8').replace('|RX-1|', '||'),
    );
    const first = await acceptInboundMessage(deps, {
      tenant: t,
      raw: message,
      sender: 'x',
      transport: 'bus',
    });
    const again = await acceptInboundMessage(deps, {
      tenant: t,
      raw: message,
      sender: 'x',
      transport: 'bus',
    });
    expect(first.outcome).toBe('accepted');
    expect(first.messageKey).toMatch(/^hl7v2:PHARM@EAST:sha256:[0-9a-f]{64}$/);
    expect(again).toMatchObject({ duplicate: true, caseIds: first.caseIds });
  });

  it('refuses unmappable input: no case, a dead-letter outbox row with the original bytes, reasons and source, an audit row', async () => {
    const t = tenant();
    const raw = readFixture('hl7v2/nhapi_OML_O21_messages_msg5_IN1.hl7');
    const result = await acceptInboundMessage(deps, {
      tenant: t,
      raw,
      sender: 'mllp:10.0.0.7',
      transport: 'mllp',
    });
    expect(result).toMatchObject({ outcome: 'rejected', errorCode: 'PAGW_MAP_MISSING_FIELD', caseIds: [] });
    expect(result.problems.map((p) => `${p.location}: ${p.message}`)).toEqual(['IN1-36: member id missing']);
    const c = await counts(t);
    expect(c).toMatchObject({ messages: 1, cases: 0, timers: 0, outbox: 1 });
    const { rows } = await db.pool.query(
      'SELECT topic, message_key, headers, value FROM outbox WHERE tenant_id = $1',
      [t],
    );
    expect(rows[0].topic).toBe('pa.deadletter.v1');
    expect(Buffer.compare(rows[0].value, raw)).toBe(0);
    expect(rows[0].headers).toMatchObject({
      'pagw-tenant': t,
      'pagw-dlq-error-code': 'PAGW_MAP_MISSING_FIELD',
      [InboundDeadLetterHeader.transport]: 'mllp',
      [InboundDeadLetterHeader.sender]: 'HIS@ASE',
      [InboundDeadLetterHeader.format]: 'hl7v2',
    });
    expect(JSON.parse(rows[0].headers[InboundDeadLetterHeader.problems])).toEqual([
      { location: 'IN1-36', message: 'member id missing' },
    ]);
    const stored = await db.pool.query(
      'SELECT outcome, problems FROM inbound_messages WHERE tenant_id = $1',
      [t],
    );
    expect(stored.rows[0].outcome).toBe('rejected');
    expect(stored.rows[0].problems.code).toBe('PAGW_MAP_MISSING_FIELD');
    const audit = await db.pool.query('SELECT action, details FROM audit_log WHERE tenant_id = $1', [t]);
    expect(audit.rows).toEqual([
      expect.objectContaining({
        action: 'inbound.rejected',
        details: expect.objectContaining({ errorCode: 'PAGW_MAP_MISSING_FIELD' }),
      }),
    ]);

    const again = await acceptInboundMessage(deps, {
      tenant: t,
      raw,
      sender: 'mllp:10.0.0.7',
      transport: 'mllp',
    });
    expect(again).toMatchObject({
      outcome: 'rejected',
      duplicate: true,
      errorCode: 'PAGW_MAP_MISSING_FIELD',
    });
    expect(again.problems.map((p) => p.location)).toEqual(['IN1-36']);
    expect(await counts(t)).toEqual(c);
  });

  it('bytes that are not a message at all are kept and dead-lettered too', async () => {
    const t = tenant();
    const raw = Buffer.from([0, 1, 2, 3, 250, 251, 252]);
    const result = await acceptInboundMessage(deps, { tenant: t, raw, sender: 'x', transport: 'bus' });
    expect(result).toMatchObject({ outcome: 'rejected', errorCode: 'PAGW_MAP_UNREADABLE' });
    expect(await counts(t)).toMatchObject({ messages: 1, outbox: 1, cases: 0 });
  });

  it('maps FHIR: a transaction bundle with two ServiceRequests makes two cases; a PAS bundle keeps format pas', async () => {
    const t = tenant();
    const bundle = await acceptInboundMessage(deps, {
      tenant: t,
      raw: readFixture('fhir/synthetic_bundle-transaction-two-orders.json'),
      sender: 'epic-fhir',
      transport: 'http',
    });
    expect(bundle.caseIds).toHaveLength(2);
    const pas = await acceptInboundMessage(deps, {
      tenant: t,
      raw: readFixture('pas/Bundle-ReferralAuthorizationBundleExample.json'),
      sender: 'epic-fhir',
      transport: 'http',
    });
    const record = await getCase(db.pool, t, pas.caseIds[0]!);
    expect(record?.request.source.format).toBe('pas');
  });

  it('a FHIR resource with id and versionId is the same message whatever its formatting', async () => {
    const t = tenant();
    const raw = readFixture('fhir/synthetic_servicerequest-contained.json');
    const first = await acceptInboundMessage(deps, {
      tenant: t,
      raw,
      sender: 'epic-fhir',
      transport: 'http',
    });
    const compact = Buffer.from(JSON.stringify(JSON.parse(raw.toString('utf8'))));
    const again = await acceptInboundMessage(deps, {
      tenant: t,
      raw: compact,
      sender: 'epic-fhir',
      transport: 'bus',
    });
    expect(first.messageKey).toBe('fhir:epic-fhir:ServiceRequest/sr-contained-1/_history/3');
    expect(again).toMatchObject({ duplicate: true, caseIds: first.caseIds });
  });

  it('the same message delivered concurrently makes one case', async () => {
    const t = tenant();
    const results = await Promise.all(
      Array.from({ length: 4 }, () =>
        acceptInboundMessage(deps, hl7('hl7v2/fhirconverter_OML-O21-01.hl7', t)),
      ),
    );
    expect(results.filter((r) => !r.duplicate)).toHaveLength(1);
    expect(new Set(results.map((r) => r.caseIds[0])).size).toBe(1);
    expect((await counts(t)).cases).toBe(1);
  });

  it('refuses a tenant name that is not one', async () => {
    await expect(
      acceptInboundMessage(deps, hl7('hl7v2/fhirconverter_ORM-O01-02.hl7', 'no spaces allowed')),
    ).rejects.toMatchObject({ code: 'PAGW_INBOUND_NO_TENANT' });
  });
});
