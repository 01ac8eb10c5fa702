/**
 * 005010X217 278 Health Care Services Review — Request for Review: the loops, segments and elements the
 * gateway generates, with TR3 usage, repeats, lengths and code values. Segments we never send are left out
 * (the validator reports them as unexpected, which is what we want for our own output).
 * @see ASC X12N 005010X217, section 2.4 (278 request)
 */
import {
  an,
  comp,
  dmg,
  dt,
  hl,
  id,
  type LoopSpec,
  loop,
  n0,
  n3,
  n4,
  nm1,
  notUsed,
  prv,
  r,
  type SegmentSpec,
  seg,
  serviceTypeCodes,
  st,
  type TransactionSpec,
  tm,
  trn,
} from '../spec.ts';

const providerRoles = ['AD', 'AS', 'AT', 'CO', 'CV', 'OP', 'OR', 'OT', 'PC', 'PE', 'RF'];
const providerIdQualifiers = ['24', '34', '46', 'XX'];
const certificationTypes = ['1', '2', '3', '4', 'I', 'S'];
const diagnosisQualifiers = ['ABF', 'ABJ', 'ABK', 'BF', 'BJ', 'BK'];
const hiComposite = comp('S', [
  id('R', 1, 3, diagnosisQualifiers),
  an('R', 1, 30),
  id('S', 2, 3, ['D8']),
  an('S', 1, 35),
]);

const ref = (name: string, max: number, qualifiers: readonly string[]): SegmentSpec =>
  seg('REF', name, 'S', max, [id('R', 2, 3, qualifiers), an('R', 1, 50)], qualifiers);
const dtp = (name: string, qualifier: string, formats: readonly string[]): SegmentSpec =>
  seg('DTP', name, 'S', 1, [id('R', 3, 3, [qualifier]), id('R', 2, 3, formats), an('R', 1, 35)], [qualifier]);
const per = seg('PER', 'Contact Information', 'S', 1, [
  id('R', 2, 2, ['IC']),
  an('S', 1, 60),
  id('S', 2, 2, ['EM', 'FX', 'TE']),
  an('S', 1, 256),
  id('S', 2, 2, ['EM', 'EX', 'FX', 'TE']),
  an('S', 1, 256),
  id('S', 2, 2, ['EM', 'EX', 'FX', 'TE']),
  an('S', 1, 256),
]);
const hsd = seg('HSD', 'Health Care Services Delivery', 'S', 1, [
  id('S', 1, 2, ['DY', 'FL', 'HS', 'MN', 'UN', 'VS']),
  r('S', 1, 15),
  id('S', 1, 2, ['DA', 'MO', 'VS', 'WK']),
  r('S', 1, 6),
  id('S', 1, 3, ['7', '34', '35']),
  n0('S', 1, 3),
  id('S', 1, 1),
  id('S', 1, 1),
]);
const pwk = seg('PWK', 'Additional Patient Information', 'S', 10, [
  id('R', 2, 2),
  id('R', 1, 2, ['BM', 'EL', 'EM', 'FT', 'FX']),
  notUsed,
  notUsed,
  id('S', 1, 2, ['AC']),
  an('S', 2, 80),
  an('S', 1, 80),
]);
const msg = seg('MSG', 'Message Text', 'S', 1, [an('R', 1, 264)]);
const um = (name: string, categories: readonly string[], facility: boolean): SegmentSpec =>
  seg('UM', name, 'R', 1, [
    id('R', 1, 2, categories),
    id('R', 1, 1, certificationTypes),
    id('S', 1, 2, serviceTypeCodes),
    facility ? comp('S', [an('R', 1, 2), id('R', 1, 1, ['A', 'B'])]) : notUsed,
    facility
      ? comp('S', [
          id('R', 2, 3, ['AA', 'AP', 'EM', 'OA']),
          id('S', 2, 3, ['AA', 'AP', 'EM', 'OA']),
          notUsed,
          id('S', 2, 2),
        ])
      : notUsed,
    id('S', 1, 2, ['03', 'E', 'U']),
  ]);

const providerLoop = (loopId: string, name: string, entityCodes: readonly string[]): LoopSpec =>
  loop(loopId, name, 'S', 12, [
    nm1(name, 'R', 1, entityCodes, ['1', '2'], providerIdQualifiers, { idUsage: 'S' }),
    ref('Provider Supplemental Identification', 7, ['0B', '1G', '1J', 'EI', 'G5', 'N5', 'N7', 'SY', 'ZH']),
    n3,
    n4,
    per,
    prv(providerRoles),
  ]);

export const serviceLevel: LoopSpec = loop(
  '2000F',
  'Service Level',
  'S',
  99,
  [
    hl('SS', 'Service Level', ['0']),
    trn,
    um('Health Care Services Review Information', ['HS', 'SC'], true),
    ref('Previous Review Authorization Number', 1, ['BB']),
    ref('Previous Review Administrative Reference Number', 1, ['NT']),
    dtp('Service Date', '472', ['D8', 'RD8']),
    seg('SV1', 'Professional Service', 'S', 1, [
      comp('R', [
        id('R', 2, 2, ['HC', 'IV', 'N4', 'ZZ']),
        an('R', 1, 48),
        an('S', 2, 2),
        an('S', 2, 2),
        an('S', 2, 2),
        an('S', 2, 2),
        an('S', 1, 80),
      ]),
      r('S', 1, 18),
      id('S', 2, 2, ['MJ', 'UN']),
      r('S', 1, 15),
    ]),
    seg('SV2', 'Institutional Service Line', 'S', 1, [
      an('S', 1, 48),
      comp('S', [
        id('R', 2, 2, ['HC', 'HP', 'IV', 'N4', 'ZZ']),
        an('R', 1, 48),
        an('S', 2, 2),
        an('S', 2, 2),
        an('S', 2, 2),
        an('S', 2, 2),
        an('S', 1, 80),
      ]),
      r('S', 1, 18),
      id('S', 2, 2, ['DA', 'UN']),
      r('S', 1, 15),
      r('S', 1, 10),
    ]),
    hsd,
    pwk,
    msg,
  ],
  [
    providerLoop('2010F', 'Service Provider Name', [
      '1T',
      '71',
      '72',
      '73',
      'AAJ',
      'DD',
      'DK',
      'DN',
      'FA',
      'G3',
      'P3',
      'QB',
      'QV',
      'SJ',
    ]),
  ],
);

export const patientEventLevel = (version: 'request' | 'inquiry'): LoopSpec =>
  loop(
    '2000E',
    'Patient Event Level',
    'R',
    1,
    [
      hl('EV', 'Patient Event Level', ['0', '1']),
      trn,
      version === 'request'
        ? um('Health Care Services Review Information', ['AR', 'HS', 'SC'], true)
        : { ...um('Health Care Services Review Information', ['AR', 'HS', 'SC'], true), usage: 'S' },
      ref('Previous Review Authorization Number', 1, ['BB']),
      ref('Previous Review Administrative Reference Number', 1, ['NT']),
      dtp('Event Date', 'AAH', ['D8', 'RD8']),
      dtp('Admission Date', '435', ['D8', 'RD8']),
      dtp('Discharge Date', '096', ['D8']),
      seg('HI', 'Patient Diagnosis', 'S', 1, [
        { ...hiComposite, usage: 'R' },
        hiComposite,
        hiComposite,
        hiComposite,
        hiComposite,
        hiComposite,
        hiComposite,
        hiComposite,
        hiComposite,
        hiComposite,
        hiComposite,
        hiComposite,
      ]),
      hsd,
      seg('CL1', 'Institutional Claim Code', 'S', 1, [id('S', 1, 1), id('S', 1, 1), id('S', 1, 2)]),
      pwk,
      msg,
    ],
    [
      providerLoop('2010EA', 'Patient Event Provider Name', [
        '1T',
        '71',
        '72',
        '73',
        'AAJ',
        'DD',
        'DK',
        'DN',
        'FA',
        'G3',
        'P3',
        'QB',
        'QV',
        'SJ',
      ]),
      serviceLevel,
    ],
  );

export const subscriberName = (relationshipSegment: boolean) =>
  loop('2010C', 'Subscriber Name', 'R', 1, [
    nm1('Subscriber Name', 'R', 1, ['IL'], ['1'], ['MI'], { lastName: 'R' }),
    ref('Subscriber Supplemental Identification', 9, [
      '1L',
      '1W',
      '6P',
      'A6',
      'EJ',
      'F6',
      'HJ',
      'N6',
      'NQ',
      'SY',
    ]),
    n3,
    n4,
    dmg,
    ...(relationshipSegment
      ? [seg('INS', 'Subscriber Relationship', 'S', 1, [id('R', 1, 1, ['Y']), id('R', 2, 2, ['18'])])]
      : []),
  ]);

export const dependentLevel = (event: LoopSpec): LoopSpec =>
  loop(
    '2000D',
    'Dependent Level',
    'S',
    1,
    [hl('23', 'Dependent Level', ['1'])],
    [
      loop('2010D', 'Dependent Name', 'R', 1, [
        nm1('Dependent Name', 'R', 1, ['QC'], ['1'], null, { lastName: 'R' }),
        ref('Dependent Supplemental Identification', 3, ['A6', 'EJ', 'SY']),
        n3,
        n4,
        dmg,
        seg('INS', 'Dependent Relationship', 'S', 1, [
          id('R', 1, 1, ['N']),
          id('R', 2, 2, ['01', '19', '20', '21', '39', '40', '53', 'G8']),
        ]),
      ]),
      event,
    ],
  );

export const requesterName = loop('2010B', 'Requester Name', 'R', 1, [
  nm1('Requester Name', 'R', 1, ['1P', 'FA'], ['1', '2'], providerIdQualifiers),
  ref('Requester Supplemental Identification', 9, ['0B', '1G', '1J', 'EI', 'N5', 'N7', 'SY', 'ZH']),
  n3,
  n4,
  per,
  prv(providerRoles),
]);

export function servicesReviewSpec(version: '005010X217' | '005010X215'): TransactionSpec {
  const event = patientEventLevel(version === '005010X217' ? 'request' : 'inquiry');
  return {
    id: '278',
    version,
    functionalId: 'HI',
    header: [
      st('278', version),
      seg('BHT', 'Beginning of Hierarchical Transaction', 'R', 1, [
        id('R', 4, 4, ['0007']),
        id('R', 2, 2, ['01', '13']),
        an('R', 1, 50),
        dt('R'),
        tm('R'),
      ]),
    ],
    loops: [
      loop(
        '2000A',
        'Utilization Management Organization (UMO) Level',
        'R',
        1,
        [hl('20', 'UMO Level', ['1'], true)],
        [
          loop('2010A', 'UMO Name', 'R', 1, [
            nm1('UMO Name', 'R', 1, ['X3'], ['1', '2'], ['24', '46', 'NI', 'PI', 'XV', 'XX']),
          ]),
          loop(
            '2000B',
            'Requester Level',
            'R',
            1,
            [hl('21', 'Requester Level', ['1'])],
            [
              requesterName,
              loop(
                '2000C',
                'Subscriber Level',
                'R',
                1,
                [hl('22', 'Subscriber Level', ['1'])],
                // With a dependent, the event level sits under 2000D; without one, under 2000C.
                [subscriberName(true), dependentLevel(event), { ...event, usage: 'S' }],
              ),
            ],
          ),
        ],
      ),
    ],
  };
}

export const request278Spec: TransactionSpec = servicesReviewSpec('005010X217');
