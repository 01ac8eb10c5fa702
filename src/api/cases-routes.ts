/**
 * GET /cases/:id and GET /cases?state=…: always scoped to the caller's tenant. The list carries ids, codes,
 * states and times only; one case is shown in the view the caller's roles allow (case-views.ts): ERP and
 * scheduling never see the request's demographics.
 */
import { Router } from 'express';
import { GatewayError, NotFoundError } from '../errors/index.ts';
import { uuidPattern } from '../store/ids.ts';
import {
  type CaseRecord,
  getCase,
  listCaseEvents,
  listCases,
  loadRetryContext,
  type Sql,
  withReadSnapshot,
} from '../store/index.ts';
import { caseStates, isCaseState } from '../workflow/case-state-machine.ts';
import { principalOf, requireRole } from './auth.ts';
import { caseViewFor, operationalCase, type PayerInfoLookup } from './case-views.ts';

function caseSummary(record: CaseRecord) {
  return {
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
  };
}

function encodeCursor(record: CaseRecord): string {
  return Buffer.from(JSON.stringify([record.updatedAt.toISOString(), record.id])).toString('base64url');
}

/**
 * A cursor is opaque to clients: anything but one this API returned is a 400, checked here in full (an id
 * that is not a uuid would otherwise reach the database, fail there as a 500 and be logged with its text).
 */
function decodeCursor(cursor: string): { updatedAt: Date; id: string } {
  const refused = new GatewayError(
    'PAGW_HTTP_BAD_REQUEST',
    'The cursor parameter is not one this API returned',
    {
      problems: [{ location: 'cursor', message: 'not a cursor this API returned' }],
    },
  );
  let decoded: unknown;
  try {
    decoded = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8'));
  } catch {
    throw refused;
  }
  if (!Array.isArray(decoded) || decoded.length !== 2) throw refused;
  const [updatedAt, id] = decoded as unknown[];
  if (typeof updatedAt !== 'string' || typeof id !== 'string' || !uuidPattern.test(id)) throw refused;
  const at = new Date(updatedAt);
  if (Number.isNaN(at.getTime())) throw refused;
  return { updatedAt: at, id };
}

export interface CasesRouterOptions {
  /** The payer's fee schedule for the operational view's expected reimbursement (absent: none shown). */
  readonly payerInfo?: PayerInfoLookup;
  readonly now?: () => Date;
}

export function casesRouter(sql: Sql, options: CasesRouterOptions = {}): Router {
  const router = Router();
  const readers = requireRole(
    'ehr',
    'reviewer',
    'utilization_reviewer',
    'medical_director',
    'pharmacist',
    'erp',
    'scheduling',
    'admin',
  );

  router.get('/cases', readers, async (req, res) => {
    const { state, limit, cursor } = req.query;
    if (state !== undefined && (typeof state !== 'string' || !isCaseState(state))) {
      throw new GatewayError('PAGW_HTTP_BAD_REQUEST', `state must be one of: ${caseStates.join(', ')}`, {
        problems: [{ location: 'state', message: `must be one of: ${caseStates.join(', ')}` }],
      });
    }
    const size = limit === undefined ? 50 : Number(limit);
    if (!Number.isInteger(size) || size < 1 || size > 500) {
      throw new GatewayError('PAGW_HTTP_BAD_REQUEST', 'limit must be an integer from 1 to 500', {
        problems: [{ location: 'limit', message: 'must be an integer from 1 to 500' }],
      });
    }
    const records = await listCases(sql, principalOf(res).tenant, {
      state: state as (typeof caseStates)[number] | undefined,
      limit: size,
      after: typeof cursor === 'string' ? decodeCursor(cursor) : undefined,
    });
    res.json({
      items: records.map(caseSummary),
      next: records.length === size ? encodeCursor(records.at(-1)!) : null,
    });
  });

  router.get('/cases/:id', readers, async (req, res) => {
    const { tenant, roles } = principalOf(res);
    const full = caseViewFor(roles) !== 'operational';
    // One snapshot for the row, its events and its retry context: read apart, a decision could be missing beside the
    // event that recorded it.
    const found = await withReadSnapshot(sql, async (snapshot) => {
      const record = await getCase(snapshot, tenant, req.params.id as string);
      if (!record) return undefined;
      const events = await listCaseEvents(snapshot, tenant, record.id);
      const retryContext = full ? await loadRetryContext(snapshot, record) : undefined;
      return { record, events, retryContext };
    });
    // Another tenant's case answers exactly like a missing one: 404, never 403, so ids leak nothing.
    if (!found) throw new NotFoundError('PAGW_CASE_NOT_FOUND', 'Case not found');
    const { record, events, retryContext } = found;
    res.setHeader('cache-control', 'no-store');
    if (!full) {
      const payer = options.payerInfo?.(record, options.now?.() ?? new Date());
      res.json({ ...caseSummary(record), view: 'operational', ...operationalCase(record, payer), events });
      return;
    }
    res.json({
      ...caseSummary(record),
      view: 'full',
      submissionKey: record.submissionKey,
      request: record.request,
      decision: record.decision,
      retryContext,
      events,
    });
  });

  return router;
}
