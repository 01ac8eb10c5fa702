/**
 * The case-outbound planner: one function every writer of case transitions calls (inbound, the workflow, the
 * review gate), so every state change publishes its status event — and ClaimResponse, HL7 v2 status and care-team
 * e-mail where they apply — in the transition's own transaction. Pure: the payer directory and the clinic
 * settings are passed in.
 */
import type { OutboxMessage } from '../store/outbox.ts';
import type { CaseEventType, CaseState } from '../workflow/case-state-machine.ts';
import { type PayerDirectory, ruleVersionAt } from '../workflow/rules/index.ts';
import { type OutboundCase, type PayerInfo, payerInfoFromDirectory } from './case-view.ts';
import { type OutboundTopics, outboundFor } from './outbound.ts';
import type { TenantSettings } from './tenant.ts';

export interface CaseOutboundInput {
  readonly event: CaseEventType | 'received';
  /** The case after the transition. */
  readonly after: OutboundCase & { readonly payerId?: string | null };
  readonly previousState: CaseState | null;
  readonly at: Date;
}

export type CaseOutboundPlanner = (input: CaseOutboundInput) => OutboxMessage[];

export interface CaseOutboundPlannerDeps {
  readonly tenants: { get(tenant: string): Readonly<TenantSettings> };
  /** config.topics; `notifications` is left out when no SMTP server is configured (no e-mail jobs then). */
  readonly topics: OutboundTopics;
  readonly payers?: PayerDirectory;
}

/** The payer's name and, from the rule version in effect, its fee schedule (for expected reimbursement). */
export function payerInfoFor(
  payers: PayerDirectory | undefined,
  after: CaseOutboundInput['after'],
  at: Date,
): PayerInfo | undefined {
  const payer = after.payerId ? payers?.byId(after.payerId) : payers?.find(after.request.coverage);
  if (!payer) return undefined;
  let feeSchedule: ReturnType<typeof ruleVersionAt>['feeSchedule'];
  try {
    feeSchedule = ruleVersionAt(payer, at).feeSchedule;
  } catch {
    feeSchedule = undefined; // no rule version in effect: no expected reimbursement, nothing else changes
  }
  return payerInfoFromDirectory({ id: payer.id, name: payer.name, ...(feeSchedule ? { feeSchedule } : {}) });
}

export function createCaseOutboundPlanner(deps: CaseOutboundPlannerDeps): CaseOutboundPlanner {
  return ({ event, after, previousState, at }) => {
    const payer = payerInfoFor(deps.payers, after, at);
    return outboundFor({
      event,
      caseRecord: after,
      previousState,
      ...(payer ? { payer } : {}),
      tenant: deps.tenants.get(after.tenant),
      topics: deps.topics,
      at,
    }).outbox;
  };
}
