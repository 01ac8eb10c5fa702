/**
 * Scripted payer behaviours of the simulated clearinghouse, chosen by the member id (2010C NM109, first match
 * of the prefixes below, case-insensitive) or else by a service code in the request. Anything else is approved.
 */
export type ReviewBehaviour =
  | 'approve'
  | 'deny'
  | 'pend'
  | 'pend2'
  | 'pend-deny'
  /** Pended and never decided: every inquiry answers pended again (an SLA that runs out, an inquiry limit). */
  | 'pend-forever'
  /** Pended asking for documents (PWK with an attachment control number): decided once a 275 brings them. */
  | 'pend-docs'
  /**
   * Pended asking for nothing; the first 278 inquiry asks for documents (as pend-docs does), decided once a 275
   * brings them.
   */
  | 'pend-docs-later'
  | 'modify'
  | 'aaa'
  | 'aaa42'
  | 'reject999'
  | 'reject-ta1'
  | 'slow'
  | 'fail5xx'
  | 'flaky5xx'
  | 'drop';

export type EligibilityBehaviour = 'active' | 'inactive' | 'aaa' | 'aaa42';

/** Member id prefix → behaviour. Longer prefixes first where one starts another. */
export const reviewByMemberPrefix: ReadonlyArray<readonly [string, ReviewBehaviour]> = [
  ['PENDDENY', 'pend-deny'],
  ['NOANSWER', 'pend-forever'],
  ['DOCS', 'pend-docs'],
  ['LATEDOCS', 'pend-docs-later'],
  ['PEND2', 'pend2'],
  ['PEND', 'pend'],
  ['DENY', 'deny'],
  ['MODIFY', 'modify'],
  ['AAA42', 'aaa42'],
  ['AAA', 'aaa'],
  ['REJ999', 'reject999'],
  ['REJTA1', 'reject-ta1'],
  ['SLOW', 'slow'],
  ['FAIL5XX', 'fail5xx'],
  ['FLAKY', 'flaky5xx'],
  ['DROP', 'drop'],
];

/** Service code (SV101-2 / SV202-2) → behaviour, when the member id names none. */
export const reviewByServiceCode: ReadonlyArray<readonly [string, ReviewBehaviour]> = [
  ['0000T', 'deny'],
  ['J9999', 'pend'],
  ['E0999', 'modify'],
];

export const eligibilityByMemberPrefix: ReadonlyArray<readonly [string, EligibilityBehaviour]> = [
  ['INACTIVE', 'inactive'],
  ['ELIG42', 'aaa42'],
  ['ELIGAAA', 'aaa'],
];

export function reviewBehaviour(memberId: string, serviceCodes: readonly string[]): ReviewBehaviour {
  const upper = memberId.toUpperCase();
  const byMember = reviewByMemberPrefix.find(([prefix]) => upper.startsWith(prefix));
  if (byMember) return byMember[1];
  const byCode = reviewByServiceCode.find(([code]) => serviceCodes.some((c) => c.toUpperCase() === code));
  return byCode ? byCode[1] : 'approve';
}

export function eligibilityBehaviour(memberId: string): EligibilityBehaviour {
  const upper = memberId.toUpperCase();
  return eligibilityByMemberPrefix.find(([prefix]) => upper.startsWith(prefix))?.[1] ?? 'active';
}
