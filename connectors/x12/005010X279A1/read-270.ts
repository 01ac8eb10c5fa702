/**
 * Reads a 270 Health Care Eligibility Benefit Inquiry: payer, receiver, subscriber and dependent, trace numbers,
 * the service types asked about (EQ01) and the date of service. The simulated clearinghouse and the
 * round-trip tests read what we build with it; the corpus 270s check it against other people's files.
 * @see ASC X12N 005010X279A1, section 2.4 (270)
 */
import type { Period } from '../../../src/canonical/types.generated.ts';
import { codeTable } from '../code-lists.ts';
import type { X12Diagnostic } from '../diagnostics.ts';
import type { TransactionSet, X12Document } from '../reader.ts';
import { buildHlTree, el, type HlNode, readEntity, SetContext, splitEntities } from '../transaction.ts';
import { type TransactionRef, transactionRef } from '../transaction-ref.ts';
import type { EligibilityMember, EligibilityParty } from './read-271.ts';

export interface EligibilityInquiry {
  readonly kind: '270';
  readonly transaction: TransactionRef;
  readonly reference: string;
  readonly payer?: EligibilityParty;
  readonly receiver?: EligibilityParty & { taxonomy?: string };
  readonly subscriber?: EligibilityMember;
  readonly dependent?: EligibilityMember & { relationship?: string };
  readonly traceNumbers: { type: string; number: string; originator?: string }[];
  readonly serviceTypes: string[];
  readonly procedures: { qualifier: string; code: string; modifiers: string[] }[];
  readonly serviceDate?: Period;
  readonly diagnostics: X12Diagnostic[];
}

const loops270: Record<string, string> = codeTable({
  '20': '2000A',
  '21': '2000B',
  '22': '2000C',
  '23': '2000D',
});

export function read270(doc: X12Document, set: TransactionSet): EligibilityInquiry {
  const ctx: SetContext = new SetContext(doc, set);
  if (set.version !== '005010X279A1') {
    ctx.add('warning', 'VERSION', 'The set is not 005010X279A1; read as if it were', set.header, 3);
  }
  const bht = set.segments[0];
  if (bht?.tag !== 'BHT')
    ctx.fail('PAGW_X12_MISSING_SEGMENT', 'The 270 has no BHT after ST', bht ?? set.header);
  if (el(bht, 2) !== '13') ctx.add('warning', 'BHT02', 'BHT02 should be 13 (request)', bht, 2);
  const tree = buildHlTree(ctx, (level) => loops270[level] ?? `HL${level}`);
  const byLevel = (level: string) => tree.nodes.find((n) => n.level === level);
  if (!byLevel('20'))
    ctx.fail(
      'PAGW_X12_MISSING_SEGMENT',
      'The 270 has no information source level (HL03 20)',
      bht,
      undefined,
      '2000A',
    );

  const traceNumbers: EligibilityInquiry['traceNumbers'] = [];
  const serviceTypes: string[] = [];
  const procedures: EligibilityInquiry['procedures'] = [];
  let serviceDate: Period | undefined;
  const level = (node: HlNode | undefined, entityLoop: string) => {
    if (!node) return undefined;
    const { head, groups } = splitEntities(node.segments);
    for (const s of head) {
      if (s.tag === 'TRN') {
        traceNumbers.push({
          type: el(s, 1),
          number: el(s, 2),
          ...(el(s, 3) ? { originator: el(s, 3) } : {}),
        });
      }
    }
    const first = groups[0];
    if (!first) return undefined;
    for (const s of first.rest) {
      if (s.tag === 'EQ') {
        serviceTypes.push(...ctx.repetitions(el(s, 1)));
        if (el(s, 2)) {
          const [qualifier = '', code = '', ...mods] = ctx.components(el(s, 2));
          procedures.push({ qualifier, code, modifiers: mods.slice(0, 4).filter(Boolean) });
        }
      } else if (s.tag === 'DTP' && el(s, 1) === '291')
        serviceDate = ctx.dtpPeriod(s, entityLoop) ?? serviceDate;
    }
    return readEntity(ctx, first.nm1, first.rest, entityLoop);
  };
  const payer = level(byLevel('20'), '2100A');
  const receiver = level(byLevel('21'), '2100B');
  const subscriber = level(byLevel('22'), '2100C');
  const dependent = level(byLevel('23'), '2100D');
  const partyOf = (e: ReturnType<typeof level>) =>
    e
      ? {
          entityCode: e.code,
          ...(e.name ? { name: e.name } : {}),
          ...(e.organizationName ? { organizationName: e.organizationName } : {}),
          ...(e.idQualifier ? { idQualifier: e.idQualifier } : {}),
          ...(e.id ? { id: e.id } : {}),
        }
      : undefined;
  const memberOf = (e: ReturnType<typeof level>) =>
    e
      ? {
          ...partyOf(e)!,
          ...(e.birthDate ? { birthDate: e.birthDate } : {}),
          ...(e.sex ? { sex: e.sex } : {}),
          ...(e.relationship ? { relationship: e.relationship } : {}),
        }
      : undefined;
  const payerParty = partyOf(payer);
  const receiverParty = partyOf(receiver);
  const subscriberMember = memberOf(subscriber);
  const dependentMember = memberOf(dependent);
  return {
    kind: '270',
    transaction: transactionRef(set),
    reference: el(bht, 3),
    ...(payerParty ? { payer: payerParty } : {}),
    ...(receiverParty
      ? { receiver: { ...receiverParty, ...(receiver?.taxonomy ? { taxonomy: receiver.taxonomy } : {}) } }
      : {}),
    ...(subscriberMember ? { subscriber: subscriberMember } : {}),
    ...(dependentMember ? { dependent: dependentMember } : {}),
    traceNumbers,
    serviceTypes,
    procedures,
    ...(serviceDate ? { serviceDate } : {}),
    diagnostics: ctx.diagnostics,
  };
}
