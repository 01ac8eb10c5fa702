/**
 * What each role may read of a case: minimum necessary (issue #10 item 10). The people and systems that act on
 * the clinical request (the EHR, reviewers, admins) read the whole case; ERP and scheduling systems read the
 * operational view only: the services, their dates and units, the status and the expected reimbursement, matched
 * on the order number. Never in that view: the canonical request (patient name, birth date, MRN, member id,
 * address, providers, diagnoses, notes), the payer's free text, or the raw payer exchanges.
 * Pure: the routes pick the view and pass the payer's fee schedule in.
 */
import type { AuthorizationDecision } from '../canonical/index.ts';
import {
  isAuthorized,
  type LineView,
  lineViews,
  type OutboundCase,
  type PayerInfo,
  resolvePayer,
  totalReimbursement,
} from '../outbound/case-view.ts';
import type { ApiRole } from '../store/tokens.ts';

export type CaseView = 'full' | 'operational';

/** Roles that read the whole case (they send the order or decide on it). Any other reader gets the operational view. */
export const fullCaseViewRoles: readonly ApiRole[] = [
  'ehr',
  'reviewer',
  'utilization_reviewer',
  'medical_director',
  'pharmacist',
  'admin',
];

/** The view a token gets: the widest any of its roles allows. */
export function caseViewFor(roles: readonly ApiRole[]): CaseView {
  return roles.some((role) => fullCaseViewRoles.includes(role)) ? 'full' : 'operational';
}

/** Looks up the payer's name and fee schedule for a case (the planner's payer directory); optional. */
export type PayerInfoLookup = (
  record: OutboundCase & { payerId?: string | null },
  at: Date,
) => PayerInfo | undefined;

function service(view: LineView) {
  return {
    sequence: view.sequence,
    code: {
      system: view.code.system,
      code: view.code.code,
      ...(view.code.display ? { display: view.code.display } : {}),
    },
    modifiers: view.modifiers,
    requestedQuantity: view.requestedQuantity ?? null,
    servicePeriod: view.servicePeriod ?? null,
    outcome: view.outcome ?? null,
    reviewActionCode: view.reviewActionCode ?? null,
    authorizedQuantity: view.authorizedQuantity ?? null,
    authorizedPeriod: view.authorizedPeriod ?? null,
    certificationNumber: view.certificationNumber ?? null,
    // Codes only: the payer's reason text is free text and may name the patient.
    reasonCodes: view.reasons.map((r) => ({ ...(r.system ? { system: r.system } : {}), code: r.code })),
    expectedReimbursement: view.expectedReimbursement ?? null,
  };
}

/** The decision without free text (messages, reason text) or the stored payer message's id. */
export function operationalDecision(decision: AuthorizationDecision | null) {
  if (!decision) return null;
  return {
    outcome: decision.outcome,
    reviewActionCode: decision.reviewActionCode ?? null,
    certificationNumber: isAuthorized(decision.outcome) ? (decision.certificationNumber ?? null) : null,
    administrativeReference: decision.administrativeReference ?? null,
    authorizedPeriod: decision.authorizedPeriod ?? null,
    followUp: decision.followUp ?? null,
    decidedAt: decision.decidedAt,
    payer: { id: decision.payer.id, ...(decision.payer.name ? { name: decision.payer.name } : {}) },
    channel: decision.channel,
  };
}

/** The operational view of a case: what ERP and scheduling need to plan, nothing about the patient. */
export function operationalCase(record: OutboundCase, payer?: PayerInfo) {
  const resolved = resolvePayer(record, payer);
  const lines = lineViews(record, resolved);
  const order = record.request.orderReference ?? {};
  return {
    order: {
      sourceFormat: record.request.source.format,
      ...(order.placerOrderNumber ? { placerOrderNumber: order.placerOrderNumber } : {}),
      ...(order.fillerOrderNumber ? { fillerOrderNumber: order.fillerOrderNumber } : {}),
      ...(order.placerGroupNumber ? { placerGroupNumber: order.placerGroupNumber } : {}),
    },
    urgency: record.request.urgency,
    authorized:
      record.state === 'not_required' || (record.decision ? isAuthorized(record.decision.outcome) : false),
    services: lines.map(service),
    expectedReimbursement: totalReimbursement(lines) ?? null,
    decision: operationalDecision(record.decision),
  };
}
