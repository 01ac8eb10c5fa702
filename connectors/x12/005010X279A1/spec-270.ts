/**
 * 005010X279A1 270 Health Care Eligibility Benefit Inquiry: the loops, segments and elements the gateway
 * generates, with TR3 usage, repeats, lengths and code values.
 * @see ASC X12N 005010X279A1, section 2.4 (270)
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
  n3,
  n4,
  nm1,
  notUsed,
  prv,
  type SegmentSpec,
  seg,
  serviceTypeCodes,
  st,
  type TransactionSpec,
  tm,
  trn,
} from '../spec.ts';

const dtp291 = seg('DTP', 'Date', 'S', 2, [
  id('R', 3, 3, ['102', '291']),
  id('R', 2, 3, ['D8', 'RD8']),
  an('R', 1, 35),
]);

const eligibilityInquiry = (loopId: string): LoopSpec =>
  loop(loopId, 'Eligibility or Benefit Inquiry', 'S', 99, [
    seg('EQ', 'Eligibility or Benefit Inquiry', 'R', 1, [
      id('S', 1, 2, serviceTypeCodes, 99),
      comp('S', [
        id('R', 2, 2, ['AD', 'CJ', 'HC', 'ID', 'IV', 'N4', 'ZZ']),
        an('R', 1, 48),
        an('S', 2, 2),
        an('S', 2, 2),
        an('S', 2, 2),
        an('S', 2, 2),
      ]),
      id('S', 3, 3, ['CHD', 'DEP', 'ECH', 'EMP', 'ESP', 'FAM', 'IND', 'SPC', 'SPO']),
    ]),
    seg('DTP', 'Subscriber Eligibility/Benefit Date', 'S', 1, [
      id('R', 3, 3, ['291']),
      id('R', 2, 3, ['D8', 'RD8']),
      an('R', 1, 35),
    ]),
  ]);

const memberRef = (max: number): SegmentSpec =>
  seg('REF', 'Additional Identification', 'S', max, [
    id('R', 2, 3, [
      '18',
      '1L',
      '1W',
      '3H',
      '6P',
      'CT',
      'EA',
      'EJ',
      'F6',
      'GH',
      'HJ',
      'IG',
      'N6',
      'NQ',
      'SY',
      'Y4',
    ]),
    an('R', 1, 50),
  ]);

export const inquiry270Spec: TransactionSpec = {
  id: '270',
  version: '005010X279A1',
  functionalId: 'HS',
  header: [
    st('270', '005010X279A1'),
    seg('BHT', 'Beginning of Hierarchical Transaction', 'R', 1, [
      id('R', 4, 4, ['0022']),
      id('R', 2, 2, ['01', '13']),
      an('S', 1, 50),
      dt('R'),
      tm('R'),
      notUsed,
    ]),
  ],
  loops: [
    loop(
      '2000A',
      'Information Source Level',
      'R',
      99,
      [hl('20', 'Information Source Level', ['1'], true)],
      [
        loop('2100A', 'Information Source Name', 'R', 1, [
          nm1(
            'Information Source Name',
            'R',
            1,
            ['2B', '36', 'GP', 'P5', 'PR'],
            ['1', '2'],
            ['24', '46', 'FI', 'NI', 'PI', 'XV', 'XX'],
            { lastName: 'R' },
          ),
        ]),
        loop(
          '2000B',
          'Information Receiver Level',
          'R',
          99,
          [hl('21', 'Information Receiver Level', ['1'])],
          [
            loop('2100B', 'Information Receiver Name', 'R', 1, [
              nm1(
                'Information Receiver Name',
                'R',
                1,
                ['1P', '2B', '36', '80', 'FA', 'GP', 'P5', 'PR'],
                ['1', '2'],
                ['24', '34', 'FI', 'PI', 'SV', 'XV', 'XX'],
              ),
              seg('REF', 'Information Receiver Additional Identification', 'S', 9, [
                id('R', 2, 3, [
                  '0B',
                  '1C',
                  '1D',
                  '1J',
                  '4A',
                  'CT',
                  'EL',
                  'EO',
                  'HPI',
                  'JD',
                  'N5',
                  'N7',
                  'Q4',
                  'SY',
                  'TJ',
                ]),
                an('R', 1, 50),
              ]),
              n3,
              n4,
              prv([
                'AD',
                'AT',
                'BI',
                'CO',
                'CV',
                'H',
                'HH',
                'LA',
                'OT',
                'P1',
                'P2',
                'PC',
                'PE',
                'R',
                'RF',
                'SB',
                'SK',
                'SU',
              ]),
            ]),
            loop(
              '2000C',
              'Subscriber Level',
              'R',
              9999,
              [hl('22', 'Subscriber Level', ['0', '1']), trn],
              [
                loop(
                  '2100C',
                  'Subscriber Name',
                  'R',
                  1,
                  [
                    nm1('Subscriber Name', 'R', 1, ['IL'], ['1', '2'], ['II', 'MI'], { idUsage: 'S' }),
                    memberRef(9),
                    n3,
                    n4,
                    dmg,
                    seg('INS', 'Multiple Birth Sequence Number', 'S', 1, [
                      id('R', 1, 1, ['Y']),
                      id('R', 2, 2, ['18']),
                    ]),
                    dtp291,
                  ],
                  [eligibilityInquiry('2110C')],
                ),
                loop(
                  '2000D',
                  'Dependent Level',
                  'S',
                  9999,
                  [hl('23', 'Dependent Level', ['0']), trn],
                  [
                    loop(
                      '2100D',
                      'Dependent Name',
                      'R',
                      1,
                      [
                        nm1('Dependent Name', 'R', 1, ['03'], ['1'], null),
                        memberRef(9),
                        n3,
                        n4,
                        dmg,
                        seg('INS', 'Dependent Relationship', 'S', 1, [
                          id('R', 1, 1, ['N']),
                          id('R', 2, 2, ['01', '19', '34', '39', '40', '53', 'G8']),
                        ]),
                        dtp291,
                      ],
                      [eligibilityInquiry('2110D')],
                    ),
                  ],
                ),
              ],
            ),
          ],
        ),
      ],
    ),
  ],
};
