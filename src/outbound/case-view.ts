/**
 * What every outbound builder reads from a case, derived once and the same way: the payer, each service line's
 * outcome, review action, authorized units and period, the patient's least-identifying identifier, and the
 * expected reimbursement from a fee schedule. Pure.
 */
import {
  type AuthorizationDecision,
  type AuthorizationRequest,
  CodeSystem,
  type Coding,
  type Identifier,
  type LineDecision,
  type Period,
  type Quantity,
  type Reason,
  type ServiceLine,
} from '../canonical/index.ts';
import type { CaseState } from '../workflow/case-state-machine.ts';
import type { RetryContext } from '../workflow/review/retry-context.ts';
import { OutboundBuildError } from './errors.ts';

/** The part of a CaseRecord (src/store/cases.ts) the outbound builders read; a CaseRecord is one. */
export interface OutboundCase {
  readonly id: string;
  readonly tenant: string;
  readonly state: CaseState;
  readonly version: number;
  readonly request: AuthorizationRequest;
  readonly decision: AuthorizationDecision | null;
  readonly payerId?: string | null;
  readonly channel?: string | null;
  readonly slaDueAt?: Date | null;
  /** Gates, approval, submission and attempts so far (src/workflow/review/retry-context.ts), when the writer loaded it. */
  readonly retryContext?: RetryContext;
  /** When the payer's decision time ran out on the undecided case (the SLA breach flag). */
  readonly slaBreachedAt?: Date | null;
}

/** The payer as the workflow resolved it (payer directory), with its fee schedule when the rules carry one. */
export interface PayerInfo {
  readonly id: string;
  readonly name?: string;
  /** Service code → amount per authorized unit. Keys are `code` or `system|code` (the latter wins). */
  readonly feeSchedule?: Readonly<Record<string, number>>;
  /** ISO 4217 currency of the fee schedule; USD when absent. */
  readonly currency?: string;
}

/** A fee as the payer directory writes it (schemas/payer.json `Fee`): short system name (CPT) or URI, per unit. */
export interface DirectoryFee {
  readonly system: string;
  readonly code: string;
  readonly amount: number;
  readonly currency?: string;
}

/**
 * PayerInfo from a payer directory entry and its rules' fee schedule: keys become `system-uri|code`. Fees in a
 * currency other than the first one's are left out (the status event carries one currency per payer).
 */
export function payerInfoFromDirectory(payer: {
  readonly id: string;
  readonly name?: string;
  readonly feeSchedule?: readonly DirectoryFee[];
}): PayerInfo {
  const fees = payer.feeSchedule ?? [];
  const currency = fees[0]?.currency ?? 'USD';
  const schedule: Record<string, number> = {};
  for (const fee of fees) {
    if ((fee.currency ?? 'USD') !== currency) continue;
    const system = (CodeSystem as Record<string, string>)[fee.system] ?? fee.system;
    schedule[`${system}|${fee.code}`] = fee.amount;
  }
  return {
    id: payer.id,
    ...(payer.name ? { name: payer.name } : {}),
    ...(fees.length ? { feeSchedule: schedule, currency } : {}),
  };
}

export type Outcome = AuthorizationDecision['outcome'];

/** X12 306 review action code for an outcome when the payer gave none (A1, A6, A3, A4, C; none for error). */
export const defaultReviewAction: Readonly<Record<Outcome, string | undefined>> = {
  approved: 'A1',
  modified: 'A6',
  denied: 'A3',
  pended: 'A4',
  cancelled: 'C',
  error: undefined,
};

/** X12 306 display names, as the PAS examples write them. */
export const reviewActionDisplay: Readonly<Record<string, string>> = {
  A1: 'Certified in total',
  A2: 'Certified - partial',
  A3: 'Not Certified',
  A4: 'Pending',
  A6: 'Modified',
  C: 'Cancelled',
  CT: 'Contact Payer',
  NA: 'No Action Required',
};

export interface LineView {
  readonly sequence: number;
  readonly code: Coding;
  readonly modifiers: readonly string[];
  readonly requestedQuantity?: Quantity;
  readonly servicePeriod?: Period;
  readonly outcome?: Outcome;
  readonly reviewActionCode?: string;
  readonly certificationNumber?: string;
  readonly authorizedQuantity?: Quantity;
  readonly authorizedPeriod?: Period;
  readonly reasons: readonly Reason[];
  /** Amount × authorized units, when authorized and the fee schedule has the code. */
  readonly expectedReimbursement?: { amount: number; currency: string };
}

export function isAuthorized(outcome: Outcome | undefined): boolean {
  return outcome === 'approved' || outcome === 'modified';
}

export function resolvePayer(caseRecord: OutboundCase, payer?: PayerInfo): PayerInfo {
  if (payer) return payer;
  const fromDecision = caseRecord.decision?.payer;
  if (fromDecision) return { id: fromDecision.id, name: fromDecision.name };
  const coverage = caseRecord.request.coverage;
  return { id: caseRecord.payerId ?? coverage.payerId, name: coverage.payerName };
}

function roundCents(amount: number): number {
  return Math.round(amount * 100) / 100;
}

function feeFor(payer: PayerInfo, code: Coding): number | undefined {
  const schedule = payer.feeSchedule;
  if (!schedule) return undefined;
  return schedule[`${code.system}|${code.code}`] ?? schedule[code.code];
}

function lineView(
  line: ServiceLine,
  decision: AuthorizationDecision | null,
  payer: PayerInfo,
  lineCount: number,
): LineView {
  const decided: LineDecision | undefined = decision?.lines.find((l) => l.sequence === line.sequence);
  const outcome = decided?.outcome ?? decision?.outcome;
  const authorized = isAuthorized(outcome);
  const authorizedQuantity =
    decided?.authorizedQuantity ?? (authorized && outcome === 'approved' ? line.quantity : undefined);
  const authorizedPeriod = authorized ? (decided?.authorizedPeriod ?? decision?.authorizedPeriod) : undefined;
  const fee = authorized ? feeFor(payer, line.code) : undefined;
  const units = authorizedQuantity?.value ?? 1;
  return {
    sequence: line.sequence,
    code: line.code,
    modifiers: line.modifiers ?? [],
    requestedQuantity: line.quantity,
    servicePeriod: line.servicePeriod,
    outcome,
    reviewActionCode:
      decided?.reviewActionCode ??
      (decided ? undefined : decision?.reviewActionCode) ??
      (outcome ? defaultReviewAction[outcome] : undefined),
    certificationNumber:
      decided?.certificationNumber ?? (authorized ? decision?.certificationNumber : undefined),
    authorizedQuantity,
    authorizedPeriod,
    // The decision's reasons speak for a line without reasons of its own when it is the only line, when the
    // payer answered per case, or when the line shares the case's outcome (an approved line of a modified
    // decision is not "reduced per guideline").
    reasons: decided?.reasons?.length
      ? decided.reasons
      : lineCount === 1 || !decided || decided.outcome === decision?.outcome
        ? (decision?.reasons ?? [])
        : [],
    expectedReimbursement:
      fee === undefined ? undefined : { amount: roundCents(fee * units), currency: payer.currency ?? 'USD' },
  };
}

export function lineViews(caseRecord: OutboundCase, payer: PayerInfo): LineView[] {
  return [...caseRecord.request.serviceLines]
    .sort((a, b) => a.sequence - b.sequence)
    .map((line, _, all) => lineView(line, caseRecord.decision, payer, all.length));
}

/** Sum over authorized lines, only when every authorized line has an amount (else the total would mislead). */
export function totalReimbursement(
  lines: readonly LineView[],
): { amount: number; currency: string } | undefined {
  const authorized = lines.filter((l) => isAuthorized(l.outcome));
  if (authorized.length === 0) return undefined;
  const amounts = authorized.map((l) => l.expectedReimbursement);
  if (amounts.some((a) => a === undefined)) return undefined;
  const currencies = new Set(amounts.map((a) => a!.currency));
  if (currencies.size !== 1) return undefined;
  return {
    amount: roundCents(amounts.reduce((sum, a) => sum + a!.amount, 0)),
    currency: [...currencies][0]!,
  };
}

/**
 * The one patient identifier outbound documents carry: the MRN (type MR), else the patient internal id (PI),
 * else the first identifier that is not a social security number. Never a name or birth date.
 */
export function patientIdentifier(request: AuthorizationRequest): Identifier | undefined {
  const ids = request.patient.identifiers;
  return (
    ids.find((i) => i.type === 'MR') ??
    ids.find((i) => i.type === 'PI') ??
    ids.find((i) => i.type !== 'SS' && i.type !== 'SB')
  );
}

export function requireDecision(caseRecord: OutboundCase, what: string): AuthorizationDecision {
  if (!caseRecord.decision) {
    throw new OutboundBuildError(
      'PAGW_OUTBOUND_NO_DECISION',
      `Case ${caseRecord.id} (state ${caseRecord.state}) has no decision to build a ${what} from`,
    );
  }
  return caseRecord.decision;
}

/** Splits `source.sender` (MSH-3^MSH-4 for HL7 v2 senders) into application and facility. */
export function splitSender(sender: string): { application: string; facility?: string } {
  // Inbound HL7 writes MSH-3 and MSH-4 as `APP@FACILITY` (src/mapping/hl7v2/map.ts hl7Sender); `APP^FACILITY` is accepted too.
  const [application, facility] = sender.split(/[@^]/);
  return { application: application ?? sender, facility: facility || undefined };
}
