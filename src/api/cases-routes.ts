/** GET /cases/:id and GET /cases?state=…: always scoped to the caller's tenant. */
import { Router } from 'express';
import { GatewayError, NotFoundError } from '../errors/index.ts';
import { type CaseRecord, getCase, listCaseEvents, listCases, type Sql } from '../store/index.ts';
import { caseStates, isCaseState } from '../workflow/case-state-machine.ts';
import { principalOf, requireRole } from './auth.ts';

function caseSummary(record: CaseRecord) {
  return {
    id: record.id,
    state: record.state,
    version: record.version,
    payerId: record.payerId,
    channel: record.channel,
    ruleVersion: record.ruleVersion,
    slaDueAt: record.slaDueAt,
    createdAt: record.createdAt,
    updatedAt: record.updatedAt,
    outcome: record.decision?.outcome ?? null,
  };
}

function encodeCursor(record: CaseRecord): string {
  return Buffer.from(JSON.stringify([record.updatedAt.toISOString(), record.id])).toString('base64url');
}

function decodeCursor(cursor: string): { updatedAt: Date; id: string } {
  try {
    const [updatedAt, id] = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8')) as [string, string];
    const at = new Date(updatedAt);
    if (Number.isNaN(at.getTime()) || typeof id !== 'string') throw new Error('bad cursor');
    return { updatedAt: at, id };
  } catch {
    throw new GatewayError('PAGW_HTTP_BAD_REQUEST', 'The cursor parameter is not one this API returned');
  }
}

export function casesRouter(sql: Sql): Router {
  const router = Router();
  const readers = requireRole('ehr', 'reviewer', 'erp', 'admin');

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
    const tenant = principalOf(res).tenant;
    const record = await getCase(sql, tenant, req.params.id as string);
    // Another tenant's case answers exactly like a missing one: 404, never 403, so ids leak nothing.
    if (!record) throw new NotFoundError('PAGW_CASE_NOT_FOUND', 'Case not found');
    const events = await listCaseEvents(sql, tenant, record.id);
    res.json({ ...caseSummary(record), request: record.request, decision: record.decision, events });
  });

  return router;
}
