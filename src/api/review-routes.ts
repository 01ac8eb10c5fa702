/**
 * The human review gate over HTTP. A reviewer's decision is BOUND to the exact request they saw: the case
 * version, a patient identifier, the services and the submission key (docs/review.md). A mismatch — a stale
 * screen, the wrong patient's tab, an approval replayed against another request — changes nothing, answers 409
 * and leaves an audit row.
 *
 *   GET  /review/queue          cases awaiting review: the gate (role, approvals, expiry, policy) and `mustRepeat`
 *   GET  /review/shadow-accuracy  shadow mode: how often the gateway's prepared request went out as prepared
 *   POST /cases/:id/review      { action: approve | reject | request_changes | escalate | submitted_externally,
 *                                 submissionKey, caseVersion, patientIdentifier: {system?, value},
 *                                 serviceCodes: [{system, code}], reasonCode?, changes?, escalateTo?, draftAccepted? }
 * Free-text notes are not taken: case events and the audit log hold codes and ids, never PHI.
 */
import { Router } from 'express';
import type { Clock } from '../clock.ts';
import { GatewayError, NotFoundError } from '../errors/index.ts';
import type { CaseOutboundPlanner } from '../outbound/planner.ts';
import {
  type CaseRecord,
  type Database,
  type GateRecord,
  listApprovals,
  listCases,
  openGatesOf,
  withTransaction,
} from '../store/index.ts';
import { mayDecide, reviewerRoles } from '../workflow/review/gate.ts';
import { submissionKeyFor } from '../workflow/review/submission-key.ts';
import { actorOf, principalOf, requireRole } from './auth.ts';
import { type ReviewBody, reviewActions } from './review-binding.ts';
import { type DecisionDeps, decideReview } from './review-decisions.ts';

export interface ReviewRouterDeps {
  db: Database;
  clock: Clock;
  outbound?: CaseOutboundPlanner;
  /** The submission key of a case as it stands (the payer as the directory resolves it); see wiring. */
  keyFor?: DecisionDeps['keyFor'];
  regate?: DecisionDeps['regate'];
}

/** Without the payer directory: the case's routed payer, or the payer id the order named. */
export function defaultKeyFor(record: CaseRecord): string {
  return submissionKeyFor(record.request, record.payerId ?? record.request.coverage.payerId);
}

function describeGate(gate: GateRecord | undefined, record: CaseRecord, approvals: number) {
  if (!gate)
    return {
      seq: null,
      reason: 'payer_rule',
      rolloutMode: 'auto',
      requiredRole: 'reviewer',
      approvalsRequired: 1,
      approvals: 0,
      severity: 'normal',
      expiresAt: null,
      policy: { id: 'payer-rule', version: record.ruleVersion },
    };
  return {
    seq: gate.seq,
    reason: gate.reason,
    rolloutMode: gate.rolloutMode,
    requiredRole: gate.requiredRole,
    approvalsRequired: gate.approvalsRequired,
    approvals,
    severity: gate.severity,
    expiresAt: gate.expiresAt,
    onExpiry: gate.onExpiry ?? null,
    policy: gate.policyId ? { id: gate.policyId, version: gate.policyVersion } : null,
    facts: gate.facts,
  };
}

export function reviewRouter(deps: ReviewRouterDeps): Router {
  const router = Router();
  const reviewers = requireRole(...reviewerRoles);
  const keyFor = deps.keyFor ?? defaultKeyFor;

  router.get('/review/queue', reviewers, async (_req, res) => {
    const principal = principalOf(res);
    const records = await listCases(deps.db.pool, principal.tenant, { state: 'awaiting_review', limit: 200 });
    const gates = new Map(
      (
        await openGatesOf(
          deps.db.pool,
          principal.tenant,
          records.map((r) => r.id),
        )
      ).map((g) => [g.caseId, g]),
    );
    const me = actorOf(principal).id;
    const items = [];
    for (const record of records) {
      const gate = gates.get(record.id);
      const approvals = gate
        ? (await listApprovals(deps.db.pool, principal.tenant, record.id)).filter(
            (a) => a.gateSeq === gate.seq,
          )
        : [];
      const submissionKey = gate?.submissionKey ?? keyFor(record);
      const patientIdentifiers = record.request.patient.identifiers.map((id) => ({
        system: id.system,
        value: id.value,
        type: id.type,
      }));
      const serviceCodes = record.request.serviceLines.map((line) => ({
        system: line.code.system,
        code: line.code.code,
        display: line.code.display,
        quantity: line.quantity,
      }));
      items.push({
        id: record.id,
        payerId: record.payerId,
        ruleVersion: record.ruleVersion,
        slaDueAt: record.slaDueAt,
        urgency: record.request.urgency,
        caseVersion: record.version,
        patientIdentifiers,
        serviceCodes,
        submissionKey,
        gate: describeGate(gate, record, approvals.length),
        // A drafted pharmacy request: the checklist the pharmacist signs off (met / not met / unknown + evidence).
        ...(record.request.clinicalCriteria ? { checklist: record.request.clinicalCriteria } : {}),
        canDecide:
          mayDecide(principal.roles, gate?.requiredRole ?? 'reviewer') &&
          !approvals.some((a) => a.approver === me),
        // Exactly what a decision sends back (any one of the patient identifiers will do).
        mustRepeat: {
          submissionKey,
          caseVersion: record.version,
          patientIdentifiers,
          serviceCodes: serviceCodes.map((s) => ({ system: s.system, code: s.code })),
        },
      });
    }
    res.json({ items });
  });

  // Shadow mode's measure: of the submissions a person made from the gateway's prepared request, how many went
  // as prepared (draftAccepted), per service line — the number that says a line is ready for assistive or auto.
  router.get('/review/shadow-accuracy', reviewers, async (_req, res) => {
    const { rows } = await deps.db.pool.query<{ line: string | null; handed_off: number; accepted: number }>(
      `SELECT line, count(*)::int AS handed_off,
              count(*) FILTER (WHERE (e.data ->> 'draftAccepted')::boolean)::int AS accepted
         FROM review_gates g
         JOIN case_events e ON e.case_id = g.case_id AND e.event = 'cancelled' AND e.data ->> 'review' = 'submitted_externally'
         LEFT JOIN LATERAL jsonb_array_elements_text(coalesce(g.facts -> 'serviceCategory', '[]'::jsonb)) AS line ON true
        WHERE g.tenant_id = $1 AND g.status = 'handed_off'
        GROUP BY line ORDER BY line`,
      [principalOf(res).tenant],
    );
    const serviceLines = Object.fromEntries(
      rows.map((r) => [
        r.line ?? 'uncategorized',
        {
          handedOff: r.handed_off,
          draftAccepted: r.accepted,
          accuracy: r.handed_off ? r.accepted / r.handed_off : null,
        },
      ]),
    );
    res.json({ serviceLines });
  });

  router.post('/cases/:id/review', reviewers, async (req, res) => {
    const principal = principalOf(res);
    const raw = (req.body ?? {}) as Record<string, unknown>;
    if (!(reviewActions as readonly unknown[]).includes(raw.action)) {
      throw new GatewayError('PAGW_HTTP_BAD_REQUEST', `action must be one of: ${reviewActions.join(', ')}`, {
        problems: [{ location: 'action', message: `must be one of: ${reviewActions.join(', ')}` }],
      });
    }
    const body = raw as unknown as ReviewBody;
    if (body.patientIdentifier === undefined && Array.isArray(raw.patientIdentifiers))
      body.patientIdentifier = (raw.patientIdentifiers as ReviewBody['patientIdentifier'][])[0];
    const at = deps.clock.now();
    const result = await withTransaction(deps.db.pool, (tx) =>
      decideReview(
        tx,
        { outbound: deps.outbound, keyFor, regate: deps.regate },
        { principal, actor: actorOf(principal), caseId: req.params.id as string, body, at },
      ),
    );
    // Another tenant's case answers exactly like a missing one.
    if (!result) throw new NotFoundError('PAGW_CASE_NOT_FOUND', 'Case not found');
    if (result.kind === 'refused') throw result.error;
    res.status(result.status).json(result.body);
  });

  return router;
}
