/**
 * One entry point for everything the gateway reads: 270, 271, 278 (request or response), 999 and TA1.
 * The lenient reader does the envelopes; each transaction set goes to the reader of its ST01.
 */
import { read278, type ServicesReview } from './005010X217/read-278.ts';
import { type FunctionalAcknowledgment, read999 } from './005010X231A1/read-999.ts';
import { type EligibilityInquiry, read270 } from './005010X279A1/read-270.ts';
import { type EligibilityResponse, read271 } from './005010X279A1/read-271.ts';
import { codeTable } from './code-lists.ts';
import { diagnostic, type X12Diagnostic } from './diagnostics.ts';
import { X12ParseError } from './errors.ts';
import { type InterchangeAcknowledgments, readTa1 } from './read-ta1.ts';
import { readX12, type X12Document } from './reader.ts';

export type ParsedTransaction =
  | EligibilityInquiry
  | EligibilityResponse
  | ServicesReview
  | FunctionalAcknowledgment
  | InterchangeAcknowledgments;

export interface ParsedX12 {
  /** One result per transaction set (and one per interchange holding TA1s), in document order. */
  readonly results: ParsedTransaction[];
  /** Envelope-level diagnostics (each result carries its own too). */
  readonly diagnostics: X12Diagnostic[];
  readonly document: X12Document;
}

const readers = { '270': read270, '271': read271, '278': read278, '999': read999 } as const;
/** GS01 functional identifier each transaction set belongs under. */
const functionalIds: Record<string, string> = codeTable({
  '270': 'HS',
  '271': 'HB',
  '278': 'HI',
  '999': 'FA',
});

export function parseX12(input: string | Uint8Array): ParsedX12 {
  const document = readX12(input);
  const diagnostics = [...document.diagnostics];
  const results: ParsedTransaction[] = [];
  let unsupported = 0;
  for (const interchange of document.interchanges) {
    if (interchange.ta1.length > 0) results.push(readTa1(document, interchange));
    for (const group of interchange.groups) {
      for (const set of group.sets) {
        // Own keys only: an ST01 such as "valueOf" must not find Object.prototype's function.
        const reader = Object.hasOwn(readers, set.id) ? readers[set.id as keyof typeof readers] : undefined;
        if (!reader) {
          unsupported++;
          diagnostics.push(
            diagnostic(
              'error',
              'UNSUPPORTED_TRANSACTION',
              'The gateway reads 270, 271, 278 and 999 transaction sets; this one was skipped',
              document.positionOf(set.header, 1),
            ),
          );
          continue;
        }
        const expected = Object.hasOwn(functionalIds, set.id) ? functionalIds[set.id] : undefined;
        if (group.header && expected && group.functionalId !== expected) {
          diagnostics.push(
            diagnostic(
              'warning',
              'GS01_MISMATCH',
              `GS01 should be ${expected} for a ${set.id} transaction set`,
              document.positionOf(group.header, 1),
            ),
          );
        }
        results.push(reader(document, set));
      }
    }
  }
  if (results.length === 0) {
    if (unsupported > 0) {
      throw new X12ParseError(
        'PAGW_X12_UNSUPPORTED_TRANSACTION',
        'No transaction set the gateway reads (270, 271, 278, 999, TA1)',
        diagnostics,
      );
    }
    const first = document.interchanges[0];
    const where = first?.groups[0]?.header ?? first?.header;
    throw new X12ParseError(
      'PAGW_X12_ENVELOPE',
      'The interchange holds no transaction set (no ST after GS) and no TA1',
      [
        ...diagnostics,
        diagnostic(
          'error',
          'NO_TRANSACTION_SET',
          'No ST transaction set and no TA1 in the interchange',
          where ? document.positionOf(where) : undefined,
        ),
      ],
    );
  }
  return { results, diagnostics, document };
}
