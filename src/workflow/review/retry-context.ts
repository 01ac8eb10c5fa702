/**
 * The retry context of a case: what a resumed or redelivered workflow — and a person or system looking at the
 * case — needs to know so it neither asks again for an approval it has nor submits again what was sent. Pure:
 * built from the case's gates, approvals, events and payer exchanges (the store loads them).
 */
import type { AuthorizationDecision } from '../../canonical/index.ts';

export interface GateFact {
  readonly seq: number;
  readonly status: string;
  readonly openedAt: Date;
  readonly closedAt: Date | null;
  readonly requiredRole: string;
  readonly approvalsRequired: number;
  readonly submissionKey: string;
}

export interface ApprovalFact {
  readonly gateSeq: number;
  readonly approver: string;
  readonly role: string;
  readonly at: Date;
}

export interface EventFact {
  readonly event: string;
  readonly actor: string;
  readonly at: Date;
  readonly data: Record<string, unknown>;
}

export interface ExchangeFact {
  readonly channel: string;
  readonly purpose: string;
  readonly status: string;
  readonly traceNumber: string;
  readonly createdAt: Date;
}

export interface RetryContext {
  readonly gates: {
    readonly count: number;
    readonly firstOpenedAt: string | null;
    readonly lastOpenedAt: string | null;
    readonly open: {
      readonly seq: number;
      readonly requiredRole: string;
      readonly approvals: number;
      readonly approvalsRequired: number;
    } | null;
  };
  readonly lastDecision: {
    readonly action: string;
    readonly by: string;
    readonly at: string;
    readonly gateSeq: number | null;
    readonly reasonCode?: string;
  } | null;
  readonly approval: {
    readonly landed: boolean;
    readonly gateSeq: number | null;
    readonly submissionKey: string | null;
    readonly at: string | null;
    readonly approvers: string[];
  };
  readonly submission: {
    /** Whether a submission reached (or may have reached) the payer. */
    readonly fired: boolean;
    /** Whether one is live at the payer (in flight, unresolved or answered). */
    readonly live: boolean;
    readonly traceNumber: string | null;
    readonly firstAt: string | null;
    readonly lastAt: string | null;
    readonly submissionKey: string | null;
    readonly confirmation: {
      readonly certificationNumber?: string;
      readonly administrativeReference?: string;
    } | null;
  };
  /** Payer exchanges per channel: how many of each purpose, and when the first and last were made. */
  readonly attempts: Record<
    string,
    {
      readonly total: number;
      readonly byPurpose: Record<string, number>;
      readonly firstAt: string;
      readonly lastAt: string;
    }
  >;
  readonly firstAttemptAt: string | null;
  readonly lastAttemptAt: string | null;
}

const iso = (d: Date | null | undefined) => (d ? d.toISOString() : null);
const liveStatuses = new Set(['sending', 'unknown', 'answered']);
const reviewActions = new Set(['approve', 'reject', 'request_changes', 'escalate', 'submitted_externally']);

export function buildRetryContext(input: {
  gates: readonly GateFact[];
  approvals: readonly ApprovalFact[];
  events: readonly EventFact[];
  exchanges: readonly ExchangeFact[];
  submissionKey: string | null;
  decision: AuthorizationDecision | null;
}): RetryContext {
  const gates = [...input.gates].sort((a, b) => a.seq - b.seq);
  const open = gates.find((g) => g.status === 'open');
  const approved = gates.filter((g) => g.status === 'approved').at(-1);

  // The last decision at a gate: a reviewer's action (an event), a first-of-two approval (an approval row
  // only), or an expiry — whichever came last.
  const decisions: Array<NonNullable<RetryContext['lastDecision']> & { t: number }> = [];
  for (const e of input.events) {
    const review =
      typeof e.data.review === 'string' && reviewActions.has(e.data.review) ? e.data.review : undefined;
    const expired = e.data.reason === 'REVIEW_EXPIRED' ? 'expired' : undefined;
    const action = review ?? expired;
    if (!action) continue;
    decisions.push({
      action,
      by: e.actor,
      at: e.at.toISOString(),
      gateSeq: typeof e.data.gateSeq === 'number' ? e.data.gateSeq : null,
      ...(typeof e.data.reasonCode === 'string' ? { reasonCode: e.data.reasonCode } : {}),
      t: e.at.getTime(),
    });
  }
  for (const a of input.approvals)
    decisions.push({
      action: 'approve',
      by: a.approver,
      at: a.at.toISOString(),
      gateSeq: a.gateSeq,
      t: a.at.getTime() - 0.5,
    });
  decisions.sort((a, b) => a.t - b.t);
  const last = decisions.at(-1);

  const submits = input.exchanges.filter((x) => x.purpose === 'submit');
  const fired = submits.filter((x) => x.status !== 'failed' && x.status !== 'not_received');
  const attempts: Record<
    string,
    { total: number; byPurpose: Record<string, number>; firstAt: string; lastAt: string }
  > = {};
  for (const x of [...input.exchanges].sort((a, b) => a.createdAt.getTime() - b.createdAt.getTime())) {
    const at = x.createdAt.toISOString();
    attempts[x.channel] ??= { total: 0, byPurpose: {}, firstAt: at, lastAt: at };
    const entry = attempts[x.channel]!;
    entry.total++;
    entry.byPurpose[x.purpose] = (entry.byPurpose[x.purpose] ?? 0) + 1;
    entry.lastAt = at;
  }
  const times = input.exchanges.map((x) => x.createdAt.getTime());
  const decision = input.decision;
  const confirmation =
    decision && (decision.certificationNumber || decision.administrativeReference)
      ? {
          ...(decision.certificationNumber ? { certificationNumber: decision.certificationNumber } : {}),
          ...(decision.administrativeReference
            ? { administrativeReference: decision.administrativeReference }
            : {}),
        }
      : null;
  return {
    gates: {
      count: gates.length,
      firstOpenedAt: iso(gates[0]?.openedAt),
      lastOpenedAt: iso(gates.at(-1)?.openedAt),
      open: open
        ? {
            seq: open.seq,
            requiredRole: open.requiredRole,
            approvals: input.approvals.filter((a) => a.gateSeq === open.seq).length,
            approvalsRequired: open.approvalsRequired,
          }
        : null,
    },
    lastDecision: last
      ? {
          action: last.action,
          by: last.by,
          at: last.at,
          gateSeq: last.gateSeq,
          ...(last.reasonCode ? { reasonCode: last.reasonCode } : {}),
        }
      : null,
    approval: {
      landed: approved !== undefined,
      gateSeq: approved?.seq ?? null,
      submissionKey: approved?.submissionKey ?? null,
      at: iso(approved?.closedAt),
      approvers: approved
        ? input.approvals.filter((a) => a.gateSeq === approved.seq).map((a) => a.approver)
        : [],
    },
    submission: {
      fired: fired.length > 0,
      live: submits.some((x) => liveStatuses.has(x.status)),
      traceNumber: submits[0]?.traceNumber ?? null,
      firstAt: iso(fired[0]?.createdAt),
      lastAt: iso(fired.at(-1)?.createdAt),
      submissionKey: input.submissionKey,
      confirmation,
    },
    attempts,
    firstAttemptAt: times.length ? new Date(Math.min(...times)).toISOString() : null,
    lastAttemptAt: times.length ? new Date(Math.max(...times)).toISOString() : null,
  };
}
