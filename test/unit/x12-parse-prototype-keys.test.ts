/**
 * Regression (#10, found by the x12 fuzz test): an ST01 that names an Object.prototype member ("valueOf",
 * "constructor", "toString") made parseX12 call that function and die with a TypeError. It is an unsupported
 * transaction set like any other: a typed X12ParseError with a position.
 */
import { describe, expect, it } from 'vitest';
import { X12ParseError } from '../../connectors/x12/errors.ts';
import { parseX12 } from '../../connectors/x12/parse.ts';

const interchange = (st01: string) =>
  [
    'ISA*00*          *00*          *ZZ*EMEDNYBAT      *ZZ*ETIN           *110311*0958*^*00501*095832987*0*T*:~',
    'GS*FA*EMEDNY*ABCD*20110311*0958*95832987*X*005010X231A1~',
    `ST*${st01}*95832987*005010X231A1~`,
    'AK1*HC*28*005010X223A2~',
    'AK9*R*1*1*0~',
    'SE*4*95832987~',
    'GE*1*95832987~',
    'IEA*1*095832987~',
  ].join('\n');

describe('parseX12 and transaction set ids that are Object.prototype member names', () => {
  it.each(['valueOf', 'constructor', 'toString', '__proto__', 'hasOwnProperty'])('ST01 %s', (st01) => {
    let thrown: unknown;
    try {
      parseX12(interchange(st01));
    } catch (error) {
      thrown = error;
    }
    expect(thrown).toBeInstanceOf(X12ParseError);
    const error = thrown as X12ParseError;
    expect(error.code).toBe('PAGW_X12_UNSUPPORTED_TRANSACTION');
    const unsupported = error.diagnostics.find((d) => d.code === 'UNSUPPORTED_TRANSACTION');
    expect(unsupported?.position).toBeDefined();
  });
});
