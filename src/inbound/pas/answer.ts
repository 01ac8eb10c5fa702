/**
 * What the gateway's PAS server tells an EHR about a case, in every state, as a PAS response Bundle built by the
 * one ClaimResponse builder (src/outbound): the payer's decision when there is one; pended (A4) with the case id
 * as the reference while it is with the payer or a reviewer; an error ClaimResponse (X12 901) when the payer
 * refused it or the case failed; review action NA when prior authorization is not required.
 */
import type { Bundle } from '@medplum/fhirtypes';
import type { AuthorizationDecision, Reason } from '../../canonical/index.ts';
import {
  buildPasResponseBundle,
  type PayerInfo,
  pendingDecision,
  type TenantSettings,
} from '../../outbound/index.ts';
import type { CaseRecord } from '../../store/index.ts';
import type { Sql } from '../../store/sql.ts';
import type { CaseState } from '../../workflow/case-state-machine.ts';

const X12_901 = 'https://codesystem.x12.org/005010/901';

/** States in which the EHR gets a final answer; in the others the request is still in progress. */
export const answeredStates: ReadonlySet<CaseState> = new Set([
  'pended',
  'decided',
  'delivered',
  'rejected',
  'failed',
  'not_required',
  'cancelled',
]);

async function lastEventData(db: Sql, caseId: string): Promise<Record<string, unknown>> {
  const { rows } = await db.query<{ data: Record<string, unknown> }>(
    'SELECT data FROM case_events WHERE case_id = $1 ORDER BY seq DESC LIMIT 1',
    [caseId],
  );
  return rows[0]?.data ?? {};
}

function payerOf(record: CaseRecord, payer: PayerInfo | undefined): AuthorizationDecision['payer'] {
  const p = payer ?? {
    id: record.payerId ?? record.request.coverage.payerId,
    name: record.request.coverage.payerName,
  };
  return { id: p.id, ...(p.name ? { name: p.name } : {}) };
}

/** The decision the EHR is answered with, for the case as it is now. */
export async function decisionForEhr(
  db: Sql,
  record: CaseRecord,
  payer: PayerInfo | undefined,
  at: Date,
): Promise<AuthorizationDecision> {
  const base = {
    payer: payerOf(record, payer),
    channel: (record.channel === 'x12' || record.channel === 'portal'
      ? record.channel
      : 'pas') as AuthorizationDecision['channel'],
    decidedAt: at.toISOString(),
  };
  if (
    (record.state === 'decided' || record.state === 'delivered' || record.state === 'pended') &&
    record.decision
  ) {
    return record.decision;
  }
  if (record.state === 'not_required') {
    return {
      ...base,
      outcome: 'approved',
      reviewActionCode: 'NA',
      lines: record.request.serviceLines.map((l) => ({
        sequence: l.sequence,
        outcome: 'approved' as const,
        reviewActionCode: 'NA' as const,
      })),
      reasons: [],
      messages: ['Prior authorization is not required for these services under the payer rules in effect'],
    };
  }
  if (record.state === 'rejected' || record.state === 'failed' || record.state === 'cancelled') {
    const data = await lastEventData(db, record.id);
    const codes = Array.isArray(data.reasonCodes) ? (data.reasonCodes as unknown[]).map(String) : [];
    const reasons: Reason[] =
      record.state === 'rejected' && codes.length > 0
        ? codes.map((code) =>
            /^[0-9A-Z]{2}$/.test(code) ? { system: X12_901, code } : { code, text: `payer reason ${code}` },
          )
        : [
            {
              system: X12_901,
              code: '42',
              text: `The request could not be completed (${record.state}: ${String(data.reason ?? 'see the case')})`,
            },
          ];
    return { ...base, outcome: 'error', lines: [], reasons, messages: [`Case ${record.state}`] };
  }
  return pendingDecision(record, base.payer, at, base.channel);
}

/** The PAS response Bundle (`submit`) or inquiry response Bundle for the case as it is now. */
export async function answerForCase(
  db: Sql,
  record: CaseRecord,
  deps: {
    tenant: Pick<TenantSettings, 'id' | 'fhir'>;
    payer?: PayerInfo;
    at: Date;
    kind: 'submit' | 'inquiry';
  },
): Promise<Bundle> {
  const decision = await decisionForEhr(db, record, deps.payer, deps.at);
  return buildPasResponseBundle({
    caseRecord: record,
    tenant: deps.tenant,
    ...(deps.payer ? { payer: deps.payer } : {}),
    at: deps.at,
    decision,
    kind: deps.kind,
  });
}
