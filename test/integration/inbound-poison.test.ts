/**
 * A NUL byte (or anything else PostgreSQL cannot store as text or jsonb) in an inbound message must not make
 * a poison message (issue #10 item 6): over HTTP (HL7 and FHIR), MLLP and the order topics it is recorded
 * with its original bytes, dead-lettered and refused — 422 / ACK AE naming the segment/field or JSON path and
 * the byte offset — never a 500 or an AR that tells the sender to send the same bytes again forever. A value
 * the database refuses that the mapper did not foresee (simulated by a trigger) is recorded the same way.
 */
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import net from 'node:net';
import { HL7Message } from 'hl7v2';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildApp } from '../../src/api/app.ts';
import type { IncomingMessage } from '../../src/bus/port.ts';
import { ManualClock } from '../../src/clock.ts';
import {
  acceptInboundMessage,
  createOrderTopicHandler,
  frame,
  type InboundDeps,
  inboundOrdersRouter,
  MllpDecoder,
  type MllpServer,
  startMllpServer,
} from '../../src/inbound/index.ts';
import { createLogger } from '../../src/log/logger.ts';
import { createApiToken, type Database } from '../../src/store/index.ts';
import { readFixture } from '../conformance/mapping-cases.ts';
import { openTestDatabase, testDatabaseKind } from '../helpers/database.ts';
import { readJson } from '../helpers/http.ts';
import { countRows, waitFor } from '../helpers/store.ts';
import { openedInboundMessages, testVault } from '../helpers/vault.ts';

const tenant = 'clinic-poison';
const logger = createLogger({ level: 'silent' });
const clock = new ManualClock('2026-03-03T08:00:00Z');
let db: Database;
let server: Server;
let mllp: MllpServer;
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
  mllp = await startMllpServer({
    host: '127.0.0.1',
    port: 0,
    tenant,
    accept: (message) => acceptInboundMessage(deps, message),
    logger,
    clock,
  });
});
afterAll(async () => {
  await mllp?.stop();
  await new Promise((resolve) => server?.close(resolve));
  await db?.close();
});

const hl7Order = readFixture('hl7v2/synthetic_ORM-O01_rxo-ndc.hl7').toString('latin1');
const fhirOrder = readFixture('fhir/synthetic_medicationrequest-contained.json').toString('utf8');

/** The order with `find` replaced (once) by `replace`, as bytes, and where the replacement starts. */
function withBytes(text: string, find: string, replace: Buffer | string, controlId?: string) {
  let source = text;
  if (controlId) source = source.replace('|RX-1|', `|${controlId}|`);
  const at = source.indexOf(find);
  expect(at).toBeGreaterThanOrEqual(0);
  const before = Buffer.from(source.slice(0, at), 'latin1');
  const bytes = Buffer.concat([
    before,
    Buffer.isBuffer(replace) ? replace : Buffer.from(replace, 'latin1'),
    Buffer.from(source.slice(at + find.length), 'latin1'),
  ]);
  return { bytes, offset: before.length };
}

const post = (path: string, body: Buffer, type: string) =>
  fetch(`${base}${path}`, {
    method: 'POST',
    body: new Uint8Array(body),
    headers: { authorization: `Bearer ${token}`, 'content-type': type },
  });

async function storedRaw(messageKeyLike: string): Promise<Buffer[]> {
  return (await openedInboundMessages(db, tenant, 'message_key LIKE $2', [messageKeyLike])).map((m) => m.raw);
}

async function deadLettersWithValue(raw: Buffer): Promise<number> {
  const { rows } = await db.pool.query<{ value: Buffer }>(
    `SELECT value FROM outbox WHERE tenant_id = $1 AND topic = 'pa.deadletter.v1'`,
    [tenant],
  );
  return rows.filter((r) => Buffer.compare(r.value, raw) === 0).length;
}

async function inboundRowsWithRaw(raw: Buffer): Promise<number> {
  const rows = await openedInboundMessages(db, tenant);
  return rows.filter((r) => Buffer.compare(r.raw, raw) === 0 && r.outcome === 'rejected').length;
}

describe(`poison bytes in inbound messages (${testDatabaseKind()})`, () => {
  it('HTTP HL7: a NUL in PID-5 is a 422 naming PID-5 and its byte offset; recorded, dead-lettered, once', async () => {
    const { bytes, offset } = withBytes(hl7Order, 'DOE^JOHN', Buffer.from('DO\u0000E^JOHN', 'latin1'));
    const res = await post('/orders/hl7v2', bytes, 'x-application/hl7-v2+er7');
    expect(res.status).toBe(422);
    const outcome = await readJson(res);
    expect(outcome.issue).toHaveLength(1);
    expect(outcome.issue[0].details.coding[0].code).toBe('PAGW_MAP_FORBIDDEN_CHARACTER');
    expect(outcome.issue[0].expression).toEqual(['PID-5']);
    expect(outcome.issue[0].details.text).toContain(`byte offset ${offset + 2}`);
    expect(await inboundRowsWithRaw(bytes)).toBe(1);
    expect(await deadLettersWithValue(bytes)).toBe(1);
    // Sent again: the same answer, nothing new.
    const again = await post('/orders/hl7v2', bytes, 'text/plain');
    expect(again.status).toBe(422);
    expect(await deadLettersWithValue(bytes)).toBe(1);
    expect(await countRows(db.pool, 'cases', 'tenant_id = $1', [tenant])).toBe(0);
  });

  it('HTTP HL7: a \\X00\\ escape that decodes to NUL is refused at its field, not stored', async () => {
    const { bytes } = withBytes(hl7Order, 'DOE^JOHN', 'DO\\X00\\E^JOHN', 'RX-ESC-NUL');
    const res = await post('/orders/hl7v2', bytes, 'x-application/hl7-v2+er7');
    expect(res.status).toBe(422);
    const outcome = await readJson(res);
    expect(outcome.issue.map((i: { expression: string[] }) => i.expression[0])).toContain('PID-5.1');
    expect(outcome.issue[0].details.coding[0].code).toBe('PAGW_MAP_FORBIDDEN_CHARACTER');
    expect(await inboundRowsWithRaw(bytes)).toBe(1);
    expect(await deadLettersWithValue(bytes)).toBe(1);
  });

  it('HTTP HL7: a NUL in MSH-10 still gets a 422 and a record (identifiers never reach text columns raw)', async () => {
    const { bytes } = withBytes(hl7Order, '|RX-1|', Buffer.from('|RX-\u00001|', 'latin1'));
    const res = await post('/orders/hl7v2', bytes, 'x-application/hl7-v2+er7');
    expect(res.status).toBe(422);
    expect((await readJson(res)).issue[0].expression).toEqual(['MSH-10']);
    expect(await inboundRowsWithRaw(bytes)).toBe(1);
  });

  it('HTTP FHIR: \\u0000 and an unpaired surrogate in strings are a 422 naming the JSON path and byte offset', async () => {
    const nul = withBytes(fhirOrder, '"Poe"', '"Po\\u0000e"');
    const res = await post('/orders/fhir', nul.bytes, 'application/fhir+json');
    expect(res.status).toBe(422);
    const outcome = await readJson(res);
    expect(outcome.issue[0].details.coding[0].code).toBe('PAGW_MAP_FORBIDDEN_CHARACTER');
    expect(outcome.issue[0].expression[0]).toMatch(/^\$\.contained\[\d+\]\.name\[0\]\.family$/);
    expect(outcome.issue[0].details.text).toContain(`byte offset ${nul.offset + 3}`);
    expect(await inboundRowsWithRaw(nul.bytes)).toBe(1);
    expect(await deadLettersWithValue(nul.bytes)).toBe(1);

    const surrogate = withBytes(fhirOrder, '"Poe"', '"Po\\ud800e"');
    const res2 = await post('/orders/fhir', surrogate.bytes, 'application/fhir+json');
    expect(res2.status).toBe(422);
    const outcome2 = await readJson(res2);
    expect(outcome2.issue[0].details.text).toContain('unpaired UTF-16 surrogate');
    expect(outcome2.issue[0].details.text).toContain(`byte offset ${surrogate.offset + 3}`);
    expect(await inboundRowsWithRaw(surrogate.bytes)).toBe(1);

    const raw = withBytes(fhirOrder, '"Poe"', Buffer.from('"Po\u0000e"', 'latin1'));
    const res3 = await post('/orders/fhir', raw.bytes, 'application/fhir+json');
    expect(res3.status).toBe(422);
    expect((await readJson(res3)).issue[0].details.text).toContain(`byte offset ${raw.offset + 3}`);
    expect(await inboundRowsWithRaw(raw.bytes)).toBe(1);
  });

  it('MLLP: a NUL in PID-5 gets AE (not AR) with ERR-2 PID^1^5 and the offset; the next message on the connection gets AA', async () => {
    const { bytes, offset } = withBytes(
      hl7Order,
      'DOE^JOHN',
      Buffer.from('DOE^JO\u0000HN', 'latin1'),
      'RX-MLLP-NUL',
    );
    const socket = net.connect(mllp.port, '127.0.0.1');
    const decoder = new MllpDecoder(1024 * 1024);
    const acks: HL7Message[] = [];
    socket.on('data', (chunk: Buffer) => {
      for (const event of decoder.push(chunk)) {
        if (event.kind === 'message') acks.push(HL7Message.parse(event.payload.toString('latin1')));
      }
    });
    socket.write(frame(bytes));
    socket.write(frame(Buffer.from(hl7Order.replace('|RX-1|', '|RX-MLLP-OK|'), 'latin1')));
    await waitFor(() => acks.length === 2, { what: 'two ACKs' });
    socket.end();
    const [poison, fine] = acks;
    expect(poison!.getSegment('MSA')!.field(1).getValue()).toBe('AE');
    expect(poison!.getSegment('MSA')!.field(2).getValue()).toBe('RX-MLLP-NUL');
    const err = poison!.getSegment('ERR')!;
    expect([1, 2, 3].map((c) => String(err.field(2).getValue(c)))).toEqual(['PID', '1', '5']);
    expect(String(err.field(3).getValue(1))).toBe('102');
    expect(err.field(5).getValue(1)).toBe('PAGW_MAP_FORBIDDEN_CHARACTER');
    expect(err.field(8).getValue()).toContain(`byte offset ${offset + 6}`);
    expect(fine!.getSegment('MSA')!.field(1).getValue()).toBe('AA');
    expect(await inboundRowsWithRaw(bytes)).toBe(1);
    expect(await deadLettersWithValue(bytes)).toBe(1);
  });

  it('order topic: a NUL in the value, the key or a header is recorded and dead-lettered; the handler resolves', async () => {
    const handle = createOrderTopicHandler({ ...deps, format: 'hl7v2' });
    const { bytes } = withBytes(hl7Order, 'DOE^JOHN', Buffer.from('\u0000DOE^JOHN', 'latin1'), 'RX-BUS-NUL');
    const message = (value: Buffer, key: string, sender: string): IncomingMessage => ({
      topic: 'pa.orders.hl7v2',
      partition: 0,
      offset: '11',
      key,
      value,
      headers: { 'pagw-tenant': tenant, 'pagw-sender': sender, 'pagw-correlation-id': 'c\u0000id' },
      attempt: 1,
    });
    await handle(message(bytes, 'key\u0000one', 'epic\u0000east'));
    expect(await inboundRowsWithRaw(bytes)).toBe(1);
    expect(await deadLettersWithValue(bytes)).toBe(1);
    // A clean order whose transport metadata holds NUL is accepted; the metadata is kept, escaped.
    const clean = Buffer.from(hl7Order.replace('|RX-1|', '|RX-BUS-META|'), 'latin1');
    await handle(message(clean, 'key\u0000two', 'epic\u0000west'));
    const { rows } = await db.pool.query<{ outcome: string; actor: string }>(
      `SELECT m.outcome, a.actor FROM inbound_messages m JOIN audit_log a
         ON a.details->>'messageKey' = m.message_key
        WHERE m.tenant_id = $1 AND m.message_key LIKE '%RX-BUS-META'`,
      [tenant],
    );
    expect(rows).toEqual([{ outcome: 'accepted', actor: 'bus:pa.orders.hl7v2' }]);
    expect(await storedRaw('%RX-BUS-META')).toHaveLength(1);
  });

  it('a value the database itself refuses is recorded with its bytes, dead-lettered and refused (AE), never thrown back for a resend', async () => {
    // An unforeseen refusal, simulated: the database raises a data exception (class 22) for one member id.
    await db.pool.query(`
      CREATE FUNCTION poison_refuse() RETURNS trigger LANGUAGE plpgsql AS $$
      BEGIN
        IF NEW.request::text LIKE '%POISON-MEMBER%' THEN
          RAISE EXCEPTION 'simulated refusal' USING ERRCODE = '22P05';
        END IF;
        RETURN NEW;
      END $$;
      CREATE TRIGGER poison_refuse BEFORE INSERT ON cases FOR EACH ROW EXECUTE FUNCTION poison_refuse();`);
    try {
      const raw = Buffer.from(
        hl7Order.replace('|RX-1|', '|RX-DB-REFUSED|').replace('RXM-1', 'POISON-MEMBER'),
        'latin1',
      );
      const result = await acceptInboundMessage(deps, {
        tenant,
        raw,
        sender: 'test',
        transport: 'mllp',
      });
      expect(result).toMatchObject({ outcome: 'rejected', errorCode: 'PAGW_INBOUND_UNSTORABLE' });
      expect(result.problems[0]!.message).toContain('SQLSTATE 22P05');
      expect(await inboundRowsWithRaw(raw)).toBe(1);
      expect(await deadLettersWithValue(raw)).toBe(1);
      // The resend is recognised: same answer, nothing new.
      const again = await acceptInboundMessage(deps, { tenant, raw, sender: 'test', transport: 'mllp' });
      expect(again).toMatchObject({ outcome: 'rejected', duplicate: true });
      expect(await deadLettersWithValue(raw)).toBe(1);
    } finally {
      await db.pool.query('DROP TRIGGER poison_refuse ON cases; DROP FUNCTION poison_refuse()');
    }
  });
});
