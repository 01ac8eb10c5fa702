/**
 * Scripted behaviours of the simulated PAS payer, chosen by the member id (Coverage.subscriberId, first match
 * of the prefixes below, case-insensitive) or else by a service code of the Claim. Anything else is approved.
 */
export type PasBehaviour =
  | 'approve'
  | 'deny'
  | 'partial'
  | 'pend-inquire'
  | 'pend-notify'
  | 'pend-docs'
  | 'reject'
  | 'operation-outcome'
  | 'rate-limit'
  | 'slow'
  | 'drop'
  | 'unavailable';

/** Member id prefix → behaviour. Longer prefixes first where one starts another. */
export const byMemberPrefix: ReadonlyArray<readonly [string, PasBehaviour]> = [
  ['PENDNOTIFY', 'pend-notify'],
  ['PEND', 'pend-inquire'],
  ['DOCS', 'pend-docs'],
  ['DENY', 'deny'],
  ['PARTIAL', 'partial'],
  ['REJECT', 'reject'],
  ['OO', 'operation-outcome'],
  ['RATE', 'rate-limit'],
  ['SLOW', 'slow'],
  ['DROP', 'drop'],
  ['UNAVAIL', 'unavailable'],
];

/** Service code (Claim.item.productOrService) → behaviour, when the member id names none. */
export const byServiceCode: ReadonlyArray<readonly [string, PasBehaviour]> = [
  ['0000T', 'deny'],
  ['J9999', 'pend-inquire'],
  ['E0999', 'partial'],
];

export function behaviourOf(memberId: string, serviceCodes: readonly string[]): PasBehaviour {
  const upper = memberId.toUpperCase();
  const byMember = byMemberPrefix.find(([prefix]) => upper.startsWith(prefix));
  if (byMember) return byMember[1];
  const byCode = byServiceCode.find(([code]) => serviceCodes.some((c) => c.toUpperCase() === code));
  return byCode ? byCode[1] : 'approve';
}
