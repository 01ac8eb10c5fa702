/**
 * What the lenient reader (reader.ts) yields: an X12 document of interchanges → functional groups → transaction
 * sets → segments, with the delimiters and ISA header of each interchange. Its own module because every
 * transaction reader, the validator and the reader's parts (read-isa.ts, read-envelopes.ts) use these shapes,
 * and none of them should import the reader only for its types.
 *
 * @see ASC X12 Standards for Electronic Data Interchange, Interchange Control Structures (ISA/IEA, GS/GE, ST/SE)
 */
import type { X12Diagnostic, X12Position } from './diagnostics.ts';

export interface Delimiters {
  readonly element: string;
  readonly component: string;
  readonly segment: string;
  /** ISA11 in 00501 and later; absent in 4010 (where ISA11 is the standards id `U`). */
  readonly repetition?: string;
}

export interface Segment {
  readonly tag: string;
  /** elements[0] is XX01. */
  readonly elements: readonly string[];
  /** 1-based ordinal in the document. */
  readonly ordinal: number;
  /** Character offset of the tag in the original text. */
  readonly offset: number;
}

export interface IsaHeader {
  readonly senderQualifier: string;
  readonly senderId: string;
  readonly receiverQualifier: string;
  readonly receiverId: string;
  readonly date: string;
  readonly time: string;
  readonly version: string;
  readonly controlNumber: string;
  readonly ackRequested: string;
  readonly usage: string;
}

export interface TransactionSet {
  readonly header: Segment;
  trailer?: Segment;
  readonly segments: Segment[];
  /** ST01 (270, 271, 278, 999). */
  readonly id: string;
  /** ST02. */
  readonly controlNumber: string;
  /** ST03, else GS08 of the enclosing group. */
  readonly version: string;
  readonly group: FunctionalGroup;
  readonly interchange: Interchange;
}

export interface FunctionalGroup {
  /** Absent when an ST appeared without a GS (reported as an error diagnostic). */
  readonly header?: Segment;
  trailer?: Segment;
  readonly sets: TransactionSet[];
  /** GS01 (HI, HS, HB, FA …). */
  readonly functionalId: string;
  /** GS06. */
  readonly controlNumber: string;
  /** GS08. */
  readonly version: string;
}

export interface Interchange {
  readonly header: Segment;
  readonly isa: IsaHeader;
  trailer?: Segment;
  readonly groups: FunctionalGroup[];
  /** TA1 segments (interchange acknowledgments) between ISA and the first GS. */
  readonly ta1: Segment[];
  readonly delimiters: Delimiters;
}

export interface X12Document {
  readonly interchanges: Interchange[];
  readonly diagnostics: X12Diagnostic[];
  /** The text as read (byte-order mark included), for positions. */
  readonly text: string;
  /** Line/column position of a segment (and element), for diagnostics raised after reading. */
  positionOf(segment: Segment, element?: number, loop?: string, component?: number): X12Position;
}
