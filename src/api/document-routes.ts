/**
 * Documents of a case over HTTP (issue #14 item 3). The body is the document itself (its content type declared and
 * checked against its bytes: PDF, PNG, JPEG, TIFF, C-CDA), at most 10 MB; what it is for travels as codes only.
 *
 *   POST /cases/:id/documents?code=09&taskId=…   upload (ehr and reviewing roles, admin): 201 with its metadata
 *   GET  /cases/:id/documents                     metadata of the case's documents (case readers)
 *   GET  /cases/:id/documents/:docId              the bytes (PHI: reviewing roles, ehr and admin; audited read)
 * Another tenant's case answers 404 like a missing one.
 */
import express, { Router } from 'express';
import type { Clock } from '../clock.ts';
import { GatewayError, NotFoundError } from '../errors/index.ts';
import { addDocument, documentBinding } from '../exceptions/documents.ts';
import { getSealedDocument, listDocuments } from '../store/documents.ts';
import { type Database, getCase, withTransaction } from '../store/index.ts';
import type { PhiCipher } from '../vault/phi.ts';
import { maxDocumentBytes } from '../workflow/tasks/documents.ts';
import { actorOf, principalOf, requireRole } from './auth.ts';
import { caseReaderRoles, evidenceRoles } from './case-console-routes.ts';

const uploaderRoles = [
  'ehr',
  'reviewer',
  'utilization_reviewer',
  'medical_director',
  'pharmacist',
  'admin',
] as const;

export function documentRouter(deps: { db: Database; clock: Clock; phi: PhiCipher }): Router {
  const router = Router();
  // Any type: the declared type is checked against the bytes by addDocument (an unsupported one is a 415 there).
  const parse = express.raw({ type: () => true, limit: maxDocumentBytes });
  const raw: express.RequestHandler = (req, res, next) =>
    parse(req, res, (error?: unknown) => {
      if ((error as { type?: string } | undefined)?.type === 'entity.too.large')
        return next(
          new GatewayError('PAGW_DOCUMENT_TOO_LARGE', `A document is at most ${maxDocumentBytes} bytes`, {
            problems: [{ location: 'body', message: `more than ${maxDocumentBytes} bytes` }],
          }),
        );
      next(error);
    });

  router.post('/cases/:id/documents', requireRole(...uploaderRoles), raw, async (req, res) => {
    const principal = principalOf(res);
    const code = typeof req.query.code === 'string' && req.query.code !== '' ? req.query.code : undefined;
    const taskId =
      typeof req.query.taskId === 'string' && req.query.taskId !== '' ? req.query.taskId : undefined;
    if (taskId !== undefined && !/^[0-9a-f-]{36}$/i.test(taskId))
      throw new GatewayError('PAGW_HTTP_BAD_REQUEST', 'taskId is not a task id', {
        problems: [{ location: 'taskId', message: 'is not a task id' }],
      });
    const bytes = Buffer.isBuffer(req.body) ? req.body : Buffer.alloc(0);
    const doc = await addDocument(deps, {
      tenant: principal.tenant,
      caseId: req.params.id as string,
      actor: actorOf(principal),
      at: deps.clock.now(),
      contentType: req.headers['content-type'],
      bytes,
      ...(code ? { code } : {}),
      ...(taskId ? { taskId } : {}),
    });
    res.status(201).json(doc);
  });

  router.get('/cases/:id/documents', requireRole(...caseReaderRoles), async (req, res) => {
    const principal = principalOf(res);
    const record = await getCase(deps.db.pool, principal.tenant, req.params.id as string);
    if (!record) throw new NotFoundError('PAGW_CASE_NOT_FOUND', 'Case not found');
    res.setHeader('cache-control', 'no-store');
    res.json({ items: await listDocuments(deps.db.pool, principal.tenant, record.id) });
  });

  router.get('/cases/:id/documents/:docId', requireRole(...evidenceRoles, 'ehr'), async (req, res) => {
    const principal = principalOf(res);
    const doc = await getSealedDocument(
      deps.db.pool,
      principal.tenant,
      req.params.id as string,
      req.params.docId as string,
    );
    if (!doc) throw new NotFoundError('PAGW_CASE_NOT_FOUND', 'No such document for this case');
    const actor = actorOf(principal);
    const bytes = await withTransaction(deps.db.pool, (tx) =>
      deps.phi.open(
        tx,
        {
          tenant: principal.tenant,
          reader: actor.id,
          onBehalfOf: actor.onBehalfOf,
          caseId: doc.caseId,
          what: 'case_documents.sealed',
          ref: doc.id,
        },
        documentBinding(doc.id),
        doc.sealed,
      ),
    );
    res.setHeader('cache-control', 'no-store');
    res.type(doc.contentType).send(bytes);
  });

  return router;
}
