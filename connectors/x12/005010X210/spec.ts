/**
 * 005010X210 275 Additional Information to Support a Health Care Services Review: the segments the gateway sends
 * when a payer asks for documents on a pended 278 (PWK with an attachment control number). Only what we generate is
 * described; the validator reports anything else as unexpected.
 * @see ASC X12N 005010X210 (275 for the 278), and the CAQH CORE attachments payload type X12_275_Request_005010X210E1
 */
import { an, dt, id, loop, n0, nm1, seg, st, type TransactionSpec } from '../spec.ts';

export const attachment275Spec: TransactionSpec = {
  id: '275',
  version: '005010X210',
  functionalId: 'PI',
  header: [
    st('275', '005010X210'),
    seg('BGN', 'Beginning Segment', 'R', 1, [id('R', 2, 2, ['02', '11']), an('R', 1, 50), dt('R')]),
  ],
  loops: [
    loop('1000A', 'Payer Name', 'R', 1, [nm1('Payer Name', 'R', 1, ['PR'], ['2'], ['PI', 'XV', 'NI', '46'])]),
    loop('1000B', 'Submitter Name', 'R', 1, [nm1('Submitter Name', 'R', 1, ['41'], ['1', '2'], ['46'])]),
    loop('1000C', 'Provider Name', 'R', 1, [nm1('Provider Name', 'R', 1, ['1P'], ['1', '2'], ['XX', '46'])]),
    loop('1000D', 'Patient Name', 'R', 1, [
      nm1('Patient Name', 'R', 1, ['QC'], ['1'], ['MI', 'MR'], { lastName: 'R' }),
      seg('REF', 'Patient Control Number', 'S', 1, [id('R', 2, 2, ['EJ']), an('R', 1, 50)], ['EJ']),
    ]),
    loop('2000A', 'Assigned Number', 'R', 1, [
      seg('LX', 'Assigned Number', 'R', 1, [n0('R', 1, 6)]),
      seg('TRN', 'Attachment Control Number', 'R', 1, [id('R', 1, 2, ['2']), an('R', 1, 50)]),
      seg(
        'DTP',
        'Submittal Date',
        'R',
        1,
        [id('R', 3, 3, ['368']), id('R', 2, 3, ['D8']), an('R', 1, 35)],
        ['368'],
      ),
      seg('CAT', 'Category of Patient Information', 'R', 1, [id('R', 2, 2, ['AE']), id('R', 2, 2, ['MB'])]),
      seg('EFI', 'Electronic Format Identification', 'R', 1, [id('R', 2, 2, ['09'])]),
      seg('BIN', 'Binary Data', 'R', 1, [n0('R', 1, 15), an('R', 1, 67_108_864)]),
    ]),
  ],
};
