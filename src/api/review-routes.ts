/**
 * The human review gate. A reviewer's decision is BOUND to the exact case version, patient and services they
 * saw: the request must repeat them, and a mismatch (a stale screen, the wrong patient's tab) changes nothing.
 *
 *   GET  /review/queue          cases awaiting review, with what a decision must repeat
 *   POST /cases/:id/review      { action: approve|reject, caseVersion, patientIdentifier: {system?, value},
 *                                 serviceCodes: [{system, code}] }
 * Free-text notes are not taken: case events and the audit log hold codes and ids, never PHI.
 */
import { Router } from 'express';
import type { Actor } from '../audit/audit-log.ts';
import type { Clock } from '../clock.ts';
import { GatewayError, NotFoundError, StateTransitionError } from '../errors/index.ts';
import type { CaseOutboundPlanner } from '../outbound/planner.ts';
import {
  type CaseRecord,
  type Database,
  getCase,
  listCases,
  transitionCase,
  withTransaction,
} from '../store/index.ts';
import { scheduleAdvance } from '../workers/case-advancer.ts';
import { principalOf, requireRole } from './auth.ts';

interface ReviewBody {
  action?: unknown;
  caseVersion?: unknown;
  patientIdentifier?: { system?: unknown; value?: unknown };
  serviceCodes?: Array<{ system?: unknown; code?: unknown }>;
}

function binding(record: CaseRecord) {
  return {
    caseVersion: record.version,
    patientIdentifiers: record.request.patient.identifiers.map((id) => ({
      system: id.system,
      value: id.value,
      type: id.type,
    })),
    serviceCodes: record.request.serviceLines.map((line) => ({
      system: line.code.system,
      code: line.code.code,
      display: line.code.display,
    })),
  };
}

function codeKey(system: unknown, code: unknown): string {
  return `${String(system)}|${String(code)}`;
}

/** Checks the decision repeats the case's version, one of its patient identifiers and exactly its services. */
function checkBinding(record: CaseRecord, body: ReviewBody): void {
  const problems: Array<{ location: string; message: string }> = [];
  if (body.caseVersion !== record.version) {
    problems.push({
      location: 'caseVersion',
      message: `the case is at version ${record.version}; reload it and review again`,
    });
  }
  const id = body.patientIdentifier;
  const patientMatches =
    typeof id?.value === 'string' &&
    record.request.patient.identifiers.some(
      (known) => known.value === id.value && (id.system === undefined || id.system === known.system),
    );
  if (!patientMatches)
    problems.push({ location: 'patientIdentifier', message: 'does not identify this case’s patient' });
  const asked = new Set(record.request.serviceLines.map((l) => codeKey(l.code.system, l.code.code)));
  const given = new Set(
    (Array.isArray(body.serviceCodes) ? body.serviceCodes : []).map((c) => codeKey(c.system, c.code)),
  );
  if (asked.size !== given.size || [...asked].some((k) => !given.has(k))) {
    problems.push({ location: 'serviceCodes', message: 'must list exactly the services of this case' });
  }
  if (problems.length > 0) {
    throw new GatewayError(
      'PAGW_REVIEW_BINDING_MISMATCH',
      'The review decision does not match this case; nothing was changed',
      { problems },
    );
  }
}

export function reviewRouter(deps: { db: Database; clock: Clock; outbound?: CaseOutboundPlanner }): Router {
  const router = Router();
  const reviewers = requireRole('reviewer');

  router.get('/review/queue', reviewers, async (_req, res) => {
    const records = await listCases(deps.db.pool, principalOf(res).tenant, {
      state: 'awaiting_review',
      limit: 200,
    });
    res.json({
      items: records.map((record) => ({
        id: record.id,
        payerId: record.payerId,
        ruleVersion: record.ruleVersion,
        slaDueAt: record.slaDueAt,
        urgency: record.request.urgency,
        ...binding(record),
      })),
    });
  });

  router.post('/cases/:id/review', reviewers, async (req, res) => {
    const principal = principalOf(res);
    const body = (req.body ?? {}) as ReviewBody;
    if (body.action !== 'approve' && body.action !== 'reject') {
      throw new GatewayError('PAGW_HTTP_BAD_REQUEST', 'action must be "approve" or "reject"', {
        problems: [{ location: 'action', message: 'must be "approve" or "reject"' }],
      });
    }
    const record = await getCase(deps.db.pool, principal.tenant, req.params.id as string);
    if (!record) throw new NotFoundError('PAGW_CASE_NOT_FOUND', 'Case not found');
    if (record.state !== 'awaiting_review') {
      throw new StateTransitionError(
        'PAGW_CASE_ILLEGAL_TRANSITION',
        `The case is ${record.state}, not awaiting review`,
      );
    }
    checkBinding(record, body);
    const onBehalfOf = req.header('x-on-behalf-of');
    const actor: Actor = {
      id: `token:${principal.tokenId}${principal.label ? `(${principal.label})` : ''}`,
      onBehalfOf:
        onBehalfOf && /^[\w.@:+-]{1,128}$/.test(onBehalfOf) ? onBehalfOf : `tenant:${principal.tenant}`,
    };
    const at = deps.clock.now();
    const event = body.action === 'approve' ? 'submitted' : 'rejected';
    const after = await withTransaction(deps.db.pool, async (tx) => {
      const result = await transitionCase(tx, {
        tenant: principal.tenant,
        caseId: record.id,
        event,
        actor,
        at,
        expectedVersion: record.version,
        data: {
          review: body.action,
          reason: body.action === 'reject' ? 'REVIEW_REJECTED' : undefined,
          boundPatient: body.patientIdentifier?.value === undefined ? undefined : 'matched',
          boundServices: record.request.serviceLines.length,
        },
        outbox: (afterRecord, beforeRecord) =>
          deps.outbound?.({ event, after: afterRecord, previousState: beforeRecord.state, at }) ?? [],
      });
      if (event === 'submitted') await scheduleAdvance(tx, record, at, at);
      return result.after;
    });
    res.json({ id: after.id, state: after.state, version: after.version });
  });

  return router;
}
