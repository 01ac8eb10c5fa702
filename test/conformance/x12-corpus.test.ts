/**
 * Every X12 file of the public corpus (test/fixtures/x12/corpus, copied from ../shared/corpus/x12) parses to
 * the result its SOURCES.md promises, and every wart it keeps is reported as a positioned diagnostic.
 * Broken inputs fail with their specific error code.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { type ServicesReview, toAuthorizationDecision } from '../../connectors/x12/005010X217/read-278.ts';
import type { FunctionalAcknowledgment } from '../../connectors/x12/005010X231A1/read-999.ts';
import type { EligibilityInquiry } from '../../connectors/x12/005010X279A1/read-270.ts';
import type { EligibilityResponse } from '../../connectors/x12/005010X279A1/read-271.ts';
import { X12ParseError } from '../../connectors/x12/errors.ts';
import { type ParsedX12, parseX12 } from '../../connectors/x12/parse.ts';
import type { InterchangeAcknowledgments } from '../../connectors/x12/read-ta1.ts';
import { fixturePath } from '../helpers/fixtures.ts';

const corpusDir = fixturePath('x12', 'corpus');

function parse(dir: string, file: string): ParsedX12 {
  return parseX12(readFileSync(fixturePath('x12', dir, file)));
}

/** Every diagnostic code of a parse, envelope and transaction level. */
function codes(parsed: ParsedX12): string[] {
  return [...parsed.diagnostics, ...parsed.results.flatMap((r) => r.diagnostics)].map((d) => d.code);
}

function only<T>(parsed: ParsedX12, kind: string): T {
  expect(parsed.results.map((r) => r.kind)).toEqual([kind]);
  return parsed.results[0] as T;
}

const CPT = 'http://www.ama-assn.org/go/cpt';
const ICD9 = 'http://hl7.org/fhir/sid/icd-9-cm';

interface Expectation {
  expectation: string;
  check: (parsed: ParsedX12) => void;
}

const corpus: Record<string, Expectation> = {
  '270-lfh-subscriber.x12': {
    expectation: 'subscriber inquiry EQ*30 for member 11122333301, payer PI 842610001, date 2006-05-01',
    check: (p) => {
      const r = only<EligibilityInquiry>(p, '270');
      expect(r.subscriber).toMatchObject({ idQualifier: 'MI', id: '11122333301', name: { family: 'SMITH' } });
      expect(r.payer).toMatchObject({ idQualifier: 'PI', id: '842610001' });
      expect(r.serviceTypes).toEqual(['30']);
      expect(r.serviceDate).toEqual({ start: '2006-05-01', end: '2006-05-01' });
      expect(r.dependent).toBeUndefined();
    },
  },
  '270-lfh-dependent.x12': {
    expectation:
      'dependent inquiry: subscriber NM1 without a name (MI 11122333301), dependent SMITH MARY with EQ*30',
    check: (p) => {
      const r = only<EligibilityInquiry>(p, '270');
      expect(r.subscriber).toEqual({ entityCode: 'IL', idQualifier: 'MI', id: '11122333301' });
      expect(r.dependent).toMatchObject({ entityCode: '03', name: { family: 'SMITH', given: ['MARY'] } });
      expect(r.serviceTypes).toEqual(['30']);
    },
  },
  '271-lfh-subscriber-active.x12': {
    expectation:
      'active coverage (EB01=1, GOLD 123 PLAN), member 123456789, co-pays 10/30, EB03 repetitions split, no AAA',
    check: (p) => {
      const r = only<EligibilityResponse>(p, '271');
      expect(r.status).toBe('active');
      expect(r.subscriber?.id).toBe('123456789');
      expect(r.planName).toBe('GOLD 123 PLAN');
      expect(r.planPeriod).toEqual({ start: '2006-01-01' });
      expect(r.rejections).toEqual([]);
      const copays = r.benefits.filter((b) => b.code === 'B');
      expect(copays.map((b) => [b.amount, b.inNetwork])).toEqual([
        [10, 'Y'],
        [30, 'N'],
      ]);
      expect(copays[0]!.serviceTypes).toEqual(['1', '33', '35', '47', '86', '88', '98', 'AL', 'MH', 'UC']);
    },
  },
  '271-lfh-AAA-50.x12': {
    expectation:
      'rejected: AAA*Y**50*N at 2100B (provider ineligible, resubmission not allowed); SE02≠ST02 reported',
    check: (p) => {
      const r = only<EligibilityResponse>(p, '271');
      expect(r.status).toBe('rejected');
      expect(r.benefits).toEqual([]);
      expect(r.subscriber).toBeUndefined();
      expect(r.rejections).toEqual([
        expect.objectContaining({ loop: '2100B', reason: '50', followUp: 'N', validRequest: true }),
      ]);
      expect(codes(p)).toContain('SE_CONTROL');
    },
  },
  '271-oopfactory-AAA-42.x12': {
    expectation:
      'AAA*Y**42*R at 2100C, only EB*P: coverage unknown, status rejected (unable to respond now, resubmission allowed)',
    check: (p) => {
      const r = only<EligibilityResponse>(p, '271');
      expect(r.coverage).toBe('unknown');
      expect(r.status).toBe('rejected');
      expect(r.rejections).toEqual([expect.objectContaining({ loop: '2100C', reason: '42', followUp: 'R' })]);
      expect(r.benefits.map((b) => b.code)).toEqual(['P']);
      expect(codes(p)).toEqual(expect.arrayContaining(['BOM', 'WHITESPACE']));
    },
  },
  '271-oopfactory-ig-3_1_2-isa11-eq-isa16.x12': {
    expectation:
      'active (EB01=1, GOLD 123 PLAN) although ISA11 = ISA16 = ^: EB03 read as ten service types; GS01 XX and ST03 005010X279 reported',
    check: (p) => {
      const r = only<EligibilityResponse>(p, '271');
      expect(r.status).toBe('active');
      expect(r.subscriber?.id).toBe('123456789');
      expect(r.benefits.find((b) => b.code === 'B')?.serviceTypes).toHaveLength(10);
      expect(codes(p)).toEqual(expect.arrayContaining(['ISA11_EQ_ISA16', 'GS01_MISMATCH', 'VERSION', 'BOM']));
    },
  },
  '271-4010-oopfactory-inactive-EB6.x12': {
    expectation:
      'inactive coverage (EB*6**30) for the dependent; ISA 105 characters (ISA08 14 wide) read element by element; 4010 noted',
    check: (p) => {
      const r = only<EligibilityResponse>(p, '271');
      expect(r.coverage).toBe('inactive');
      expect(r.status).toBe('inactive');
      expect(r.subscriber?.id).toBe('XXX999X99999');
      expect(r.dependent?.entityCode).toBe('03');
      expect(r.benefits[0]).toMatchObject({ code: '6', loop: '2110D', serviceTypes: ['30'] });
      const isaWidth = p.diagnostics.find((d) => d.code === 'ISA_WIDTH');
      expect(isaWidth?.location).toMatch(/^ISA08 \(segment 1, line 1/);
      expect(codes(p)).toEqual(expect.arrayContaining(['ISA_LENGTH', 'VERSION_4010', 'BHT01']));
    },
  },
  '271-node-x12-medicare-no-GE-IEA.edi': {
    expectation:
      'Medicare active for Part A (MA) and Part B (MB), member 9UY4R33KV83; missing GE and IEA and GS01 HS reported',
    check: (p) => {
      const r = only<EligibilityResponse>(p, '271');
      expect(r.status).toBe('active');
      expect(r.subscriber?.id).toBe('9UY4R33KV83');
      const active = r.benefits.filter((b) => b.code === '1').map((b) => b.insuranceType);
      expect(active).toEqual(expect.arrayContaining(['MA', 'MB']));
      expect(r.benefits.find((b) => b.code === 'I')?.serviceTypes).toEqual(['41', '54']);
      expect(codes(p)).toEqual(expect.arrayContaining(['GE_MISSING', 'IEA_MISSING', 'GS01_MISMATCH']));
    },
  },
  '271-imsweb-mixed-versions.x12': {
    expectation:
      'active (EB*1**30**GOLD 123 PLAN with trailing empty elements), member 123456789; SE01 22≠18 and IEA02≠ISA13 reported',
    check: (p) => {
      const r = only<EligibilityResponse>(p, '271');
      expect(r.status).toBe('active');
      expect(r.subscriber?.id).toBe('123456789');
      expect(r.planName).toBe('GOLD 123 PLAN');
      const se = p.diagnostics.find((d) => d.code === 'SE_COUNT');
      expect(se?.message).toMatch(/says 22 segments; the set has 18/);
      expect(codes(p)).toContain('IEA_CONTROL');
    },
  },
  '278-req-oopfactory-ig-3_1_1.x12': {
    expectation:
      'specialty-care referral UM*SC*I*3*11:B, ICD-9 410.90, HSD VS 1, member 12345678901, payer 789312, trace 111099; ISA 00401 / GS08 005010X279 reported',
    check: (p) => {
      const r = only<ServicesReview>(p, '278-request');
      expect(r.subscriber?.id).toBe('12345678901');
      expect(r.umo).toMatchObject({ id: '789312', organizationName: 'MARYLAND CAPITAL INSURANCE COMPANY' });
      expect(r.traceNumbers).toEqual(['111099']);
      expect(r.event).toMatchObject({
        requestCategory: 'SC',
        certificationType: 'I',
        serviceType: '3',
        facility: { code: '11', qualifier: 'B' },
        quantity: { qualifier: 'VS', value: 1 },
        diagnoses: [{ code: '410.90', system: ICD9 }],
      });
      expect(r.services).toEqual([]);
      expect(codes(p)).toEqual(
        expect.arrayContaining(['ISA12_VERSION', 'GS08_MISMATCH', 'BOM', 'WHITESPACE']),
      );
    },
  },
  '278-req-oopfactory-ig-3_2_1.x12': {
    expectation:
      'admission review UM*AR*I*2*21:B, HSD DY 7, service level SV2 with CPT 33510 in SV202, facility MONTGOMERY HOSPITAL',
    check: (p) => {
      const r = only<ServicesReview>(p, '278-request');
      expect(r.event).toMatchObject({ requestCategory: 'AR', quantity: { qualifier: 'DY', value: 7 } });
      expect(r.event?.providers[0]).toMatchObject({
        entityCode: 'FA',
        organizationName: 'MONTGOMERY HOSPITAL',
      });
      expect(r.services).toHaveLength(1);
      expect(r.services[0]!.procedure).toMatchObject({
        segment: 'SV2',
        qualifier: 'HC',
        code: '33510',
        system: CPT,
      });
      expect(r.requester?.id).toBe('98765432');
    },
  },
  '278-req-oopfactory-ig-3_3_1.x12': {
    expectation:
      'psychiatric admission UM*AR*I*A4*21:B**03, ICD-9 296.03, HSD DY 3, requester a facility (NM1*FA), member 12345678901',
    check: (p) => {
      const r = only<ServicesReview>(p, '278-request');
      expect(r.subscriber?.id).toBe('12345678901');
      expect(r.requester?.entityCode).toBe('FA');
      expect(r.event).toMatchObject({ serviceType: 'A4', levelOfService: '03', quantity: { value: 3 } });
      expect(r.event?.diagnoses.map((d) => d.code)).toEqual(['296.03']);
    },
  },
  '278-resp-A1-oopfactory-ig-3_1_2.x12': {
    expectation:
      'HCR01=A1 certified: approved, certification AUTH0001, period 2005-05-02..2005-06-02, trace 111099',
    check: (p) => {
      const r = only<ServicesReview>(p, '278-response');
      expect(r.traceNumbers).toEqual(['111099']);
      const decision = toAuthorizationDecision(r);
      expect(decision).toMatchObject({
        outcome: 'approved',
        reviewActionCode: 'A1',
        certificationNumber: 'AUTH0001',
        authorizedPeriod: { start: '2005-05-02', end: '2005-06-02' },
        payer: { id: '789312' },
        channel: 'x12',
        lines: [],
      });
    },
  },
  '278-resp-A6-A1-oopfactory-ig-3_2_2.x12': {
    expectation:
      'event A6 (modified, AUTH0002, stay cut to 5 days) and service A1 for CPT 33510: decisions at both levels',
    check: (p) => {
      const r = only<ServicesReview>(p, '278-response');
      expect(r.event?.quantity).toEqual({ qualifier: 'DY', value: 5 });
      const decision = toAuthorizationDecision(r);
      expect(decision).toMatchObject({
        outcome: 'modified',
        reviewActionCode: 'A6',
        certificationNumber: 'AUTH0002',
        lines: [
          {
            sequence: 1,
            outcome: 'approved',
            reviewActionCode: 'A1',
            code: { system: CPT, code: '33510' },
            certificationNumber: 'AUTH0002',
          },
        ],
      });
      expect(decision?.messages).toContain('Event level (2000E HSD): 5 DY');
    },
  },
  '278-resp-A4-oopfactory-ig-3_3_2.x12': {
    expectation:
      'HCR01=A4 pended with reason 0U, no certification, REF*NT P20030216001, PWK asks for documents; NM1 shifted by one reported at NM107 of 2010B',
    check: (p) => {
      const r = only<ServicesReview>(p, '278-response');
      const decision = toAuthorizationDecision(r);
      expect(decision).toMatchObject({
        outcome: 'pended',
        reviewActionCode: 'A4',
        administrativeReference: 'P20030216001',
        reasons: [{ code: '0U' }],
        followUp: 'send_documentation',
      });
      expect(decision?.certificationNumber).toBeUndefined();
      expect(r.requester).toMatchObject({ idQualifier: '46', id: '8189991234' });
      const shifted = r.diagnostics.find((d) => d.code === 'NM1_SHIFTED');
      expect(shifted?.location).toBe('NM107 (segment 9, loop 2010B, line 9, column 40)');
    },
  },
  '999-imsweb-accepted.x12': {
    expectation: 'IK5*A, AK9*A*1*1*1: accepted; IEA02≠ISA13 reported',
    check: (p) => {
      const r = only<FunctionalAcknowledgment>(p, '999');
      expect(r.accepted).toBe(true);
      expect(r.groups[0]).toMatchObject({ status: 'A', included: 1, received: 1, acceptedCount: 1 });
      expect(codes(p)).toContain('IEA_CONTROL');
    },
  },
  '999-imsweb-rejected.x12': {
    expectation:
      'IK5*R*5 and AK9*R: rejected, failing segment IK3 NM at position 17 with error 1 (unrecognized segment)',
    check: (p) => {
      const r = only<FunctionalAcknowledgment>(p, '999');
      expect(r.accepted).toBe(false);
      const set = r.groups[0]!.sets[0]!;
      expect(set).toMatchObject({ status: 'R', accepted: false, errors: [{ code: '5' }] });
      expect(set.segmentErrors).toEqual([
        { segment: 'NM', position: 17, code: '1', text: 'Unrecognized segment ID', elements: [] },
      ]);
    },
  },
  '999-oopfactory-partial-dhs-wisconsin.x12': {
    expectation:
      'AK9*P*3*3*1 partially accepted: set 0001 accepted, 002 rejected (CLM element 2, ref 782, missing), 0003 rejected (REF missing)',
    check: (p) => {
      const r = only<FunctionalAcknowledgment>(p, '999');
      expect(r.accepted).toBe(false);
      expect(r.groups[0]).toMatchObject({ status: 'P', included: 3, received: 3, acceptedCount: 1 });
      const sets = r.groups[0]!.sets;
      expect(sets.map((s) => [s.controlNumber, s.accepted])).toEqual([
        ['0001', true],
        ['002', false],
        ['0003', false],
      ]);
      expect(sets[1]!.segmentErrors[0]).toMatchObject({
        segment: 'CLM',
        position: 22,
        code: '8',
        elements: [{ position: 2, reference: '782', code: '1' }],
      });
      expect(sets[2]!.segmentErrors[0]).toMatchObject({ segment: 'REF', position: 57, code: '3' });
    },
  },
  '999-pyx12-multi-GS.x12': {
    expectation: 'two GS groups, four 999 sets, all IK5*A / AK9*A: accepted',
    check: (p) => {
      expect(p.results.map((r) => r.kind)).toEqual(['999', '999', '999', '999']);
      expect(p.results.every((r) => (r as FunctionalAcknowledgment).accepted)).toBe(true);
      expect(p.document.interchanges[0]!.groups.map((g) => g.controlNumber)).toEqual(['344666205', '102']);
    },
  },
  'ta1-oopfactory-two-TA1.x12': {
    expectation:
      'two TA1s, both TA104=A accepted, for interchanges 0659 and 0660 (4-digit TA101 reported), IEA*0 fine',
    check: (p) => {
      const r = only<InterchangeAcknowledgments>(p, 'TA1');
      expect(r.accepted).toBe(true);
      expect(r.acknowledgments.map((a) => [a.controlNumber, a.status])).toEqual([
        ['0659', 'A'],
        ['0660', 'A'],
      ]);
      expect(codes(p)).toContain('TA101_FORMAT');
      expect(codes(p)).not.toContain('IEA_COUNT');
    },
  },
};

describe('x12 corpus conformance (test/fixtures/x12/corpus)', () => {
  it('has an expectation for every corpus file, and a file for every expectation', () => {
    expect(readdirSync(corpusDir).sort()).toEqual(Object.keys(corpus).sort());
  });

  it.each(Object.entries(corpus).map(([file, e]) => [file, e.expectation, e.check] as const))(
    '%s: %s',
    (file, _expectation, check) => {
      const parsed = parse('corpus', file);
      check(parsed);
      // Every diagnostic is positioned: a location naming a segment, a line and a column.
      for (const d of [...parsed.diagnostics, ...parsed.results.flatMap((r) => r.diagnostics)]) {
        expect(d.location).toMatch(/segment \d+.*line \d+, column \d+/);
      }
    },
  );
});

describe('x12 handmade responses (test/fixtures/x12/handmade)', () => {
  it('278-resp-A3-A1-service-level.x12: event A6 with one line certified (A1) and one not certified (A3, reason AO, message)', () => {
    const parsed = parse('handmade', '278-resp-A3-A1-service-level.x12');
    expect(
      [...parsed.diagnostics, ...parsed.results[0]!.diagnostics].filter((d) => d.level !== 'info'),
    ).toEqual([]);
    const decision = toAuthorizationDecision(only<ServicesReview>(parsed, '278-response'));
    expect(decision).toMatchObject({
      outcome: 'modified',
      certificationNumber: 'CERT7781',
      authorizedPeriod: { start: '2026-01-20', end: '2026-04-20' },
      lines: [
        {
          sequence: 1,
          outcome: 'approved',
          code: { code: '70553' },
          authorizedQuantity: { value: 1, unit: 'UN' },
        },
        { sequence: 2, outcome: 'denied', reviewActionCode: 'A3', reasons: [{ code: 'AO' }] },
      ],
      messages: ['NOT MEDICALLY NECESSARY WITHOUT CONSERVATIVE THERAPY'],
    });
  });
});

describe('x12 broken inputs fail with a specific error (test/fixtures/x12/broken)', () => {
  it.each([
    ['not-x12.hl7', 'PAGW_X12_NOT_X12'],
    ['isa-truncated.x12', 'PAGW_X12_TRUNCATED'],
    ['837-unsupported.x12', 'PAGW_X12_UNSUPPORTED_TRANSACTION'],
    ['278-no-transaction-set.x12', 'PAGW_X12_ENVELOPE'],
    ['278-resp-no-event-no-aaa.x12', 'PAGW_X12_MISSING_SEGMENT'],
  ])('%s → %s', (file, code) => {
    let thrown: unknown;
    try {
      parse('broken', file);
    } catch (error) {
      thrown = error;
    }
    expect(thrown).toBeInstanceOf(X12ParseError);
    expect((thrown as X12ParseError).code).toBe(code);
    expect((thrown as X12ParseError).retriable).toBe(false);
    expect((thrown as X12ParseError).problems.length).toBeGreaterThan(0);
  });
});
