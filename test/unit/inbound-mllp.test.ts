/**
 * MLLP framing (<VT>…<FS><CR>) as TCP delivers it, and HL7 ACKs as interface engines read them: AA/AE/AR by
 * what happened, one ERR per problem with ERL location, table 0357 code and severity, in the sender's
 * delimiters, never breakable by the text inside.
 */
import fc from 'fast-check';
import { HL7Message } from 'hl7v2';
import { describe, expect, it } from 'vitest';
import type { InboundResult } from '../../src/inbound/accept.ts';
import { ackCodeFor, buildAck } from '../../src/inbound/mllp/ack.ts';
import { frame, MllpDecoder } from '../../src/inbound/mllp/framing.ts';
import type { MappingProblem } from '../../src/mapping/index.ts';

const messages = (events: ReturnType<MllpDecoder['push']>) =>
  events.filter((e) => e.kind === 'message').map((e) => (e as { payload: Buffer }).payload.toString());

describe('MLLP decoder', () => {
  it('yields whole messages however the bytes are split, ignoring junk between frames', () => {
    const stream = Buffer.concat([
      Buffer.from('junk'),
      frame('MSH|1'),
      Buffer.from('\r\n'),
      frame('MSH|2'),
      frame('MSH|3'),
    ]);
    fc.assert(
      fc.property(fc.array(fc.nat({ max: stream.length }), { maxLength: 12 }), (cuts) => {
        const decoder = new MllpDecoder(1024);
        const points = [...new Set([0, ...cuts, stream.length])].sort((a, b) => a - b);
        const got: string[] = [];
        for (let i = 1; i < points.length; i++)
          got.push(...messages(decoder.push(stream.subarray(points[i - 1], points[i]))));
        return JSON.stringify(got) === JSON.stringify(['MSH|1', 'MSH|2', 'MSH|3']) && decoder.pending === 0;
      }),
    );
  });

  it('drops a frame over the limit (and says so), then reads the next one', () => {
    const decoder = new MllpDecoder(10);
    const events = decoder.push(Buffer.concat([frame('x'.repeat(25)), frame('MSH|ok')]));
    expect(events.map((e) => e.kind)).toEqual(['oversize', 'message']);
    expect(messages(events)).toEqual(['MSH|ok']);
  });

  it('treats a frame restarted before its end as junk, and a missing CR after FS as tolerable', () => {
    const decoder = new MllpDecoder(1024);
    const events = decoder.push(Buffer.from('\x0bMSH|half\x0bMSH|whole\x1c\x0bMSH|next\x1c\r'));
    expect(messages(events)).toEqual(['MSH|whole', 'MSH|next']);
    expect(events[0]!.kind).toBe('junk');
  });
});

function result(overrides: Partial<InboundResult>): InboundResult {
  return {
    outcome: 'accepted',
    duplicate: false,
    format: 'hl7v2',
    messageKey: 'k',
    sender: 'APP@FAC',
    caseIds: ['c1'],
    problems: [],
    warnings: [],
    ...overrides,
  };
}

const original = Buffer.from('MSH|^~\\&|EPIC|HOSP|PAGW|GW|20240301||ORM^O01^ORM_O01|CTRL-1|P|2.5.1\rPID|1\r');
const problem = (p: Partial<MappingProblem>): MappingProblem => ({
  code: 'PAGW_MAP_MISSING_FIELD',
  severity: 'error',
  location: 'IN1-36',
  message: 'member id missing',
  hl7: { segment: 'IN1', sequence: 1, field: 36 },
  ...p,
});

describe('HL7 ACK', () => {
  it('AA: swaps sender and receiver, keeps the trigger and version, echoes MSH-10', () => {
    const ack = HL7Message.parse(buildAck(original, result({}), new Date('2024-03-01T12:00:00Z')));
    const msh = ack.header;
    expect([3, 4, 5, 6].map((n) => msh.field(n).getValue())).toEqual(['PAGW', 'GW', 'EPIC', 'HOSP']);
    expect([msh.field(9).getValue(1), msh.field(9).getValue(2), msh.field(9).getValue(3)]).toEqual([
      'ACK',
      'O01',
      'ACK',
    ]);
    expect(msh.field(12).getValue()).toBe('2.5.1');
    expect(ack.getSegment('MSA')!.field(1).getValue()).toBe('AA');
    expect(ack.getSegment('MSA')!.field(2).getValue()).toBe('CTRL-1');
  });

  it('AE for content problems, AR for messages refused outright and for internal failures', () => {
    expect(ackCodeFor(result({ outcome: 'rejected', errorCode: 'PAGW_MAP_MISSING_FIELD' }))).toBe('AE');
    expect(ackCodeFor(result({ outcome: 'rejected', errorCode: 'PAGW_MAP_NOT_NEW_ORDER' }))).toBe('AE');
    expect(ackCodeFor(result({ outcome: 'rejected', errorCode: 'PAGW_INBOUND_ID_REUSED' }))).toBe('AE');
    expect(ackCodeFor(result({ outcome: 'rejected', errorCode: 'PAGW_MAP_UNSUPPORTED_MESSAGE' }))).toBe('AR');
    expect(ackCodeFor(result({ outcome: 'rejected', errorCode: 'PAGW_MAP_UNSUPPORTED_VERSION' }))).toBe('AR');
    expect(ackCodeFor(result({ outcome: 'rejected', errorCode: 'PAGW_MAP_UNREADABLE' }))).toBe('AR');
    expect(ackCodeFor(result({ outcome: 'rejected', errorCode: 'PAGW_INTERNAL' }))).toBe('AR');
  });

  it('one ERR per problem: ERR-2 location, ERR-3 0357 code, ERR-4 severity, ERR-5 our code, ERR-8 the reason', () => {
    const text = buildAck(
      original,
      result({
        outcome: 'rejected',
        errorCode: 'PAGW_MAP_MISSING_FIELD',
        caseIds: [],
        problems: [
          problem({}),
          problem({
            code: 'PAGW_MAP_INVALID_VALUE',
            location: 'PID-7',
            message: 'not a valid date',
            hl7: { segment: 'PID', sequence: 1, field: 7, repetition: 1 },
          }),
        ],
      }),
    );
    const segments = text.split('\r').filter(Boolean);
    expect(segments[1]).toBe('MSA|AE|CTRL-1|IN1-36: member id missing');
    expect(segments.slice(2)).toEqual([
      'ERR||IN1^1^36|101^Required field missing^HL70357|E|PAGW_MAP_MISSING_FIELD^^PAGW|||IN1-36: member id missing',
      'ERR||PID^1^7^1|102^Data type error^HL70357|E|PAGW_MAP_INVALID_VALUE^^PAGW|||PID-7: not a valid date',
    ]);
  });

  it('adds the v2.3/2.4 ERR-1 for old versions, and escapes delimiters inside the reason', () => {
    const old = Buffer.from('MSH|^~\\&|A|B|C|D|2024||ORM^O01|X|P|2.3\r');
    const text = buildAck(
      old,
      result({
        outcome: 'rejected',
        errorCode: 'PAGW_MAP_MISSING_FIELD',
        problems: [problem({ message: 'a|b^c&d~e\\f\rg' })],
      }),
    );
    const err = text.split('\r')[2]!;
    expect(err.split('|')[1]).toBe('IN1^1^36^101&Required field missing&HL70357');
    expect(err.endsWith('IN1-36: a\\F\\b\\S\\c\\T\\d\\R\\e\\E\\f g')).toBe(true);
    expect(HL7Message.parse(text).segments.map((s) => s.segmentType)).toEqual(['MSH', 'MSA', 'ERR']);
  });

  it('answers bytes with no MSH with standard delimiters and AR', () => {
    const text = buildAck(
      Buffer.from('garbage'),
      result({
        outcome: 'rejected',
        errorCode: 'PAGW_MAP_UNREADABLE',
        problems: [problem({ code: 'PAGW_MAP_UNREADABLE', location: 'MSH', hl7: { segment: 'MSH' } })],
      }),
    );
    expect(text.startsWith('MSH|^~\\&|')).toBe(true);
    expect(text.split('\r')[1]).toMatch(/^MSA\|AR\|\|/);
  });
});
