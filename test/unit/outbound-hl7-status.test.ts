import { readFileSync } from 'node:fs';
import path from 'node:path';
import { HL7Message } from 'hl7v2';
import { describe, expect, it } from 'vitest';
import {
  buildHl7StatusMessage,
  defaultHl7StatusMapping,
  escapeHl7,
  type Hl7StatusInput,
} from '../../src/outbound/index.ts';
import { at, decisionScenarios, outboundFixturesDir, payer, tenant } from '../fixtures/outbound/scenarios.ts';

const hl7Scenarios = decisionScenarios.filter((s) => s.caseRecord.request.source.format === 'hl7v2');
const scenario = (name: string) => decisionScenarios.find((s) => s.name === name)!;

function golden(name: string, messageType: string): string {
  // A missing golden fails here: regenerate on purpose with `npx tsx test/fixtures/outbound/regenerate.ts`.
  const file = path.join(
    outboundFixturesDir,
    'hl7v2',
    `${name}.${messageType.replace('^', '_')}.expected.er7`,
  );
  return readFileSync(file, 'utf8').trimEnd().replace(/\n/g, '\r');
}

function build(name: string, extra: Partial<Hl7StatusInput> = {}) {
  return buildHl7StatusMessage({ caseRecord: scenario(name).caseRecord, tenant, payer, at, ...extra });
}

const cases = hl7Scenarios.flatMap((s) => (['ORR^O02', 'ORM^O01'] as const).map((t) => [s.name, t] as const));

describe('buildHl7StatusMessage', () => {
  it.each(cases)('%s as %s matches its golden file', (name, messageType) => {
    expect(build(name, { messageType }).er7).toBe(golden(name, messageType));
  });

  it.each(cases)('%s as %s parses back with hl7v2 as the same message type', (name, messageType) => {
    const built = build(name, { messageType });
    const parsed = HL7Message.parse(built.er7);
    expect(parsed.messageType).toBe(messageType);
    expect(parsed.controlId).toBe(built.controlId);
  });

  it('answers the original order: MSH-3/4 and MSH-5/6 swapped, MSA-2 = the order MSH-10, ORC-2 its placer number', () => {
    const parsed = HL7Message.parse(build('approved').er7);
    const msh = parsed.getSegment('MSH')!;
    expect([msh.field(3).getValue(), msh.field(4).getValue()]).toEqual(['PAGW', 'GOODHEALTH-PA']);
    expect([msh.field(5).getValue(), msh.field(6).getValue()]).toEqual(['EPIC', 'GOODHEALTH']);
    expect(parsed.getSegment('MSA')!.field(1).getValue()).toBe('AA');
    expect(parsed.getSegment('MSA')!.field(2).getValue()).toBe('MSG00001');
    const orc = parsed.getSegment('ORC')!;
    expect(orc.field(2).getValue(1)).toBe('ORD-5521');
    expect(orc.field(3).getValue(1)).toBe('PA-77');
  });

  it.each([
    ['approved', 'AA', 'OK', 'IP', 'A1', 'AUTH0001'],
    ['modified-units', 'AA', 'OK', 'IP', 'A6', 'AUTH0042-1'],
    ['pended-docs-request', 'AA', 'OK', 'HD', 'A4', 'PEND0001'],
    ['denied', 'AA', 'UA', 'HD', 'A3', ''],
    ['error', 'AE', 'UA', 'ER', '', ''],
  ])('%s: MSA-1 %s, ORC-1 %s, ORC-5 %s, ZAU-2 %s, ZAU-4 %s', (name, ack, control, status, action, auth) => {
    const parsed = HL7Message.parse(build(name).er7);
    expect(parsed.getSegment('MSA')!.field(1).getValue()).toBe(ack);
    expect(parsed.getSegment('ORC')!.field(1).getValue()).toBe(control);
    expect(parsed.getSegment('ORC')!.field(5).getValue()).toBe(status);
    const zau = parsed.getSegment('ZAU')!;
    expect(zau.field(2).getValue(1) ?? '').toBe(action);
    expect(zau.field(4).getValue() ?? '').toBe(auth);
  });

  it('ORM^O01 is an unsolicited status change: ORC-1 SC and no MSA', () => {
    const parsed = HL7Message.parse(build('denied', { messageType: 'ORM^O01' }).er7);
    expect(parsed.getSegment('MSA')).toBeUndefined();
    expect(parsed.getSegment('ORC')!.field(1).getValue()).toBe('SC');
    expect(parsed.getSegment('ORC')!.field(5).getValue()).toBe('HD');
  });

  it('uses the message type and version the sender asks for (bySendingApplication)', () => {
    const s = scenario('approved');
    const request = {
      ...s.caseRecord.request,
      source: { ...s.caseRecord.request.source, sender: 'LEGACYLAB^LAB1' },
    };
    const built = buildHl7StatusMessage({ caseRecord: { ...s.caseRecord, request }, tenant, payer, at });
    expect(built.messageType).toBe('ORM^O01');
    expect(HL7Message.parse(built.er7).version).toBe('2.3');
  });

  it('escapes delimiters in values so they read back unchanged', () => {
    const parsed = HL7Message.parse(build('denied').er7);
    expect(parsed.getSegment('ZAU')!.field(10).getValue(2)).toBe(
      'Not medically necessary | see policy ^MRI-04 & notes ~ 2',
    );
    expect(escapeHl7('a|b^c&d~e\\f\ng')).toBe('a\\F\\b\\S\\c\\T\\d\\R\\e\\E\\f g');
  });

  it('carries one ZAU per service line with authorized units and period', () => {
    const parsed = HL7Message.parse(build('modified-units').er7);
    const first = parsed.getSegment('ZAU')!;
    const second = parsed.getSegment('ZAU', first)!;
    expect([first.field(7).getValue(1), first.field(5).getValue(), first.field(6).getValue()]).toEqual([
      '6',
      '20250310',
      '20250510',
    ]);
    expect(second.field(8).getValue(1)).toBe('97112');
  });

  it('carries the MRN but no patient name, birth date or member id', () => {
    const er7 = build('approved').er7;
    expect(er7).toContain('MRN-100234');
    for (const phi of ['Testpatient', 'Alex', '19800412', 'W123456789']) expect(er7).not.toContain(phi);
  });

  it('is deterministic: the same transition gives the same bytes and MSH-10', () => {
    expect(build('approved')).toEqual(build('approved'));
  });

  it('fails with PAGW_OUTBOUND_HL7_INVALID for a mapping that names an unknown table or message type', () => {
    const broken = structuredClone(defaultHl7StatusMapping);
    broken.messages['ORR^O02']!.segments[1]!.fields['1'] = { from: 'decision.outcome', table: 'nope' };
    expect(() => build('approved', { mapping: broken })).toThrow(
      expect.objectContaining({ code: 'PAGW_OUTBOUND_HL7_INVALID' }),
    );
    const noType = { ...defaultHl7StatusMapping, messages: {} };
    expect(() => build('approved', { mapping: noType })).toThrow(
      expect.objectContaining({ code: 'PAGW_OUTBOUND_HL7_INVALID' }),
    );
  });
});
