/**
 * HTTP order intake, mounted by buildApp after authentication (role 'ehr'; the tenant comes from the token):
 *   POST /orders/hl7v2   an ER7 message (x-application/hl7-v2+er7, application/hl7-v2 or text/plain)
 *   POST /orders/fhir    a ServiceRequest/DeviceRequest/MedicationRequest or a Bundle (application/fhir+json)
 * 201 with the case ids; 200 with the same ids for a message already accepted; 4xx with an OperationOutcome
 * listing each problem for a message refused (the same answer again for a refused duplicate).
 */
import express, { type Request, type Response, Router } from 'express';
import { principalOf, requireRole } from '../api/auth.ts';
import { operationOutcomeFor } from '../api/operation-outcome.ts';
import { type ErrorCode, GatewayError } from '../errors/index.ts';
import type { InboundFormat, MappingProblem } from '../mapping/index.ts';
import { MappingError } from '../mapping/index.ts';
import {
  acceptInboundMessage,
  defaultInboundLimits,
  type InboundDeps,
  type InboundResult,
} from './accept.ts';

export interface InboundRouterOptions {
  /** Largest body accepted: bytes, or text such as '64kb' (default: deps.limits.maxMessageBytes, 5 MiB). */
  readonly limit?: string | number;
}

function problemsAsWarnings(warnings: readonly MappingProblem[]) {
  return warnings.map((w) => ({ location: w.location, message: w.message }));
}

function refusal(result: InboundResult): GatewayError {
  const code = (result.errorCode ?? 'PAGW_MAP_UNREADABLE') as ErrorCode;
  if (result.problems.length > 0 && code !== 'PAGW_INTERNAL') return new MappingError(result.problems);
  return new GatewayError(code, 'The order was not accepted', { problems: result.problems });
}

function send(res: Response, result: InboundResult): void {
  if (result.outcome === 'accepted') {
    if (result.caseIds[0]) res.setHeader('Location', `/cases/${result.caseIds[0]}`);
    res.status(result.duplicate ? 200 : 201).json({
      outcome: 'accepted',
      duplicate: result.duplicate,
      format: result.format,
      messageId: result.messageId ?? null,
      caseIds: result.caseIds,
      warnings: problemsAsWarnings(result.warnings),
    });
    return;
  }
  const { status, body } = operationOutcomeFor(refusal(result));
  res.status(status).type('application/fhir+json').send(JSON.stringify(body));
}

/**
 * Media types each endpoint reads. ER7 has no IANA registration: `x-application/hl7-v2+er7` is what HAPI and
 * most engines send, `application/hl7-v2` (+er7) what others use; `text/plain` and `text/hl7v2` for clients
 * that only know text. Anything else (JSON to the HL7 endpoint, HL7 XML, forms, images, no type) is a 415.
 */
export const hl7v2MediaTypes = [
  'x-application/hl7-v2+er7',
  'application/hl7-v2',
  'application/hl7-v2+er7',
  'text/plain',
  'text/hl7v2',
] as const;
export const fhirMediaTypes = ['application/fhir+json', 'application/json'] as const;

function requireMediaType(req: Request, format: InboundFormat): void {
  const accepted: readonly string[] = format === 'hl7v2' ? hl7v2MediaTypes : fhirMediaTypes;
  if (req.is([...accepted])) return;
  throw new GatewayError(
    'PAGW_INBOUND_UNSUPPORTED_MEDIA',
    format === 'hl7v2'
      ? `Send the HL7 v2 message (ER7) as one of: ${accepted.join(', ')}`
      : `Send the FHIR resource as JSON: ${accepted.join(' or ')}`,
  );
}

export function inboundOrdersRouter(deps: InboundDeps, options: InboundRouterOptions = {}): Router {
  const router = Router();
  const limit = options.limit ?? deps.limits?.maxMessageBytes ?? defaultInboundLimits.maxMessageBytes;
  // The API parses JSON bodies before any router; anything else arrives here unread and is kept as bytes.
  const parseRaw = express.raw({ type: () => true, limit });
  const raw = (req: Request, res: Response, next: (error?: unknown) => void) =>
    parseRaw(req, res, (error?: unknown) => {
      if ((error as { type?: string } | undefined)?.type === 'entity.too.large') {
        next(
          new GatewayError(
            'PAGW_INBOUND_TOO_LARGE',
            `The order exceeds the limit of ${typeof limit === 'number' ? `${limit} bytes` : limit} (inbound.maxMessageBytes)`,
          ),
        );
        return;
      }
      next(error);
    });

  const intake = (format: InboundFormat) => async (req: Request, res: Response) => {
    const principal = principalOf(res);
    // buildApp leaves /orders/* bodies unparsed, so the exact bytes arrive here (kept for dedupe and dead letters).
    const body: Buffer = Buffer.isBuffer(req.body) ? req.body : Buffer.alloc(0);
    if (body.length === 0) throw new GatewayError('PAGW_HTTP_BAD_REQUEST', 'The request body is empty');
    const sender = principal.label ?? `token:${principal.tokenId}`;
    const result = await acceptInboundMessage(deps, {
      tenant: principal.tenant,
      format,
      raw: body,
      sender,
      transport: 'http',
      actor: { id: `token:${principal.tokenId}`, onBehalfOf: `tenant:${principal.tenant}` },
      profile: typeof req.query.profile === 'string' ? req.query.profile : undefined,
      correlationId:
        typeof req.headers['x-correlation-id'] === 'string' ? req.headers['x-correlation-id'] : undefined,
    });
    send(res, result);
  };

  // The media type is checked before the body is read: a 415 costs the gateway nothing.
  const mediaType = (format: InboundFormat) => (req: Request, _res: Response, next: () => void) => {
    requireMediaType(req, format);
    next();
  };
  router.post('/orders/hl7v2', requireRole('ehr'), mediaType('hl7v2'), raw, intake('hl7v2'));
  router.post('/orders/fhir', requireRole('ehr'), mediaType('fhir'), raw, intake('fhir'));
  return router;
}
