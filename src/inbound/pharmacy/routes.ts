/**
 * POST /webhooks/pharmacy/pa-flag: the PA-flag webhook over HTTP. Mounted BEFORE bearer-token authentication
 * (ApiDeps.publicRouters): the HMAC signature under the sender's vault secret is what authenticates it, and the
 * sender (X-PAGW-Sender) is what names the tenant. Answers (docs/pharmacy.md): 202 accepted, 200 duplicate,
 * 401 unknown sender or bad signature, 403 replay, 413 too large, 415 not JSON, 422 unreadable flag, 503 secret
 * unavailable — errors as OperationOutcome, one issue per problem with its path in the sender's payload.
 */
import express, { type Request, type Response, Router } from 'express';
import { operationOutcomeFor } from '../../api/operation-outcome.ts';
import { GatewayError } from '../../errors/index.ts';
import { type PharmacyIntakeDeps, receivePaFlag } from './intake.ts';

export const paFlagPath = '/webhooks/pharmacy/pa-flag';
export const senderHeader = 'x-pagw-sender';

export function pharmacyWebhookRouter(
  deps: PharmacyIntakeDeps,
  options: { limit?: string | number } = {},
): Router {
  const router = Router();
  const limit = options.limit ?? 1024 * 1024;
  const parseRaw = express.raw({ type: () => true, limit });

  const answer = (res: Response, error: unknown) => {
    const { status, body } = operationOutcomeFor(error);
    res.status(status).type('application/fhir+json').send(JSON.stringify(body));
  };

  router.post(paFlagPath, async (req: Request, res: Response) => {
    const named = req.get(senderHeader);
    // An unknown sender is refused before its body is read: an anonymous caller costs nothing but an audit row.
    const known = named !== undefined && deps.senders.get(named.trim()) !== undefined;
    if (known && !req.is(['application/json', 'application/*+json']))
      return answer(
        res,
        new GatewayError('PAGW_INBOUND_UNSUPPORTED_MEDIA', 'Send the PA flag as application/json'),
      );
    let raw: Buffer = Buffer.alloc(0);
    if (known) {
      const parsed = await new Promise<unknown>((resolve) =>
        parseRaw(req, res, (error?: unknown) => resolve(error)),
      );
      if ((parsed as { type?: string } | undefined)?.type === 'entity.too.large')
        return answer(
          res,
          new GatewayError('PAGW_INBOUND_TOO_LARGE', `The PA flag exceeds the limit of ${limit} bytes`),
        );
      if (parsed) throw parsed;
      raw = Buffer.isBuffer(req.body) ? req.body : Buffer.alloc(0);
    }
    const headers: Record<string, string | undefined> = {};
    for (const [name, value] of Object.entries(req.headers))
      headers[name.toLowerCase()] = Array.isArray(value) ? value.join(', ') : value;
    const result = await receivePaFlag(deps, { sender: named, headers, raw });
    if (result.kind === 'refused') return answer(res, result.error);
    res.setHeader('Location', `/pharmacy/requests/${result.requestId}`);
    res.status(result.status).json({
      outcome: 'accepted',
      duplicate: result.kind === 'duplicate',
      requestId: result.requestId,
      status: result.requestStatus,
      caseId: result.caseId,
    });
  });
  return router;
}
