/**
 * An appeal package (issue #14 item 6): what a person reviews before a denial (or partial approval) is appealed —
 * the payer's decision and its reasons, the criteria it was decided under, the services and diagnoses at stake, the
 * evidence the case holds, and a checklist of what an appeal should carry, present or missing. Pure: the letter is
 * rendered from it (src/outbound/tasks/appeal-letter.ts), the exceptions module stores both.
 */
import type { AuthorizationDecision, AuthorizationRequest } from '../../canonical/index.ts';

export interface AppealEvidence {
  readonly documentId: string;
  readonly label: string;
  readonly code: string | null;
  readonly contentType: string;
}

export interface ChecklistItem {
  readonly item: string;
  readonly present: boolean;
  readonly note?: string;
}

export interface AppealPackage {
  readonly caseId: string;
  readonly expedited: boolean;
  readonly denial: {
    readonly outcome: AuthorizationDecision['outcome'];
    readonly reviewActionCode: string | null;
    readonly decidedAt: string;
    readonly certificationNumber: string | null;
    readonly administrativeReference: string | null;
    readonly reasons: ReadonlyArray<{ system?: string; code: string; text?: string }>;
    readonly messages: readonly string[];
  };
  /** What the payer decided under: its id and the rule version (and rule ids) of the case's routing. */
  readonly criteria: {
    readonly payerId: string;
    readonly ruleVersion: string | null;
    readonly ruleIds: string | null;
  };
  readonly services: ReadonlyArray<{
    code: string;
    system: string;
    display?: string;
    quantity?: string;
    outcome?: string;
  }>;
  readonly diagnoses: ReadonlyArray<{ code: string; system: string; display?: string }>;
  readonly evidence: readonly AppealEvidence[];
  readonly checklist: readonly ChecklistItem[];
}

/** Outcomes an appeal is for. */
export function isAppealable(decision: AuthorizationDecision | null | undefined): boolean {
  return decision?.outcome === 'denied' || decision?.outcome === 'modified';
}

export function assembleAppeal(input: {
  readonly caseId: string;
  readonly request: AuthorizationRequest;
  readonly decision: AuthorizationDecision;
  readonly payerId: string;
  readonly ruleVersion: string | null;
  readonly ruleIds: string | null;
  readonly evidence: readonly AppealEvidence[];
}): AppealPackage {
  const { request, decision } = input;
  const reasons = decision.reasons.map((r) => ({
    ...(r.system ? { system: r.system } : {}),
    code: r.code,
    ...(r.text ? { text: r.text } : {}),
  }));
  const clinical = input.evidence.filter((e) => e.code !== 'APPEAL_LETTER');
  const checklist: ChecklistItem[] = [
    { item: 'The payer’s decision and its reasons', present: true, note: `${reasons.length} reason code(s)` },
    {
      item: 'The criteria the payer applied',
      present: Boolean(input.ruleVersion),
      ...(input.ruleVersion ? { note: input.ruleVersion } : { note: 'ask the payer for its criteria' }),
    },
    {
      item: 'Diagnoses supporting medical necessity',
      present: request.diagnoses.length > 0,
      note: `${request.diagnoses.length} coded`,
    },
    {
      item: 'Clinical documentation (notes, reports, results)',
      present: clinical.length > 0,
      note:
        clinical.length > 0
          ? `${clinical.length} document(s) held with the case`
          : 'none held with the case: upload before approving',
    },
    {
      item: 'Letter of medical necessity / appeal letter',
      present: true,
      note: 'rendered from the template',
    },
    {
      item: 'Ordering provider identified (NPI)',
      present: Boolean(request.requestingProvider?.npi),
    },
  ];
  return {
    caseId: input.caseId,
    expedited: request.urgency === 'expedited',
    denial: {
      outcome: decision.outcome,
      reviewActionCode: decision.reviewActionCode ?? null,
      decidedAt: decision.decidedAt,
      certificationNumber: decision.certificationNumber ?? null,
      administrativeReference: decision.administrativeReference ?? null,
      reasons,
      messages: [...(decision.messages ?? [])],
    },
    criteria: { payerId: input.payerId, ruleVersion: input.ruleVersion, ruleIds: input.ruleIds },
    services: request.serviceLines.map((l) => {
      const line = decision.lines.find((d) => d.sequence === l.sequence);
      return {
        code: l.code.code,
        system: l.code.system,
        ...(l.code.display ? { display: l.code.display } : {}),
        ...(l.quantity
          ? { quantity: `${l.quantity.value}${l.quantity.unit ? ` ${l.quantity.unit}` : ''}` }
          : {}),
        ...(line?.outcome ? { outcome: line.outcome } : {}),
      };
    }),
    diagnoses: request.diagnoses.map((d) => ({
      code: d.code.code,
      system: d.code.system,
      ...(d.code.display ? { display: d.code.display } : {}),
    })),
    evidence: [...clinical],
    checklist,
  };
}
