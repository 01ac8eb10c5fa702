/**
 * HL7 v2 reading and mapping: the warts real senders produce (line ends, BOM, MLLP bytes, a segment break
 * inside a field, a doubled escape character, custom delimiters, charsets) and the datatype rules (code
 * systems, local systems, time zones, NPI check digit).
 */
import { describe, expect, it } from 'vitest';
import { CodeSystem, localCodeSystem } from '../../src/canonical/index.ts';
import { readHl7 } from '../../src/mapping/hl7v2/message.ts';
import { isValidNpi } from '../../src/mapping/hl7v2/readers.ts';
import { type MapOutcome, mapOrder } from '../../src/mapping/index.ts';
import { readFixture } from '../conformance/mapping-cases.ts';

const base = { tenant: 'clinic-a', sender: 'unit' } as const;

function mapped(outcome: MapOutcome) {
  if (!outcome.ok) throw new Error(`expected a mapping, got ${outcome.error.message}`);
  return outcome;
}

function refused(outcome: MapOutcome) {
  if (outcome.ok) throw new Error('expected a refusal');
  return outcome;
}

/** A segment with the given fields at their 1-based positions. */
function seg(id: string, fields: Record<number, string>): string {
  const last = Math.max(...Object.keys(fields).map(Number));
  return [id, ...Array.from({ length: last }, (_, i) => fields[i + 1] ?? '')].join('|');
}

/** A message built from segments, so each test states exactly what it sends. */
function message(segments: string[], end = '\r'): string {
  return segments.join(end) + end;
}

const msh = (fields = 'ORM^O01|T-1|P|2.5.1') => `MSH|^~\\&|APP|FAC|PAGW|PAGW|20240301120000-0500||${fields}`;
const pid = 'PID|1||MRN-1^^^FAC^MR||DOE^JANE||19800102|F';
const in1 = seg('IN1', { 1: '1', 2: 'PLAN', 3: 'PAYER-1', 4: 'Payer Name', 17: 'SEL', 36: 'MEMBER-1' });
const orc = 'ORC|NW|PLACER-1';
const obr = (code = '73610^X-ray ankle^C4') => `OBR|1|PLACER-1||${code}`;

describe('HL7 v2 framing warts', () => {
  const orm = readFixture('hl7v2/fhirconverter_ORM-O01-02.hl7').toString('utf8');

  it('reads CR, LF and CRLF segment ends alike, with or without BOM and MLLP bytes, to the same requests and key', () => {
    const lf = orm.replace(/^\uFEFF/, '');
    const variants = [
      lf,
      lf.replace(/\n/g, '\r'),
      lf.replace(/\n/g, '\r\n'),
      `\uFEFF${lf}`,
      `\x0b${lf.replace(/\n/g, '\r')}\x1c\r`,
    ];
    const outcomes = variants.map((raw) => mapped(mapOrder({ ...base, raw })));
    for (const outcome of outcomes) {
      expect(outcome.requests).toEqual(outcomes[0]!.requests);
      expect(outcome.message.key).toBe(outcomes[0]!.message.key);
    }
  });

  it('rejoins a segment broken inside a field, and says where', () => {
    const doc = readHl7(readFixture('hl7v2/node-hl7-complete_orm-example.hl7'));
    const obrSegment = doc.segments.find((s) => s.id === 'OBR')!;
    expect(doc.field(obrSegment, 17)[0]![0]![0]).toBe('(608)258-8866');
    expect(doc.field(obrSegment, 25)[0]![0]![0]).toBe('Final');
    expect(doc.segments.map((s) => s.id)).toEqual(['MSH', 'PID', 'PD1', 'PV1', 'ORC', 'OBR', 'DG1']);
    expect(doc.warnings.map((w) => `${w.location}: ${w.message}`)).toEqual([
      'OBR-17: line 7 does not start with a segment id: read as the rest of the OBR segment (a segment break inside a field)',
    ]);
  });

  it("reads MSH-2 written '^~\\\\&' as '^~\\&' with a warning, so escapes still work", () => {
    const doc = readHl7(readFixture('hl7v2/lfh-hl7v2-fhir-converter_sample_win_ADT-A01_CRLF.hl7'));
    expect(doc.separators).toEqual({
      field: '|',
      component: '^',
      repetition: '~',
      escape: '\\',
      subcomponent: '&',
    });
    expect(doc.messageType).toBe('ADT^A01');
    expect(doc.warnings[0]!.location).toBe('MSH-2');
  });

  it('takes every delimiter from MSH-1/MSH-2 and unescapes \\F\\ \\S\\ \\T\\ \\R\\ \\E\\ \\Xhh\\ in them', () => {
    const doc = readHl7(readFixture('hl7v2/synthetic_ORM-O01_custom-delimiters.hl7'));
    expect(doc.separators).toEqual({
      field: '#',
      component: '$',
      repetition: '*',
      escape: '@',
      subcomponent: '!',
    });
    const nte = doc.segments.find((s) => s.id === 'NTE')!;
    expect(doc.field(nte, 3)).toEqual([[['Pipe#caret$amp!tilde*backslash@hexA']]]);
    const standard = readHl7(
      message([msh(), 'NTE|1||a\\F\\b\\S\\c\\T\\d\\R\\e\\E\\f\\X414243\\g', 'PID|1||x~y^^^A&1.2.3&ISO^MR']),
    );
    const [noteSegment, pidSegment] = [standard.segments[1]!, standard.segments[2]!];
    expect(standard.field(noteSegment, 3)).toEqual([[['a|b^c&d~e\\fABCg']]]);
    expect(standard.field(pidSegment, 3)).toEqual([
      [['x']],
      [['y'], [''], [''], ['A', '1.2.3', 'ISO'], ['MR']],
    ]);
  });

  it.each(['\\M\\', '\\M41\\', '\\M004100\\'])(
    'refuses a multi-byte escape %s without whole two-byte characters at its field (fuzz finding: RangeError)',
    (sequence) => {
      const outcome = refused(
        mapOrder({
          ...base,
          raw: message([msh(), pid, in1, orc, obr(`73610^X-ray${sequence}ankle^C4`)]),
          format: 'hl7v2',
        }),
      );
      expect(outcome.error.problems).toContainEqual(
        expect.objectContaining({ code: 'PAGW_MAP_UNDECODABLE', location: 'OBR-4' }),
      );
    },
  );

  it.each(['toString', 'constructor', '__proto__', 'hasOwnProperty'])(
    "reads a coding system named %s as the sender's own (fuzz finding: it found an Object.prototype function)",
    (name) => {
      const outcome = mapped(
        mapOrder({
          ...base,
          raw: message([msh(), pid, in1, orc, obr(`73610^X-ray ankle^${name}`)]),
          format: 'hl7v2',
        }),
      );
      expect(outcome.requests[0]!.serviceLines[0]!.code).toMatchObject({
        code: '73610',
        system: localCodeSystem('APP@FAC', name),
      });
    },
  );

  it('reads a well-formed multi-byte escape (\\M0041\\ is "A")', () => {
    const doc = readHl7(message([msh(), 'NTE|1||x\\M0041\\y']));
    expect(doc.field(doc.segments[1]!, 3)).toEqual([[['xAy']]]);
  });

  it('decodes bytes by MSH-18 (8859/1) and as UTF-8 when MSH-18 is empty', () => {
    const latin1 = Buffer.concat([
      Buffer.from(`${msh('ORM^O01|C-1|P|2.5.1||||||8859/1')}\rPID|1||M^^^A^MR||M`),
      Buffer.from([0xfc]), // ü in ISO-8859-1
      Buffer.from('LLER^J\r'),
    ]);
    const doc = readHl7(latin1);
    expect(doc.field(doc.segments[1]!, 5)[0]![0]![0]).toBe('MüLLER');
    const utf8 = readHl7(Buffer.from(`${msh()}\rPID|1||M^^^A^MR||BARRIONUEVO^RODOLFO SEBASTIÁN\r`, 'utf8'));
    expect(utf8.field(utf8.segments[1]!, 5)[0]![1]![0]).toBe('RODOLFO SEBASTIÁN');
  });

  it('refuses what is not one HL7 v2 message, with the reason', () => {
    expect(refused(mapOrder({ ...base, raw: 'PID|1||x', format: 'hl7v2' })).error.problems[0]!.message).toBe(
      'not an HL7 v2 message: it does not start with an MSH segment',
    );
    expect(refused(mapOrder({ ...base, raw: 'MSH', format: 'hl7v2' })).error.problems[0]!.location).toBe(
      'MSH-1',
    );
    expect(
      refused(mapOrder({ ...base, raw: 'MSH|^^^^|x', format: 'hl7v2' })).error.problems[0]!.location,
    ).toBe('MSH-2');
  });
});

describe('HL7 v2 order mapping', () => {
  it('routes on MSH-9, not on what the file is called', () => {
    // fhirconverter_OML-O21-02.hl7 is an ORM^O01 message; with an IN1 added it maps through orm-o01.
    const text = readFixture('hl7v2/fhirconverter_OML-O21-02.hl7')
      .toString('utf8')
      .replace(/^\uFEFF/, '');
    const withCoverage = text.replace(/\nORC\|/, `\n${in1}\nORC|`);
    const outcome = mapped(mapOrder({ ...base, raw: withCoverage }));
    expect(outcome.requests).toHaveLength(2);
    expect(outcome.requests[0]!.source.messageType).toBe('ORM^O01^ORM_O01');
  });

  it('makes one request per order group: one ORC with two OBRs is two, each with its own code', () => {
    const outcome = mapped(
      mapOrder({
        ...base,
        raw: message([msh(), pid, in1, orc, obr('1^One^C4'), 'DG1|1||A01.0^Typhoid^I10', obr('2^Two^C4')]),
      }),
    );
    expect(outcome.requests.map((r) => r.serviceLines[0]!.code.code)).toEqual(['1', '2']);
    expect(outcome.requests.map((r) => r.diagnoses.length)).toEqual([1, 0]);
    expect(outcome.requests.map((r) => r.idempotencyKey)).toEqual([
      'hl7v2:APP@FAC:T-1#0',
      'hl7v2:APP@FAC:T-1#1',
    ]);
  });

  it('keeps every code in its own system: LN, C4, I10, I9, local L and 99zzz, unknown and unnamed systems', () => {
    const codes = [
      '1^a^LN',
      '2^b^C4',
      '3^c^HCPCS',
      '4^d^I10',
      '5^e^I9C',
      '6^f^L',
      '7^g^99EPC',
      '8^h^ERL_MESA',
      '9^i',
    ];
    const outcome = mapped(
      mapOrder({ ...base, raw: message([msh(), pid, in1, ...codes.flatMap((c) => [orc, obr(c)])]) }),
    );
    expect(outcome.requests.map((r) => r.serviceLines[0]!.code.system)).toEqual([
      CodeSystem.LOINC,
      CodeSystem.CPT,
      CodeSystem.HCPCS,
      CodeSystem.ICD10CM,
      CodeSystem.ICD9CM,
      localCodeSystem('APP@FAC', 'L'),
      localCodeSystem('APP@FAC', '99EPC'),
      localCodeSystem('APP@FAC', 'ERL_MESA'),
      localCodeSystem('APP@FAC', ''),
    ]);
  });

  it('names each missing piece where it belongs', () => {
    const noCoverage = refused(mapOrder({ ...base, raw: message([msh(), pid, orc, obr()]) }));
    expect(noCoverage.error.problems.map((p) => `${p.location}: ${p.message}`)).toEqual([
      'IN1: no coverage (no IN1 segment)',
    ]);
    const noMember = refused(
      mapOrder({ ...base, raw: message([msh(), pid, 'IN1|1|PLAN|PAYER-1', orc, obr()]) }),
    );
    expect(noMember.error.problems.map((p) => `${p.location}: ${p.message}`)).toEqual([
      'IN1-36: member id missing',
    ]);
    const noCode = refused(mapOrder({ ...base, raw: message([msh(), pid, in1, orc, 'OBR|1|P']) }));
    expect(noCode.error.problems.map((p) => `${p.location}: ${p.message}`)).toEqual([
      'OBR-4: no OBR service code (OBR-4 is empty)',
    ]);
    const noObr = refused(mapOrder({ ...base, raw: message([msh(), pid, in1, orc]) }));
    expect(noObr.error.problems.map((p) => `${p.location}: ${p.message}`)).toEqual([
      'ORC: no OBR service code: the ORC has no OBR after it',
    ]);
    const statusChange = refused(mapOrder({ ...base, raw: message([msh(), pid, in1, 'ORC|SC|P', obr()]) }));
    expect(statusChange.error.code).toBe('PAGW_MAP_NOT_NEW_ORDER');
  });

  it('points a schema problem back at the field it came from', () => {
    const longCode = `${'9'.repeat(70)}^Too long^C4`;
    const outcome = refused(mapOrder({ ...base, raw: message([msh(), pid, in1, orc, obr(longCode)]) }));
    expect(outcome.error.code).toBe('PAGW_VALIDATION_FAILED');
    expect(outcome.error.problems.map((p) => `${p.location}: ${p.message}`)).toEqual([
      'OBR-4 ($.serviceLines[0].code.code): must NOT have more than 64 characters',
    ]);
  });

  it('reads times with their offset, gives offset-less times the profile time zone (with DST), else keeps the date', () => {
    const orderAt = (ts: string) => seg('ORC', { 1: 'NW', 2: 'P', 9: ts });
    const plain = mapped(
      mapOrder({ ...base, raw: message([msh(), pid, in1, orderAt('20240702101500'), obr()]) }),
    );
    expect(plain.requests[0]!.requestedAt).toBe('2024-07-02');
    const epic = `MSH|^~\\&|EPIC|MADISON|PAGW|PAGW|20240702101500||ORM^O01|E-1|P|2.3`;
    const summer = mapped(
      mapOrder({ ...base, raw: message([epic, pid, in1, orderAt('20240702101500'), obr()]) }),
    );
    expect(summer.message.profile).toBe('example-epic-mrn-pid2');
    expect(summer.requests[0]!.requestedAt).toBe('2024-07-02T10:15:00-05:00');
    const winter = mapped(
      mapOrder({ ...base, raw: message([epic, pid, in1, orderAt('202401021015'), obr()]) }),
    );
    expect(winter.requests[0]!.requestedAt).toBe('2024-01-02T10:15-06:00');
    const offset = mapped(
      mapOrder({ ...base, raw: message([msh(), pid, in1, orderAt('20240702101500.25+0530'), obr()]) }),
    );
    expect(offset.requests[0]!.requestedAt).toBe('2024-07-02T10:15:00.25+05:30');
  });

  it('takes the NPI only when it is marked NPI and its check digit holds', () => {
    expect(isValidNpi('1234567893')).toBe(true);
    expect(isValidNpi('1234567890')).toBe(false);
    const npi = (id: string) =>
      mapOrder({
        ...base,
        raw: message([
          msh(),
          pid,
          in1,
          seg('ORC', { 1: 'NW', 2: 'P', 12: `${id}^WELBY^MARCUS^^^^^^NPI` }),
          obr(),
        ]),
      });
    expect(mapped(npi('1234567893')).requests[0]!.requestingProvider).toEqual({
      npi: '1234567893',
      name: { family: 'WELBY', given: ['MARCUS'] },
    });
    const bad = mapped(npi('1234567890'));
    expect(bad.requests[0]!.requestingProvider?.npi).toBeUndefined();
    expect(bad.warnings.map((w) => w.location)).toEqual(['ORC-12']);
  });

  it('maps priorities to urgency through the table: S/A/T expedited, R standard, unknown standard', () => {
    const urgency = (priority: string) =>
      mapped(mapOrder({ ...base, raw: message([msh(), pid, in1, `ORC|NW|P|||||^^^^^${priority}`, obr()]) }))
        .requests[0]!.urgency;
    expect(['S', 'A', 'T', 'R', 'P', 'whatever'].map(urgency)).toEqual([
      'expedited',
      'expedited',
      'expedited',
      'standard',
      'standard',
      'standard',
    ]);
  });

  it('tolerates Z-segments anywhere', () => {
    const outcome = mapped(
      mapOrder({
        ...base,
        raw: message([msh(), 'ZXX|1|a', pid, in1, 'ZIN|x', orc, 'ZOR|y', obr(), 'ZDS|1.2.3']),
      }),
    );
    expect(outcome.requests).toHaveLength(1);
  });
});
