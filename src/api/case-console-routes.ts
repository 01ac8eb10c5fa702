/**
 * API routes the console reads (any client may use them; same tokens, roles and tenant scoping as the rest):
 *
 *   GET  /whoami                                   the token's tenant, roles and label
 *   POST /cases/_search                            filtered, keyset-paged case list; the search term (a case id
 *                                                  or an order id) and filters travel in the BODY, never a URL
 *   GET  /cases/:id/timeline                       events, payer exchanges, audit rows, decision, ClaimResponse
 *   GET  /cases/:id/exchanges/:exchangeId/evidence the raw 278 / PAS / portal evidence of one exchange
 *                                                  (PHI: admin and reviewer roles only; every view is audited)
 *   GET  /cases/:id/evidence/:evidenceId           one portal screenshot (image/png; same roles, audited); the
 *                                                  timeline lists them (`evidence`)
 * (GET /exceptions, the task queue, is in task-routes.ts.)
 * Another tenant's case answers 404, exactly like a missing one. ERP and scheduling tokens read the timeline in the
 * operational view (case-views.ts): the decision without free text, exchanges without the parsed payer answer,
 * audit rows without details, plus the services, units, dates and expected reimbursement.
 */
import { Router } from 'express';
import { appendAudit } from '../audit/audit-log.ts';
import type { Clock } from '../clock.ts';
import { GatewayError, NotFoundError } from '../errors/index.ts';
import {
  type CaseSearch,
  getCaseFacts,
  getRawExchange,
  lastPublishedJson,
  listCaseAudit,
  listPayerExchanges,
  type SlaRisk,
  searchCases,
  slaRisks,
} from '../store/case-console.ts';
import {
  type ApiRole,
  type Database,
  getCase,
  listCaseEvents,
  uuidPattern,
  withTransaction,
} from '../store/index.ts';
import { openSubmissionPayloads } from '../store/payer-payloads.ts';
import { listEvidence, openEvidence } from '../store/portal-evidence.ts';
import type { PhiCipher } from '../vault/phi.ts';
import { caseStates, isCaseState } from '../workflow/case-state-machine.ts';
import { principalOf, requireRole } from './auth.ts';
import { caseViewFor, operationalCase, type PayerInfoLookup } from './case-views.ts';

/** Roles that may list and read cases in the console (codes, states and times: no demographics). */
export const caseReaderRoles: ApiRole[] = [
  'ehr',
  'reviewer',
  'utilization_reviewer',
  'medical_director',
  'pharmacist',
  'erp',
  'scheduling',
  'admin',
];
/** Roles that may open raw payer exchanges (full PHI): the people who review cases, and admins. */
export const evidenceRoles: ApiRole[] = [
  'reviewer',
  'utilization_reviewer',
  'medical_director',
  'pharmacist',
  'admin',
];
/** Roles that may read the ClaimResponse sent to the EHR (it names the patient by reference). */
export const claimResponseRoles: ApiRole[] = [...evidenceRoles, 'ehr'];

function holdsAny(roles: readonly ApiRole[], allowed: readonly ApiRole[]): boolean {
  return roles.includes('admin') || roles.some((r) => allowed.includes(r));
}

function badRequest(location: string, message: string): never {
  throw new GatewayError('PAGW_HTTP_BAD_REQUEST', `${location} ${message}`, {
    problems: [{ location, message }],
  });
}

function encodeCursor(item: { updatedAt: Date; id: string }): string {
  return Buffer.from(JSON.stringify([item.updatedAt.toISOString(), item.id])).toString('base64url');
}

function decodeCursor(cursor: unknown): { updatedAt: Date; id: string } {
  try {
    const [at, id] = JSON.parse(Buffer.from(String(cursor), 'base64url').toString('utf8')) as [
      string,
      string,
    ];
    const updatedAt = new Date(at);
    if (Number.isNaN(updatedAt.getTime()) || !uuidPattern.test(id)) throw new Error('bad cursor');
    return { updatedAt, id };
  } catch {
    return badRequest('cursor', 'is not one this API returned');
  }
}

const facetPattern = /^[\w.:|/-]{1,128}$/;

/** Reads the search body; one problem per bad field. */
function readSearch(body: Record<string, unknown>, now: Date): CaseSearch {
  const text = (name: string): string | undefined => {
    const value = body[name];
    if (value === undefined || value === null || value === '') return undefined;
    if (typeof value !== 'string' || !facetPattern.test(value.trim()))
      return badRequest(name, 'must be an id or code (letters, digits, . : | / - _)');
    return value.trim();
  };
  const state = text('state');
  if (state !== undefined && !isCaseState(state))
    badRequest('state', `must be one of: ${caseStates.join(', ')}`);
  const urgency = text('urgency');
  if (urgency !== undefined && urgency !== 'standard' && urgency !== 'expedited')
    badRequest('urgency', 'must be standard or expedited');
  const slaRisk = text('slaRisk');
  if (slaRisk !== undefined && !(slaRisks as readonly string[]).includes(slaRisk))
    badRequest('slaRisk', `must be one of: ${slaRisks.join(', ')}`);
  const limit = body.limit === undefined ? 50 : body.limit;
  if (typeof limit !== 'number' || !Number.isInteger(limit) || limit < 1 || limit > 200)
    badRequest('limit', 'must be an integer from 1 to 200');
  // A case id or an order id as the EHR wrote it (placer numbers may hold ^, spaces …): any printable text.
  const rawTerm = body.term;
  if (
    rawTerm !== undefined &&
    rawTerm !== null &&
    (typeof rawTerm !== 'string' || !/^[^\p{Cc}]{0,128}$/u.test(rawTerm))
  )
    badRequest('term', 'must be a case id or an order id (up to 128 printable characters)');
  const term = typeof rawTerm === 'string' && rawTerm.trim() !== '' ? rawTerm.trim() : undefined;
  return {
    term,
    state: state as CaseSearch['state'],
    payer: text('payer'),
    service: text('service'),
    channel: text('channel'),
    urgency: urgency as CaseSearch['urgency'],
    slaRisk: slaRisk as SlaRisk | undefined,
    after: body.cursor ? decodeCursor(body.cursor) : undefined,
    limit: limit as number,
    now,
  };
}

export function caseConsoleRouter(deps: {
  db: Database;
  clock: Clock;
  claimResponseTopic: string;
  /** Fee schedules for the operational view's expected reimbursement. */
  payerInfo?: PayerInfoLookup;
  /** Opens sealed payer payloads and portal screenshots (the vault's PHI cipher). */
  phi: Pick<PhiCipher, 'openText' | 'open'>;
}): Router {
  const router = Router();
  const sql = deps.db.pool;
  const readers = requireRole(...caseReaderRoles);

  router.get('/whoami', (_req, res) => {
    const { tenant, roles, label } = principalOf(res);
    res.json({ tenant, roles, label });
  });

  router.post('/cases/_search', readers, async (req, res) => {
    const body = req.body && typeof req.body === 'object' ? (req.body as Record<string, unknown>) : {};
    const search = readSearch(body, deps.clock.now());
    const items = await searchCases(sql, principalOf(res).tenant, search);
    res.setHeader('cache-control', 'no-store');
    res.json({ items, next: items.length === search.limit ? encodeCursor(items.at(-1)!) : null });
  });

  router.get('/cases/:id/timeline', readers, async (req, res) => {
    const principal = principalOf(res);
    const record = await getCase(sql, principal.tenant, req.params.id as string);
    if (!record) throw new NotFoundError('PAGW_CASE_NOT_FOUND', 'Case not found');
    const [facts, events, exchanges, audit, evidence] = await Promise.all([
      getCaseFacts(sql, principal.tenant, record.id),
      listCaseEvents(sql, principal.tenant, record.id),
      listPayerExchanges(sql, principal.tenant, record.id),
      listCaseAudit(sql, principal.tenant, record.id),
      listEvidence(sql, principal.tenant, record.id),
    ]);
    const claimResponse = holdsAny(principal.roles, claimResponseRoles)
      ? await lastPublishedJson(sql, principal.tenant, record.id, deps.claimResponseTopic)
      : undefined;
    res.setHeader('cache-control', 'no-store');
    const summary = {
      id: record.id,
      state: record.state,
      version: record.version,
      payerId: record.payerId,
      channel: record.channel,
      ruleVersion: record.ruleVersion,
      slaDueAt: record.slaDueAt,
      slaBreachedAt: record.slaBreachedAt ?? null,
      createdAt: record.createdAt,
      updatedAt: record.updatedAt,
      outcome: record.decision?.outcome ?? null,
      ...facts,
    };
    if (caseViewFor(principal.roles) === 'operational') {
      const { decision, ...operational } = operationalCase(
        record,
        deps.payerInfo?.(record, deps.clock.now()),
      );
      res.json({
        view: 'operational',
        case: { ...summary, ...operational },
        decision,
        events,
        exchanges: exchanges.map(({ outcome: _parsedAnswer, ...exchange }) => exchange),
        audit: audit.map(({ details: _details, ...row }) => row),
        evidenceAllowed: false,
      });
      return;
    }
    res.json({
      view: 'full',
      case: summary,
      decision: record.decision,
      events,
      exchanges,
      // Portal screenshots kept with the case (metadata; the image is one audited request away).
      evidence,
      audit,
      // undefined (left out) when the role may not see it; null when there is none yet.
      ...(claimResponse === undefined ? {} : { claimResponse }),
      evidenceAllowed: holdsAny(principal.roles, evidenceRoles),
    });
  });

  router.get('/cases/:id/exchanges/:exchangeId/evidence', requireRole(...evidenceRoles), async (req, res) => {
    const principal = principalOf(res);
    const caseId = req.params.id as string;
    const exchange = (await getCase(sql, principal.tenant, caseId))
      ? await getRawExchange(sql, principal.tenant, caseId, req.params.exchangeId as string)
      : null;
    if (!exchange) throw new NotFoundError('PAGW_CASE_NOT_FOUND', 'No such payer exchange for this case');
    // Opening raw evidence is a read of PHI: audited like any case action, and the sealed payloads are opened
    // through the vault's audited path in the same transaction (a phi.read row per payload).
    const actor = `token:${principal.tokenId}${principal.label ? `(${principal.label})` : ''}`;
    const opened = await withTransaction(deps.db.pool, async (tx) => {
      await appendAudit(tx, {
        tenant: principal.tenant,
        actor: { id: actor },
        action: 'case.evidence_viewed',
        caseId,
        details: { exchangeId: exchange.id, channel: exchange.channel, purpose: exchange.purpose },
        at: deps.clock.now(),
      });
      return openSubmissionPayloads(
        tx,
        deps.phi,
        { tenant: principal.tenant, reader: actor, caseId },
        exchange,
      );
    });
    res.setHeader('cache-control', 'no-store');
    res.json({ ...exchange, ...opened });
  });

  router.get('/cases/:id/evidence/:evidenceId', requireRole(...evidenceRoles), async (req, res) => {
    const principal = principalOf(res);
    const caseId = req.params.id as string;
    if (!(await getCase(sql, principal.tenant, caseId)))
      throw new NotFoundError('PAGW_CASE_NOT_FOUND', 'Case not found');
    const actor = `token:${principal.tokenId}${principal.label ? `(${principal.label})` : ''}`;
    const shot = await withTransaction(deps.db.pool, async (tx) => {
      const opened = await openEvidence(
        tx,
        deps.phi,
        { tenant: principal.tenant, reader: actor, caseId },
        req.params.evidenceId as string,
      );
      if (opened)
        await appendAudit(tx, {
          tenant: principal.tenant,
          actor: { id: actor },
          action: 'case.evidence_viewed',
          caseId,
          details: { evidenceId: req.params.evidenceId, kind: 'portal_screenshot' },
          at: deps.clock.now(),
        });
      return opened;
    });
    if (!shot) throw new NotFoundError('PAGW_CASE_NOT_FOUND', 'No such evidence for this case');
    res.setHeader('cache-control', 'no-store');
    res.type(shot.contentType).send(shot.image);
  });

  return router;
}
