/**
 * The MLLP listener over real TCP with a real database (PGlite, or PostgreSQL with DATABASE_URL): ACKs are
 * sent after the commit, AA for an order (and for its duplicate, with no second case), AE/AR with ERR
 * segments and a dead-letter row for what cannot be mapped; framing survives partial frames, several frames
 * per write, junk between frames and oversize frames.
 */
import net from 'node:net';
import { HL7Message } from 'hl7v2';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { systemClock } from '../../src/clock.ts';
import {
  acceptInboundMessage,
  frame,
  type InboundDeps,
  MllpDecoder,
  type MllpServer,
  startMllpServer,
} from '../../src/inbound/index.ts';
import { createLogger } from '../../src/log/logger.ts';
import type { Database } from '../../src/store/index.ts';
import { readFixture } from '../conformance/mapping-cases.ts';
import { openTestDatabase, testDatabaseKind } from '../helpers/database.ts';
import { countRows, waitFor } from '../helpers/store.ts';
import { testVault } from '../helpers/vault.ts';

const tenant = 'mllp-clinic';
let db: Database;
let server: MllpServer;

beforeAll(async () => {
  db = await openTestDatabase({ poolSize: 6 });
  const deps: InboundDeps = {
    db,
    clock: systemClock,
    logger: createLogger({ level: 'silent' }),
    deadLetterTopic: 'pa.deadletter.v1',
    phi: testVault(db).phi,
  };
  server = await startMllpServer({
    host: '127.0.0.1',
    port: 0,
    tenant,
    accept: (message) => acceptInboundMessage(deps, message),
    logger: createLogger({ level: 'silent' }),
    clock: systemClock,
    maxMessageBytes: 64 * 1024,
  });
});
afterAll(async () => {
  await server?.stop();
  await db?.close();
});

/** A tiny MLLP client: writes bytes as given, collects ACK frames as they come back. */
class Client {
  private readonly socket: net.Socket;
  private readonly decoder = new MllpDecoder(1024 * 1024);
  readonly acks: string[] = [];

  private constructor(socket: net.Socket) {
    this.socket = socket;
    socket.on('data', (chunk: Buffer) => {
      for (const event of this.decoder.push(chunk)) {
        if (event.kind === 'message') this.acks.push(event.payload.toString('utf8'));
      }
    });
  }

  static connect(): Promise<Client> {
    return new Promise((resolve, reject) => {
      const socket = net.connect(server.port, '127.0.0.1', () => resolve(new Client(socket)));
      socket.once('error', reject);
    });
  }

  write(bytes: Buffer): void {
    this.socket.write(bytes);
  }

  async nextAcks(n: number): Promise<HL7Message[]> {
    await waitFor(() => this.acks.length >= n, { what: `${n} ACK(s)`, timeoutMs: 20_000 });
    return this.acks.splice(0, n).map((ack) => HL7Message.parse(ack));
  }

  close(): void {
    this.socket.end();
  }
}

function msa(ack: HL7Message) {
  const segment = ack.getSegment('MSA')!;
  return { code: segment.field(1).getValue(), controlId: segment.field(2).getValue() };
}

function errs(ack: HL7Message) {
  return ack.segments
    .filter((s) => s.segmentType === 'ERR')
    .map((s) => ({
      location: [1, 2, 3]
        .map((c) => s.field(2).getValue(c))
        .filter((v) => v !== undefined)
        .join('^'),
      condition: String(s.field(3).getValue(1)),
      table: s.field(3).getValue(3),
      severity: s.field(4).getValue(),
      text: s.field(8).getValue(),
    }));
}

async function casesOf(messageKeyLike: string): Promise<number> {
  const { rows } = await db.pool.query<{ n: number }>(
    `SELECT coalesce(sum(cardinality(case_ids)), 0)::int AS n FROM inbound_messages WHERE tenant_id = $1 AND message_key LIKE $2`,
    [tenant, messageKeyLike],
  );
  return rows[0]!.n;
}

describe(`MLLP listener (${testDatabaseKind()})`, () => {
  it('ACKs an order AA after its case is committed; the duplicate gets AA and no second case', async () => {
    const client = await Client.connect();
    client.write(frame(readFixture('hl7v2/fhirconverter_ORM-O01-02.hl7')));
    const [ack] = await client.nextAcks(1);
    expect(msa(ack!)).toEqual({ code: 'AA', controlId: 'MSG00019' });
    expect(ack!.header.field(9).getValue(1)).toBe('ACK');
    expect(ack!.header.field(9).getValue(2)).toBe('O01');
    // The ACK came after the commit: the case is there the moment the ACK is.
    expect(await countRows(db.pool, 'cases', 'tenant_id = $1', [tenant])).toBe(1);

    client.write(frame(readFixture('hl7v2/fhirconverter_ORM-O01-02.hl7')));
    const [duplicate] = await client.nextAcks(1);
    expect(msa(duplicate!)).toEqual({ code: 'AA', controlId: 'MSG00019' });
    expect(await countRows(db.pool, 'cases', 'tenant_id = $1', [tenant])).toBe(1);
    expect(await casesOf('%MSG00019')).toBe(1);
    client.close();
  });

  it('answers AE with one ERR per problem (location, table 0357 code, severity) and dead-letters the message', async () => {
    const client = await Client.connect();
    const raw = readFixture('hl7v2/fhirconverter_LAB-ORM-1.hl7');
    client.write(frame(raw));
    const [ack] = await client.nextAcks(1);
    expect(msa(ack!).code).toBe('AE');
    expect(errs(ack!)).toEqual([
      {
        location: 'IN1^1',
        condition: '101',
        table: 'HL70357',
        severity: 'E',
        text: 'IN1: no coverage (no IN1 segment)',
      },
    ]);
    const { rows } = await db.pool.query(
      `SELECT value, headers FROM outbox WHERE tenant_id = $1 AND topic = 'pa.deadletter.v1' AND headers->>'pagw-source-message-id' = $2`,
      [tenant, String(msa(ack!).controlId)],
    );
    expect(rows).toHaveLength(1);
    expect(Buffer.compare(rows[0].value, raw)).toBe(0);
    expect(rows[0].headers['pagw-source-transport']).toBe('mllp');
    client.close();
  });

  it('answers AR (ERR-3 200) to a message type it does not map, and AR (207) to bytes that are not HL7', async () => {
    const client = await Client.connect();
    client.write(frame(readFixture('hl7v2/lfh-hl7v2-fhir-converter_sample_win_ADT-A01_CRLF.hl7')));
    client.write(frame(Buffer.from('hello, this is not HL7')));
    const [adt, junk] = await client.nextAcks(2);
    expect(msa(adt!).code).toBe('AR');
    expect(errs(adt!).map((e) => [e.location, e.condition, e.severity])).toEqual([
      ['MSH^1^9', '200', 'E'],
      ['MSH^1^2', '102', 'W'],
    ]);
    expect(msa(junk!).code).toBe('AR');
    expect(errs(junk!)[0]!.condition).toBe('100');
    client.close();
  });

  it('reads several frames in one write, frames split byte by byte, and ignores junk between frames', async () => {
    const client = await Client.connect();
    const a = frame(readFixture('hl7v2/synthetic_ORM-O01_rxo-ndc.hl7'));
    const b = frame(readFixture('hl7v2/synthetic_ORM-O01_bom-crlf-escapes.hl7'));
    client.write(Buffer.concat([Buffer.from('garbage\r\n'), a, Buffer.from('\r\n\r\n'), b]));
    const c = frame(readFixture('hl7v2/synthetic_ORM-O01_custom-delimiters.hl7'));
    for (const byte of c) client.write(Buffer.from([byte]));
    const acks = await client.nextAcks(3);
    expect(acks.map((ack) => msa(ack))).toEqual([
      { code: 'AA', controlId: 'RX-1' },
      { code: 'AA', controlId: 'ESC-CRLF-7' },
      { code: 'AA', controlId: 'CTRL-DELIM-1' },
    ]);
    client.close();
  });

  it('answers the ACK to a message with other delimiters in those delimiters', async () => {
    const client = await Client.connect();
    client.write(frame(readFixture('hl7v2/synthetic_ORM-O01_custom-delimiters.hl7')));
    await waitFor(() => client.acks.length === 1, { what: 'ACK' });
    const ack = client.acks[0]!;
    expect(ack.startsWith('MSH#$*@!#')).toBe(true);
    expect(ack.split('\r')[1]).toMatch(/^MSA#AA#CTRL-DELIM-1#/);
    client.close();
  });

  it('refuses (AE, ERR-3 205) a different message that reuses an MSH-10, every time it is sent, without a second dead letter', async () => {
    const client = await Client.connect();
    client.write(frame(readFixture('hl7v2/fhirconverter_ORM-O01-02.hl7')));
    // fhirconverter_OML-O21-01 comes from the same sender with the same MSH-10 (MSG00019) but is another order.
    client.write(frame(readFixture('hl7v2/fhirconverter_OML-O21-01.hl7')));
    client.write(frame(readFixture('hl7v2/fhirconverter_OML-O21-01.hl7')));
    const [first, reused, reusedAgain] = await client.nextAcks(3);
    expect(msa(first!).code).toBe('AA');
    for (const ack of [reused!, reusedAgain!]) {
      expect(msa(ack).code).toBe('AE');
      expect(errs(ack).map((e) => [e.location, e.condition])).toEqual([['MSH^1^10', '205']]);
    }
    expect(
      await countRows(
        db.pool,
        'outbox',
        `tenant_id = $1 AND headers->>'pagw-dlq-error-code' = 'PAGW_INBOUND_ID_REUSED'`,
        [tenant],
      ),
    ).toBe(1);
    client.close();
  });

  it('answers AE PAGW_INBOUND_TOO_LARGE (ERR-3 104) to a frame over the size limit, naming its MSH-10, and keeps serving the connection', async () => {
    const client = await Client.connect();
    const huge = Buffer.concat([
      Buffer.from('MSH|^~\\&|BIG|FAC|PAGW|PAGW|20260101000000||ORM^O01|HUGE-1|P|2.5.1\rNTE|1||'),
      Buffer.alloc(70 * 1024, 'A'),
    ]);
    client.write(frame(huge));
    client.write(frame(readFixture('hl7v2/synthetic_ORM-O01_epic-profile.hl7')));
    const [oversize, next] = await client.nextAcks(2);
    expect(msa(oversize!)).toEqual({ code: 'AE', controlId: 'HUGE-1' });
    const [err] = oversize!.segments.filter((s) => s.segmentType === 'ERR');
    expect(String(err!.field(3).getValue(1))).toBe('104');
    expect(err!.field(5).getValue(1)).toBe('PAGW_INBOUND_TOO_LARGE');
    expect(errs(oversize!)[0]!.text).toContain('limit of 65536 bytes');
    expect(msa(next!).code).toBe('AA');
    client.close();
  });
});
