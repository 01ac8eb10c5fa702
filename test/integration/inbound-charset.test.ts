/**
 * Character sets (issue #10 item 8): bytes are decoded as MSH-18 says (HL7 table 0211), UTF-8 when it is
 * empty; a field the mapping reads that holds bytes the declared character set cannot decode — or UTF-8
 * characters under a single-byte declaration — is refused with its segment/field and byte offset (422 / ACK
 * AE, recorded, dead-lettered), so no mangled name ever reaches a case and from there a 270/278. FHIR JSON
 * must be UTF-8. The two corpus files with non-ASCII bytes keep mapping as before.
 */
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import net from 'node:net';
import { HL7Message } from 'hl7v2';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildApp } from '../../src/api/app.ts';
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
import { createApiToken, type Database, getCase } from '../../src/store/index.ts';
import { readFixture } from '../conformance/mapping-cases.ts';
import { openTestDatabase, testDatabaseKind } from '../helpers/database.ts';
import { readJson } from '../helpers/http.ts';
import { countRows, waitFor } from '../helpers/store.ts';
import { openedInboundMessages, testVault } from '../helpers/vault.ts';

const tenant = 'clinic-charset';
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

/** The synthetic pharmacy order with its MSH-10, MSH-18 and PID-5 as given (PID-5 as raw bytes). */
function order(
  controlId: string,
  charset: string,
  name: Buffer,
  extra = '',
): { bytes: Buffer; nameAt: number } {
  const head = `MSH|^~\\&|PHARM|EAST|PAGW|PAGW|20240401120000-0400||ORM^O01|${controlId}|P|2.5||||||${charset}\rPID|1||RX-PAT-1^^^EAST^MR||`;
  const tail = `||19600215|M\rIN1|1|SILVER|PAY-3|Pharma Plan||||G-77|||||||||SEL|||||||||||||||||||RXM-1\rORC|NW|RX-ORD-${controlId}^PHARM|||||||20240401120000-0400|||1234567893^WELBY^MARCUS^^^^^^NPI\rRXO|00047040230^Ampicillin 250 mg caps^NDC||||||||||30|CAP\rDG1|1||A49.9^Bacterial infection^I10${extra}`;
  return {
    bytes: Buffer.concat([Buffer.from(head, 'latin1'), name, Buffer.from(tail, 'latin1')]),
    nameAt: head.length,
  };
}

const post = (path: string, body: Buffer, type: string) =>
  fetch(`${base}${path}`, {
    method: 'POST',
    body: new Uint8Array(body),
    headers: { authorization: `Bearer ${token}`, 'content-type': type },
  });

async function patientName(caseId: string) {
  return (await getCase(db.pool, tenant, caseId))!.request.patient.name;
}

async function deadLettered(raw: Buffer): Promise<boolean> {
  const { rows } = await db.pool.query<{ value: Buffer }>(
    `SELECT value FROM outbox WHERE tenant_id = $1 AND topic = 'pa.deadletter.v1'`,
    [tenant],
  );
  return rows.some((r) => Buffer.compare(r.value, raw) === 0);
}

describe(`character sets of inbound orders (${testDatabaseKind()})`, () => {
  it('refuses invalid UTF-8 in PID-5 when MSH-18 is empty: 422 naming PID-5 and the byte offset, recorded, dead-lettered, no case', async () => {
    const { bytes, nameAt } = order('CS-1', '', Buffer.from('M\xdcLLER^J\xdcRGEN', 'latin1'));
    const res = await post('/orders/hl7v2', bytes, 'x-application/hl7-v2+er7');
    expect(res.status).toBe(422);
    const outcome = await readJson(res);
    expect(outcome.issue).toHaveLength(1);
    expect(outcome.issue[0].details.coding[0].code).toBe('PAGW_MAP_UNDECODABLE');
    expect(outcome.issue[0].expression).toEqual(['PID-5']);
    expect(outcome.issue[0].details.text).toContain(`byte offset ${nameAt + 1}`);
    expect(outcome.issue[0].details.text).toContain('MSH-18');
    expect(await deadLettered(bytes)).toBe(true);
    expect(await countRows(db.pool, 'cases', 'tenant_id = $1', [tenant])).toBe(0);
  });

  it('reads the same bytes as ISO-8859-1 when MSH-18 says 8859/1: the case has the right name', async () => {
    const { bytes } = order('CS-2', '8859/1', Buffer.from('M\xdcLLER^J\xdcRGEN', 'latin1'));
    const res = await post('/orders/hl7v2', bytes, 'x-application/hl7-v2+er7');
    expect(res.status).toBe(201);
    const [caseId] = (await readJson(res)).caseIds;
    expect(await patientName(caseId)).toMatchObject({ family: 'MÜLLER', given: ['JÜRGEN'] });
  });

  it('reads UTF-8 when MSH-18 says UNICODE UTF-8 (and when it is empty)', async () => {
    for (const [id, charset] of [
      ['CS-3', 'UNICODE UTF-8'],
      ['CS-4', ''],
    ] as const) {
      const { bytes } = order(id, charset, Buffer.from('BARRIONUEVO^SEBASTIÁN', 'utf8'));
      const res = await post('/orders/hl7v2', bytes, 'x-application/hl7-v2+er7');
      expect(res.status, id).toBe(201);
      expect(await patientName((await readJson(res)).caseIds[0])).toMatchObject({
        family: 'BARRIONUEVO',
        given: ['SEBASTIÁN'],
      });
    }
  });

  it('refuses a byte over 0x7F under MSH-18 ASCII, and UTF-8 characters under a single-byte declaration', async () => {
    const ascii = order('CS-5', 'ASCII', Buffer.from('M\xdcLLER^JOHN', 'latin1'));
    const res = await post('/orders/hl7v2', ascii.bytes, 'x-application/hl7-v2+er7');
    expect(res.status).toBe(422);
    const outcome = await readJson(res);
    expect(outcome.issue[0].expression).toEqual(['PID-5']);
    expect(outcome.issue[0].details.text).toContain(`byte offset ${ascii.nameAt + 1}`);

    const mislabelled = order('CS-6', '8859/1', Buffer.from('MÜLLER^JOHN', 'utf8'));
    const res2 = await post('/orders/hl7v2', mislabelled.bytes, 'x-application/hl7-v2+er7');
    expect(res2.status).toBe(422);
    const outcome2 = await readJson(res2);
    expect(outcome2.issue[0].details.coding[0].code).toBe('PAGW_MAP_UNDECODABLE');
    expect(outcome2.issue[0].expression).toEqual(['PID-5']);
    expect(outcome2.issue[0].details.text).toContain('UTF-8');
  });

  it('refuses a \\X..\\ escape in a mapped field that decodes to bytes that are not UTF-8', async () => {
    const { bytes } = order('CS-7', '', Buffer.from('M\\XDC\\LLER^JOHN', 'latin1'));
    const res = await post('/orders/hl7v2', bytes, 'x-application/hl7-v2+er7');
    expect(res.status).toBe(422);
    const outcome = await readJson(res);
    expect(outcome.issue[0].details.coding[0].code).toBe('PAGW_MAP_UNDECODABLE');
    expect(outcome.issue[0].expression[0]).toMatch(/^PID-5/);
  });

  it('accepts an order whose undecodable bytes lie only in a field no mapping reads (the bytes are kept)', async () => {
    const { bytes } = order('CS-8', '', Buffer.from('DOE^JOHN', 'latin1'), '\rZZZ|1|caf\xe9');
    const res = await post('/orders/hl7v2', bytes, 'x-application/hl7-v2+er7');
    expect(res.status).toBe(201);
    const rows = await openedInboundMessages(db, tenant, `message_key LIKE '%:CS-8'`);
    expect(Buffer.compare(rows[0]!.raw, bytes)).toBe(0);
  });

  it('MLLP and the order topic refuse the same way: ACK AE with ERR-2 PID^1^5; a dead letter from the topic', async () => {
    const { bytes, nameAt } = order('CS-9', '', Buffer.from('DOE^J\xd6HN', 'latin1'));
    const socket = net.connect(mllp.port, '127.0.0.1');
    const decoder = new MllpDecoder(1024 * 1024);
    const acks: HL7Message[] = [];
    socket.on('data', (chunk: Buffer) => {
      for (const event of decoder.push(chunk)) {
        if (event.kind === 'message') acks.push(HL7Message.parse(event.payload.toString('latin1')));
      }
    });
    socket.write(frame(bytes));
    await waitFor(() => acks.length === 1, { what: 'ACK' });
    socket.end();
    const ack = acks[0]!;
    expect(ack.getSegment('MSA')!.field(1).getValue()).toBe('AE');
    const err = ack.getSegment('ERR')!;
    expect([1, 2, 3].map((c) => String(err.field(2).getValue(c)))).toEqual(['PID', '1', '5']);
    expect(err.field(5).getValue(1)).toBe('PAGW_MAP_UNDECODABLE');
    expect(String(err.field(8).getValue())).toContain(`byte offset ${nameAt + 5}`);

    const topic = order('CS-10', '', Buffer.from('DOE^J\xd6HN', 'latin1'));
    await createOrderTopicHandler({ ...deps, format: 'hl7v2' })({
      topic: 'pa.orders.hl7v2',
      partition: 0,
      offset: '3',
      key: null,
      value: topic.bytes,
      headers: { 'pagw-tenant': tenant },
      attempt: 1,
    });
    expect(await deadLettered(topic.bytes)).toBe(true);
  });

  it('refuses FHIR JSON that is not UTF-8, naming the byte offset and the JSON path', async () => {
    const json = readFixture('fhir/synthetic_medicationrequest-contained.json').toString('utf8');
    const at = json.indexOf('"Poe"') + 2;
    const bytes = Buffer.concat([
      Buffer.from(json.slice(0, at), 'utf8'),
      Buffer.from([0xf6]),
      Buffer.from(json.slice(at + 1), 'utf8'),
    ]);
    const res = await post('/orders/fhir', bytes, 'application/fhir+json');
    expect(res.status).toBe(422);
    const outcome = await readJson(res);
    expect(outcome.issue[0].details.coding[0].code).toBe('PAGW_MAP_UNDECODABLE');
    expect(outcome.issue[0].expression[0]).toMatch(/^\$\.contained\[\d+\]\.name\[0\]\.family$/);
    expect(outcome.issue[0].details.text).toContain(`byte offset ${Buffer.byteLength(json.slice(0, at))}`);
    expect(await deadLettered(bytes)).toBe(true);
  });

  it('keeps mapping the corpus files with non-ASCII bytes: the nhapi Á (no MSH-18) and the dcm4che 8859/1 order', async () => {
    // nhapi msg5 is refused in the corpus for its missing IN1-36; with a member id it maps, Á intact.
    const nhapi = readFixture('hl7v2/nhapi_OML_O21_messages_msg5_IN1.hl7').toString('utf8');
    const withMember = nhapi
      .replace(
        'IN1|1|260^^Planes-HCE|10464^^^^OOSS-HCE|OSDE 210',
        `IN1|1|260^^Planes-HCE|10464^^^^OOSS-HCE|OSDE 210${'|'.repeat(32)}MEMBER-77`,
      )
      .replace('||OML^O21||T|2.5', '||OML^O21|NHAPI-5|T|2.5');
    expect(withMember).toContain('MEMBER-77');
    const result = await acceptInboundMessage(deps, {
      tenant,
      raw: Buffer.from(withMember, 'utf8'),
      sender: 'corpus',
      transport: 'cli',
    });
    expect(result.outcome, JSON.stringify(result.problems)).toBe('accepted');
    expect(
      JSON.stringify((await getCase(db.pool, tenant, result.caseIds[0]!))!.request.patient.name),
    ).toContain('Á');
    // dcm4che's Eyecare order declares 8859/1 and holds UTF-8 bytes in OBR-31, which no mapping reads: with
    // an IN1 it maps (and its outcome without one stays "no coverage", the conformance golden).
    const eyecare = readFixture('hl7v2/dcm4che_OMG-O19-GeneralClinicalOrder-Eyecare.hl7');
    const pid = eyecare.indexOf('\rNTE|');
    const withCoverage = Buffer.concat([
      Buffer.from(eyecare.subarray(0, pid).toString('latin1').replace('|1001124|', '|1001125|'), 'latin1'),
      Buffer.from(
        '\rIN1|1|GOLD|87726|Example Health Plan||||GRP-1|||||||||SEL|||||||||||||||||||EYE-MEMBER-1',
      ),
      eyecare.subarray(pid),
    ]);
    const eye = await acceptInboundMessage(deps, {
      tenant,
      raw: withCoverage,
      sender: 'corpus',
      transport: 'cli',
    });
    expect(eye.problems.map((p) => p.code)).not.toContain('PAGW_MAP_UNDECODABLE');
    const golden = await acceptInboundMessage(deps, {
      tenant,
      raw: eyecare,
      sender: 'corpus2',
      transport: 'cli',
    });
    expect(golden.problems.map((p) => `${p.code} ${p.location}`)).toEqual(['PAGW_MAP_MISSING_FIELD IN1']);
  });
});
