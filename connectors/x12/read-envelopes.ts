/**
 * The envelopes around the segments read (reader.ts): ISA > (TA1 | GS > ST … SE > GE) > IEA, nested into
 * interchanges, functional groups and transaction sets. Every mismatch is a diagnostic: a missing SE/GE/IEA
 * closes what is open, a wrong SE01/GE01/IEA01 count or SE02/GE02/IEA02 control number is a warning, a segment
 * outside its envelope an error diagnostic (only an ISA that readIsa did not read, a reader bug, is thrown). Its
 * own module: it runs once all segments are read, and the per-segment loop in reader.ts stays short.
 *
 * @see ASC X12 Standards for Electronic Data Interchange, Interchange Control Structures (ISA/IEA, GS/GE, ST/SE)
 */
import { diagnostic, type X12Diagnostic } from './diagnostics.ts';
import { X12ParseError } from './errors.ts';
import type { IsaRead } from './read-isa.ts';
import type { FunctionalGroup, Interchange, Segment, TransactionSet, X12Document } from './x12-document.ts';

/** Nests the segments in order; `isas` holds what readIsa read for each ISA segment. */
export function readEnvelopes(
  segments: readonly Segment[],
  isas: ReadonlyMap<Segment, IsaRead>,
  diagnostics: X12Diagnostic[],
  position: X12Document['positionOf'],
): Interchange[] {
  const interchanges: Interchange[] = [];
  // Envelope structure: ISA > (TA1 | GS > ST … SE > GE) > IEA, each mismatch a diagnostic.
  let interchange: Interchange | undefined;
  let group: FunctionalGroup | undefined;
  let set: TransactionSet | undefined;
  const closeSet = (reason: string) => {
    if (!set) return;
    diagnostics.push(
      diagnostic(
        'warning',
        'SE_MISSING',
        `Transaction set has no SE trailer (${reason})`,
        position(set.header),
      ),
    );
    set = undefined;
  };
  const closeGroup = (reason: string) => {
    closeSet(reason);
    if (!group) return;
    if (group.header) {
      diagnostics.push(
        diagnostic(
          'warning',
          'GE_MISSING',
          `Functional group has no GE trailer (${reason})`,
          position(group.header),
        ),
      );
    }
    group = undefined;
  };
  const closeInterchange = (reason: string) => {
    closeGroup(reason);
    if (!interchange) return;
    diagnostics.push(
      diagnostic(
        'warning',
        'IEA_MISSING',
        `Interchange has no IEA trailer (${reason})`,
        position(interchange.header),
      ),
    );
    interchange = undefined;
  };
  const stray = (segment: Segment, what: string) =>
    diagnostics.push(diagnostic('error', 'SEGMENT_OUTSIDE_ENVELOPE', what, position(segment)));
  const el = (segment: Segment, n: number) => segment.elements[n - 1] ?? '';
  const sameNumber = (a: string, b: string) =>
    a.trim() === b.trim() || (/^\d+$/.test(a.trim()) && /^\d+$/.test(b.trim()) && Number(a) === Number(b));

  for (const segment of segments) {
    switch (segment.tag) {
      case 'ISA': {
        if (interchange) closeInterchange('another ISA follows');
        const read = isas.get(segment);
        // Every ISA segment is read by readIsa; a gap here is a reader bug, reported as a typed error all the same.
        if (!read) {
          throw new X12ParseError('PAGW_X12_DELIMITERS', 'An ISA segment could not be read as a header', [
            ...diagnostics,
            diagnostic('error', 'ISA_UNREAD', 'ISA not read as an interchange header', position(segment)),
          ]);
        }
        interchange = { header: segment, isa: read.isa, groups: [], ta1: [], delimiters: read.delimiters };
        interchanges.push(interchange);
        break;
      }
      case 'IEA': {
        if (!interchange) {
          stray(segment, 'IEA without an open interchange');
          break;
        }
        closeGroup('IEA follows');
        interchange.trailer = segment;
        const groups = interchange.groups.filter((g) => g.header).length;
        if (!/^\d+$/.test(el(segment, 1)) || Number(el(segment, 1)) !== groups) {
          diagnostics.push(
            diagnostic(
              'warning',
              'IEA_COUNT',
              `IEA01 says ${el(segment, 1) || 'nothing'} functional groups; the interchange has ${groups}`,
              position(segment, 1),
            ),
          );
        }
        if (!sameNumber(el(segment, 2), interchange.isa.controlNumber)) {
          diagnostics.push(
            diagnostic(
              'warning',
              'IEA_CONTROL',
              'IEA02 does not match ISA13 (interchange control number)',
              position(segment, 2),
            ),
          );
        }
        interchange = undefined;
        break;
      }
      case 'TA1':
        if (!interchange) stray(segment, 'TA1 outside an interchange');
        else {
          if (group) stray(segment, 'TA1 inside a functional group');
          interchange.ta1.push(segment);
        }
        break;
      case 'GS':
        if (!interchange) {
          stray(segment, 'GS outside an interchange');
          break;
        }
        if (group) closeGroup('another GS follows');
        group = {
          header: segment,
          sets: [],
          functionalId: el(segment, 1),
          controlNumber: el(segment, 6),
          version: el(segment, 8),
        };
        interchange.groups.push(group);
        break;
      case 'GE': {
        if (!group?.header) {
          stray(segment, 'GE without an open functional group');
          break;
        }
        closeSet('GE follows');
        group.trailer = segment;
        if (!/^\d+$/.test(el(segment, 1)) || Number(el(segment, 1)) !== group.sets.length) {
          diagnostics.push(
            diagnostic(
              'warning',
              'GE_COUNT',
              `GE01 says ${el(segment, 1) || 'nothing'} transaction sets; the group has ${group.sets.length}`,
              position(segment, 1),
            ),
          );
        }
        if (!sameNumber(el(segment, 2), group.controlNumber)) {
          diagnostics.push(
            diagnostic(
              'warning',
              'GE_CONTROL',
              'GE02 does not match GS06 (group control number)',
              position(segment, 2),
            ),
          );
        }
        group = undefined;
        break;
      }
      case 'ST': {
        if (!interchange) {
          stray(segment, 'ST outside an interchange');
          break;
        }
        if (!group) {
          stray(segment, 'ST without a GS functional group header');
          group = { sets: [], functionalId: '', controlNumber: '', version: '' };
          interchange.groups.push(group);
        }
        if (set) closeSet('another ST follows');
        set = {
          header: segment,
          segments: [],
          id: el(segment, 1),
          controlNumber: el(segment, 2),
          version: el(segment, 3) || group.version,
          group,
          interchange,
        };
        group.sets.push(set);
        break;
      }
      case 'SE': {
        if (!set) {
          stray(segment, 'SE without an open transaction set');
          break;
        }
        set.trailer = segment;
        const count = set.segments.length + 2;
        if (!/^\d+$/.test(el(segment, 1)) || Number(el(segment, 1)) !== count) {
          diagnostics.push(
            diagnostic(
              'warning',
              'SE_COUNT',
              `SE01 says ${el(segment, 1) || 'nothing'} segments; the set has ${count} (ST through SE)`,
              position(segment, 1),
            ),
          );
        }
        if (el(segment, 2) !== set.controlNumber) {
          diagnostics.push(
            diagnostic(
              'warning',
              'SE_CONTROL',
              'SE02 does not match ST02 (transaction set control number)',
              position(segment, 2),
            ),
          );
        }
        set = undefined;
        break;
      }
      default:
        if (set) set.segments.push(segment);
        else stray(segment, `${segment.tag} outside a transaction set`);
    }
  }
  closeInterchange('end of input');

  return interchanges;
}
