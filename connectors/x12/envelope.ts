/**
 * Interchange assembly with node-x12: ISA/GS/ST headers from our parties and persisted control numbers,
 * node-x12 computing the SE/GE/IEA trailers, one functional group with one transaction set per interchange.
 * Also the value hygiene every generated element needs (no delimiters, X12 character set, TR3 lengths).
 */
import { X12Interchange } from 'node-x12';

export const delimiters = { element: '*', segment: '~', component: ':', repetition: '^' } as const;

/** One side of an interchange: ISA05/06 (or 07/08) and GS02 (or GS03). */
export interface InterchangeParty {
  /** ISA05/ISA07 qualifier (ZZ mutually defined, 30 US federal tax id, 01 DUNS …). */
  readonly qualifier: string;
  /** ISA06/ISA08, up to 15 characters. */
  readonly id: string;
  /** GS02/GS03 application code; defaults to the ISA id. */
  readonly applicationId?: string;
}

export interface EnvelopeOptions {
  readonly sender: InterchangeParty;
  readonly receiver: InterchangeParty;
  /** ISA15: T test, P production. */
  readonly usage: 'T' | 'P';
  /** ISA13 and GS06, allocated and persisted by the control-number store. */
  readonly interchangeControlNumber: number;
  readonly groupControlNumber: number;
  /** ST02; defaults to 0001 (one set per group). */
  readonly transactionSetControlNumber?: string;
  /** ISA14: ask the receiver for a TA1. */
  readonly requestTa1?: boolean;
  readonly at: Date;
}

export type SegmentData = readonly [tag: string, elements: readonly string[]];

function two(n: number): string {
  return String(n).padStart(2, '0');
}

/** Interchange date and time in UTC: YYMMDD, CCYYMMDD and HHMM. */
export function x12Timestamp(at: Date): { yymmdd: string; ccyymmdd: string; hhmm: string } {
  const ccyymmdd = `${at.getUTCFullYear()}${two(at.getUTCMonth() + 1)}${two(at.getUTCDate())}`;
  return { yymmdd: ccyymmdd.slice(2), ccyymmdd, hhmm: `${two(at.getUTCHours())}${two(at.getUTCMinutes())}` };
}

/** Drops trailing empty elements: a segment never ends with a separator. */
export function trimElements(elements: readonly string[]): string[] {
  const out = [...elements];
  while (out.length > 0 && out[out.length - 1] === '') out.pop();
  return out;
}

/**
 * Makes free text safe for an X12 element: accents removed, delimiters and characters outside the X12
 * character set replaced by spaces, whitespace collapsed, cut to `max` characters.
 */
export function x12Text(value: string | undefined, max: number): string {
  if (!value) return '';
  const ascii = value
    .normalize('NFD')
    .replace(/[\u0300-\u036f]/g, '')
    .replace(/[^\x20-\x7e]/g, ' ')
    .replace(/[*~:^]/g, ' ')
    .replace(/\s+/g, ' ')
    .trim();
  return ascii.slice(0, max).trim();
}

/**
 * Builds one interchange holding one transaction set. node-x12 pads the ISA to its fixed widths and writes the
 * SE01/GE01/IEA01 counts and the trailer control numbers.
 */
export function buildInterchange(
  options: EnvelopeOptions,
  transaction: { functionalId: string; setId: string; version: string; segments: readonly SegmentData[] },
): string {
  const { yymmdd, ccyymmdd, hhmm } = x12Timestamp(options.at);
  const interchange = new X12Interchange({
    elementDelimiter: delimiters.element,
    segmentTerminator: delimiters.segment,
    subElementDelimiter: delimiters.component,
    repetitionDelimiter: delimiters.repetition,
    endOfLine: '',
    format: false,
  });
  interchange.setHeader([
    '00',
    '',
    '00',
    '',
    options.sender.qualifier,
    options.sender.id,
    options.receiver.qualifier,
    options.receiver.id,
    yymmdd,
    hhmm,
    delimiters.repetition,
    '00501',
    String(options.interchangeControlNumber).padStart(9, '0'),
    options.requestTa1 ? '1' : '0',
    options.usage,
    delimiters.component,
  ]);
  const group = interchange.addFunctionalGroup();
  group.setHeader([
    transaction.functionalId,
    options.sender.applicationId ?? options.sender.id,
    options.receiver.applicationId ?? options.receiver.id,
    ccyymmdd,
    hhmm,
    String(options.groupControlNumber),
    'X',
    transaction.version,
  ]);
  const set = group.addTransaction();
  set.setHeader([transaction.setId, options.transactionSetControlNumber ?? '0001', transaction.version]);
  for (const [tag, elements] of transaction.segments) set.addSegment(tag, trimElements(elements));
  return interchange.toString();
}
