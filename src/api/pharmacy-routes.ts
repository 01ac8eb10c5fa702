/**
 * GET /pharmacy/requests/:id — where a PA flag stands (the webhook's `Location`): received, drafted (with its case
 * and checklist summary), needs_info (each missing fact) or failed. Tenant-scoped; for the pharmacy system's own
 * token (role `pharmacy`), pharmacists and reviewers. Ids, codes and statuses only: the patient's record stays in
 * the case.
 */
import { Router } from 'express';
import { NotFoundError } from '../errors/index.ts';
import { uuidPattern } from '../store/ids.ts';
import type { Database } from '../store/index.ts';
import { getPharmacyRequest } from '../store/pharmacy-requests.ts';
import { reviewerRoles } from '../workflow/review/gate.ts';
import { principalOf, requireRole } from './auth.ts';

export function pharmacyRequestsRouter(deps: { db: Database }): Router {
  const router = Router();
  router.get('/pharmacy/requests/:id', requireRole('pharmacy', ...reviewerRoles), async (req, res) => {
    const principal = principalOf(res);
    const id = String(req.params.id);
    const record = uuidPattern.test(id) ? await getPharmacyRequest(deps.db.pool, principal.tenant, id) : null;
    if (!record) throw new NotFoundError('PAGW_PHARMACY_REQUEST_NOT_FOUND', 'No such pharmacy request');
    const checklist = record.draft?.checklist as
      | { criteriaId: string; version: string; summary: Record<string, number> }
      | undefined;
    res.json({
      requestId: record.id,
      sender: record.sender,
      prescriptionId: record.prescriptionId,
      event: record.event,
      status: record.status,
      caseId: record.caseId,
      receivedAt: record.receivedAt,
      draftedAt: record.draftedAt,
      ...(checklist
        ? {
            checklist: { criteriaId: checklist.criteriaId, version: checklist.version, ...checklist.summary },
          }
        : {}),
      ...(record.problems ? { missing: record.problems } : {}),
    });
  });
  return router;
}
