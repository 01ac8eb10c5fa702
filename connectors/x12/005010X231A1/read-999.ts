/**
 * Reads a 999 Implementation Acknowledgment: per acknowledged functional group (AK1) and transaction set
 * (AK2), accepted or rejected, with the failing segment (IK3: id, position in the set, loop, error code) and
 * element (IK4: position, component, element reference number, error code). IK404 (a copy of the bad value)
 * is kept out of the result: it can hold member data.
 * @see ASC X12C 005010X231A1 Implementation Acknowledgment for Health Care Insurance (999)
 */
import {
  acceptedAcknowledgmentCodes,
  acknowledgmentCodes,
  elementSyntaxErrors,
  segmentSyntaxErrors,
  transactionSetSyntaxErrors,
} from '../code-lists.ts';
import type { X12Diagnostic } from '../diagnostics.ts';
import type { Segment, TransactionSet, X12Document } from '../reader.ts';
import { el, SetContext } from '../transaction.ts';
import { type TransactionRef, transactionRef } from '../transaction-ref.ts';

export interface ElementError {
  /** IK401-1 position in segment, IK401-2 component, IK401-3 repetition. */
  readonly position: number;
  readonly component?: number;
  readonly repetition?: number;
  /** IK402 data element reference number. */
  readonly reference?: string;
  /** IK403, element 621. */
  readonly code: string;
  readonly text?: string;
}

export interface SegmentError {
  /** IK301 segment id, as written (the corpus has NM for NM1). */
  readonly segment: string;
  /** IK302 position in the transaction set, ST being 1. */
  readonly position?: number;
  /** IK303 loop identifier. */
  readonly loop?: string;
  /** IK304, element 620. */
  readonly code: string;
  readonly text?: string;
  readonly elements: ElementError[];
}

export interface SetAcknowledgment {
  /** AK201 / AK202 / AK203. */
  readonly transactionSet: string;
  readonly controlNumber: string;
  readonly implementation?: string;
  /** IK501. */
  readonly status: string;
  readonly statusText?: string;
  readonly accepted: boolean;
  /** IK502…IK506 with texts. */
  readonly errors: { code: string; text?: string }[];
  readonly segmentErrors: SegmentError[];
}

export interface GroupAcknowledgment {
  /** AK101 / AK102 / AK103: the acknowledged group. */
  readonly functionalId: string;
  readonly groupControlNumber: string;
  readonly version?: string;
  /** AK901 (A, E, P, R …). */
  readonly status: string;
  readonly statusText?: string;
  readonly accepted: boolean;
  readonly included?: number;
  readonly received?: number;
  readonly acceptedCount?: number;
  readonly sets: SetAcknowledgment[];
}

export interface FunctionalAcknowledgment {
  readonly kind: '999';
  readonly transaction: TransactionRef;
  readonly groups: GroupAcknowledgment[];
  /** True when every acknowledged set was accepted (IK501 A or E). */
  readonly accepted: boolean;
  readonly diagnostics: X12Diagnostic[];
}

function int(value: string): number | undefined {
  return /^\d+$/.test(value) ? Number(value) : undefined;
}

export function read999(doc: X12Document, set: TransactionSet): FunctionalAcknowledgment {
  const ctx: SetContext = new SetContext(doc, set);
  if (!set.version.startsWith('005010X231')) {
    ctx.add('warning', 'VERSION', 'The set is not 005010X231A1; read as if it were', set.header, 3);
  }
  const groups: GroupAcknowledgment[] = [];
  let group: { ak1: Segment; sets: SetAcknowledgment[]; ak9?: Segment } | undefined;
  let current: { ak2: Segment; segmentErrors: SegmentError[]; ik5?: Segment } | undefined;
  let segmentError: (Omit<SegmentError, 'elements'> & { elements: ElementError[] }) | undefined;
  const closeSet = () => {
    if (!current || !group) return;
    const ik5 = current.ik5;
    if (!ik5)
      ctx.add(
        'warning',
        'IK5_MISSING',
        'AK2 loop has no IK5 (transaction set response trailer)',
        current.ak2,
        undefined,
        '2000',
      );
    const status = el(ik5, 1);
    const errors = [2, 3, 4, 5, 6]
      .map((i) => el(ik5, i))
      .filter(Boolean)
      .map((code) => ({
        code,
        ...(transactionSetSyntaxErrors[code] ? { text: transactionSetSyntaxErrors[code] } : {}),
      }));
    group.sets.push({
      transactionSet: el(current.ak2, 1),
      controlNumber: el(current.ak2, 2),
      ...(el(current.ak2, 3) ? { implementation: el(current.ak2, 3) } : {}),
      status,
      ...(acknowledgmentCodes[status] ? { statusText: acknowledgmentCodes[status] } : {}),
      accepted: acceptedAcknowledgmentCodes.has(status),
      errors,
      segmentErrors: current.segmentErrors,
    });
    current = undefined;
    segmentError = undefined;
  };
  const closeGroup = () => {
    closeSet();
    if (!group) return;
    const ak9 = group.ak9;
    if (!ak9)
      ctx.add(
        'warning',
        'AK9_MISSING',
        'AK1 group has no AK9 (functional group response trailer)',
        group.ak1,
      );
    const status = el(ak9, 1);
    const included = int(el(ak9, 2));
    const received = int(el(ak9, 3));
    const acceptedCount = int(el(ak9, 4));
    groups.push({
      functionalId: el(group.ak1, 1),
      groupControlNumber: el(group.ak1, 2),
      ...(el(group.ak1, 3) ? { version: el(group.ak1, 3) } : {}),
      status,
      ...(acknowledgmentCodes[status] ? { statusText: acknowledgmentCodes[status] } : {}),
      accepted: acceptedAcknowledgmentCodes.has(status),
      ...(included !== undefined ? { included } : {}),
      ...(received !== undefined ? { received } : {}),
      ...(acceptedCount !== undefined ? { acceptedCount } : {}),
      sets: group.sets,
    });
    group = undefined;
  };
  for (const segment of set.segments) {
    switch (segment.tag) {
      case 'AK1':
        closeGroup();
        group = { ak1: segment, sets: [] };
        break;
      case 'AK2':
        closeSet();
        if (!group) {
          ctx.add('warning', 'AK1_MISSING', 'AK2 before any AK1', segment, undefined, '2000');
          group = { ak1: segment, sets: [] };
        }
        current = { ak2: segment, segmentErrors: [] };
        break;
      case 'IK3': {
        if (!current) {
          ctx.add('warning', 'IK3_OUTSIDE', 'IK3 outside an AK2 loop', segment, undefined, '2100');
          break;
        }
        const code = el(segment, 4);
        const position = int(el(segment, 2));
        segmentError = {
          segment: el(segment, 1),
          ...(position !== undefined ? { position } : {}),
          ...(el(segment, 3) ? { loop: el(segment, 3) } : {}),
          code,
          ...(segmentSyntaxErrors[code] ? { text: segmentSyntaxErrors[code] } : {}),
          elements: [],
        };
        current.segmentErrors.push(segmentError);
        break;
      }
      case 'IK4': {
        if (!segmentError) {
          ctx.add('warning', 'IK4_OUTSIDE', 'IK4 outside an IK3 loop', segment, undefined, '2110');
          break;
        }
        const [position = '', component = '', repetition = ''] = ctx.components(el(segment, 1));
        const code = el(segment, 3);
        segmentError.elements.push({
          position: int(position) ?? 0,
          ...(int(component) !== undefined ? { component: int(component)! } : {}),
          ...(int(repetition) !== undefined ? { repetition: int(repetition)! } : {}),
          ...(el(segment, 2) ? { reference: el(segment, 2) } : {}),
          code,
          ...(elementSyntaxErrors[code] ? { text: elementSyntaxErrors[code] } : {}),
        });
        break;
      }
      case 'IK5':
        if (current) current.ik5 = segment;
        else ctx.add('warning', 'IK5_OUTSIDE', 'IK5 outside an AK2 loop', segment);
        break;
      case 'AK9':
        closeSet();
        if (group) group.ak9 = segment;
        else ctx.add('warning', 'AK9_OUTSIDE', 'AK9 before any AK1', segment);
        break;
      case 'CTX':
        break; // context (business unit or segment context): not needed to decide
      default:
        ctx.add('warning', 'UNEXPECTED_SEGMENT', 'Segment not used in a 999', segment);
    }
  }
  closeGroup();
  if (groups.length === 0)
    ctx.fail('PAGW_X12_MISSING_SEGMENT', 'The 999 has no AK1 functional group response', set.header);
  const sets = groups.flatMap((g) => g.sets);
  const accepted = groups.every((g) => g.accepted) && sets.every((s) => s.accepted);
  return { kind: '999', transaction: transactionRef(set), groups, accepted, diagnostics: ctx.diagnostics };
}
