/**
 * Reads TA1 interchange acknowledgments: the acknowledged interchange control number, date and time, the
 * acknowledgment code (TA104 A accepted, E accepted with errors, R rejected) and the note code (TA105).
 * @see ASC X12 Interchange Control Structures, TA1 Interchange Acknowledgment
 */
import { interchangeNoteCodes } from './code-lists.ts';
import { diagnostic, type X12Diagnostic } from './diagnostics.ts';
import type { Interchange, X12Document } from './reader.ts';
import { el } from './transaction.ts';

export interface InterchangeAcknowledgment {
  readonly controlNumber: string;
  readonly date: string;
  readonly time: string;
  /** TA104. */
  readonly status: 'A' | 'E' | 'R' | string;
  readonly accepted: boolean;
  /** TA105 and its text. */
  readonly note: string;
  readonly noteText?: string;
}

export interface InterchangeAcknowledgments {
  readonly kind: 'TA1';
  readonly senderId: string;
  readonly receiverId: string;
  readonly acknowledgments: InterchangeAcknowledgment[];
  readonly accepted: boolean;
  readonly diagnostics: X12Diagnostic[];
}

export function readTa1(doc: X12Document, interchange: Interchange): InterchangeAcknowledgments {
  const diagnostics: X12Diagnostic[] = [];
  const acknowledgments = interchange.ta1.map((segment) => {
    if (!/^\d{9}$/.test(el(segment, 1))) {
      diagnostics.push(
        diagnostic(
          'warning',
          'TA101_FORMAT',
          'TA101 should be the 9-digit ISA13 it acknowledges',
          doc.positionOf(segment, 1),
        ),
      );
    }
    const status = el(segment, 4);
    if (!['A', 'E', 'R'].includes(status)) {
      diagnostics.push(
        diagnostic('warning', 'TA104_UNKNOWN', 'TA104 is not A, E or R', doc.positionOf(segment, 4)),
      );
    }
    const note = el(segment, 5);
    return {
      controlNumber: el(segment, 1),
      date: el(segment, 2),
      time: el(segment, 3),
      status,
      accepted: status === 'A' || status === 'E',
      note,
      ...(interchangeNoteCodes[note] ? { noteText: interchangeNoteCodes[note] } : {}),
    };
  });
  return {
    kind: 'TA1',
    senderId: interchange.isa.senderId,
    receiverId: interchange.isa.receiverId,
    acknowledgments,
    accepted: acknowledgments.every((a) => a.accepted),
    diagnostics,
  };
}
