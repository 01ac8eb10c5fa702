/**
 * The gateway as a Da Vinci PAS intermediary for EHRs (mounted after authentication; role `ehr`, tenant from the
 * token):
 *
 *   POST /fhir/Claim/$submit   (also /Claim/$submit)   a PAS request Bundle, bare or in Parameters
 *   POST /fhir/Claim/$inquire  (also /Claim/$inquire)  a PAS inquiry Bundle, bare or in Parameters
 *   GET  /fhir/metadata                                the CapabilityStatement of exactly this (capability.ts)
 *
 * `$submit` validates the Bundle against the PAS 2.2.1 request-bundle profile (422 OperationOutcome, one issue per
 * problem with its FHIRPath expression), opens a case through acceptInboundMessage — deduplicated by the Claim's
 * identifier, so a resubmission answers from the same case — and waits up to `pas.submitWaitMs` for the payer:
 * the decision if it comes in time, else pended (A4) with the case id as the reference. A PAS claim update (Claim
 * `related` to a request we hold, ./claim-update.ts) cancels or changes that request's case instead, and is answered
 * from it. Whatever channel the
 * payer has (PAS, X12 278 through the clearinghouse, portal), the answer is the same PAS response Bundle.
 */
import type { Bundle, Claim, Parameters, Resource } from '@medplum/fhirtypes';
import { type Request, type Response, Router } from 'express';
import { principalOf, requireRole } from '../../api/auth.ts';
import type { Clock } from '../../clock.ts';
import { GatewayError } from '../../errors/index.ts';
import { MappingError } from '../../mapping/index.ts';
import type { PayerInfo, TenantSettings } from '../../outbound/index.ts';
import { PasProfile, profileProblems, validateProfile } from '../../profiles/index.ts';
import { type CaseRecord, getCase } from '../../store/index.ts';
import { acceptInboundMessage, type InboundDeps, type InboundMessage } from '../accept.ts';
import { answeredStates, answerForCase } from './answer.ts';
import { capabilityStatement } from './capability.ts';
import { type ClaimUpdate, readClaimUpdate } from './claim-update.ts';

export interface PasServerDeps {
  readonly inbound: InboundDeps;
  readonly clock: Clock;
  readonly tenants: { get(tenant: string): Readonly<TenantSettings> };
  /** The payer of a case as the directory knows it (name, fee schedule). */
  readonly payerInfo?: (record: CaseRecord, at: Date) => PayerInfo | undefined;
  /** How long $submit waits for the payer before answering pended (config pas.submitWaitMs, default 15 s). */
  readonly submitWaitMs: number;
  /** How often the wait looks at the case. */
  readonly pollMs?: number;
}

const FHIR_JSON = 'application/fhir+json';

/** The Bundle of an operation body: the Bundle itself, or Parameters carrying it (parameter `resource`). */
function bundleOf(body: unknown): { bundle: Bundle; wrapped: boolean } {
  const resource = body as Resource | undefined;
  if (resource?.resourceType === 'Bundle') return { bundle: resource, wrapped: false };
  if (resource?.resourceType === 'Parameters') {
    const p = (resource as Parameters).parameter?.find((x) => x.resource?.resourceType === 'Bundle');
    if (p?.resource) return { bundle: p.resource as Bundle, wrapped: true };
  }
  throw new GatewayError('PAGW_PAS_BUNDLE_INVALID', 'Send a PAS Bundle, or Parameters holding one', {
    problems: [
      {
        location: resource?.resourceType ?? '$',
        message: `expected a Bundle (or Parameters with parameter 'resource'), found ${resource?.resourceType ?? 'no resource'}`,
      },
    ],
  });
}

/**
 * Bundles that are PAS, but not a request for this operation, get a reason of their own before any profile
 * check: a payer's response, a subscription notification, an inquiry sent to $submit.
 */
function refuseOtherKinds(bundle: Bundle, operation: 'submit' | 'inquire'): void {
  const refuse = (location: string, message: string) => {
    throw new GatewayError('PAGW_PAS_BUNDLE_INVALID', message, { problems: [{ location, message }] });
  };
  if (bundle.type === 'history') {
    refuse(
      'Bundle.type',
      'a history Bundle is a subscription notification, not a prior authorization request',
    );
  }
  const first = bundle.entry?.[0]?.resource;
  if (first?.resourceType === 'ClaimResponse') {
    refuse('Bundle.entry[0].resource', "a Bundle led by a ClaimResponse is a payer's answer, not a request");
  }
  const profiles = [
    ...(bundle.meta?.profile ?? []),
    ...((first as Claim | undefined)?.meta?.profile ?? []),
  ].map((p) => p.split('|')[0]);
  const inquiry = profiles.some(
    (p) => p === PasProfile.inquiryRequestBundle || p === PasProfile.claimInquiry,
  );
  if (operation === 'submit' && inquiry) {
    refuse('Bundle.meta.profile', 'a PAS inquiry asks about an existing request: send it to Claim/$inquire');
  }
  if (operation === 'inquire' && !inquiry && profiles.includes(PasProfile.requestBundle)) {
    refuse('Bundle.meta.profile', 'a PAS request Bundle opens a request: send it to Claim/$submit');
  }
}

function validated(bundle: Bundle, profile: string): Claim {
  const report = validateProfile(bundle, profile);
  if (!report.valid) {
    throw new GatewayError('PAGW_PAS_BUNDLE_INVALID', `The Bundle does not conform to ${profile}`, {
      problems: profileProblems(report),
    });
  }
  return bundle.entry![0]!.resource as Claim;
}

/** The dedupe key of a PAS request: its Claim identifier (the first one, system and value). */
export function claimKey(claim: Claim): string {
  const id = claim.identifier?.[0];
  return `pas:claim:${id?.system ?? ''}|${id?.value ?? ''}`;
}

async function caseForKey(deps: PasServerDeps, tenant: string, key: string): Promise<CaseRecord | null> {
  const { rows } = await deps.inbound.db.pool.query<{ case_ids: string[] }>(
    'SELECT case_ids FROM inbound_messages WHERE tenant_id = $1 AND message_key = $2',
    [tenant, key],
  );
  const caseId = rows[0]?.case_ids?.[0];
  return caseId ? getCase(deps.inbound.db.pool, tenant, caseId) : null;
}

function send(res: Response, status: number, bundle: Bundle, wrapped: boolean, name: string): void {
  const body: Resource = wrapped
    ? { resourceType: 'Parameters', parameter: [{ name, resource: bundle }] }
    : bundle;
  res.status(status).type(FHIR_JSON).send(JSON.stringify(body));
}

/** A PAS Bundle posted by an EHR as intake takes it: keyed by its Claim identifier, on behalf of the token's tenant. */
function inboundBundle(
  principal: ReturnType<typeof principalOf>,
  req: Request,
  bundle: Bundle,
  key: string,
): InboundMessage {
  const correlationId = req.headers['x-correlation-id'];
  return {
    tenant: principal.tenant,
    format: 'fhir',
    raw: Buffer.from(JSON.stringify(bundle), 'utf8'),
    sender: principal.label ?? `token:${principal.tokenId}`,
    transport: 'http',
    actor: { id: `token:${principal.tokenId}`, onBehalfOf: `tenant:${principal.tenant}` },
    messageKey: key,
    ...(typeof correlationId === 'string' ? { correlationId } : {}),
  };
}

/**
 * A claim update (./claim-update.ts) acts on the case of the request it updates, through intake's order control (an
 * ORC CA / XO does the same): recorded under its own Claim identifier, so a repeat, and a later update relating to
 * it, find the case. Refused when the prior Claim is not one we hold, or its case can no longer change.
 */
async function acceptClaimUpdate(
  deps: PasServerDeps,
  principal: ReturnType<typeof principalOf>,
  req: Request,
  bundle: Bundle,
  key: string,
  update: ClaimUpdate,
): Promise<CaseRecord> {
  let prior: CaseRecord | null = null;
  for (const priorKey of update.priorKeys) {
    prior = await caseForKey(deps, principal.tenant, priorKey);
    if (prior) break;
  }
  const ref = prior?.request.orderReference;
  if (!prior || (!ref?.placerOrderNumber && !ref?.resourceReference)) {
    throw new GatewayError(
      'PAGW_PAS_UPDATE_NOT_MATCHED',
      'The Claim update relates to no prior authorization request held here',
      {
        problems: [
          {
            location: 'Bundle.entry[0].resource.related',
            message: 'no request with the related Claim identifier (for this tenant)',
          },
        ],
      },
    );
  }
  const result = await acceptInboundMessage(deps.inbound, {
    ...inboundBundle(principal, req, bundle, key),
    control: {
      kind: update.kind,
      order: {
        ...(ref.placerOrderNumber ? { placerOrderNumber: ref.placerOrderNumber } : {}),
        ...(ref.resourceReference ? { resourceReference: ref.resourceReference } : {}),
      },
      mapFrom: Buffer.from(JSON.stringify(update.requestView), 'utf8'),
      describe: `a PAS claim update ${update.kind === 'cancel' ? 'cancelling' : 'changing'} the request`,
    },
  });
  if (result.outcome === 'rejected') {
    if (result.problems.length > 0) throw new MappingError(result.problems);
    throw new GatewayError(
      result.errorCode ?? 'PAGW_MAP_NOT_NEW_ORDER',
      'The PAS claim update was not accepted',
    );
  }
  const record = await getCase(deps.inbound.db.pool, principal.tenant, result.caseIds[0]!);
  if (!record) throw new GatewayError('PAGW_INTERNAL', 'The case of the PAS claim update is missing');
  return record;
}

export function pasServerRouter(deps: PasServerDeps): Router {
  const router = Router();
  const pollMs = deps.pollMs ?? 100;

  async function answer(record: CaseRecord, kind: 'submit' | 'inquiry'): Promise<Bundle> {
    const at = deps.clock.now();
    const payer = deps.payerInfo?.(record, at);
    return answerForCase(deps.inbound.db.pool, record, {
      tenant: deps.tenants.get(record.tenant),
      ...(payer ? { payer } : {}),
      at,
      kind,
    });
  }

  /** The case once the payer (or the rules) answered it, or as it is when the wait is over. */
  async function waitForAnswer(record: CaseRecord): Promise<CaseRecord> {
    const deadline = Date.now() + deps.submitWaitMs;
    let current = record;
    while (!answeredStates.has(current.state) && Date.now() < deadline) {
      await new Promise((resolve) =>
        setTimeout(resolve, Math.min(pollMs, Math.max(0, deadline - Date.now()))),
      );
      current = (await getCase(deps.inbound.db.pool, record.tenant, record.id)) ?? current;
    }
    return current;
  }

  const submit = async (req: Request, res: Response) => {
    const principal = principalOf(res);
    const { bundle, wrapped } = bundleOf(req.body);
    refuseOtherKinds(bundle, 'submit');
    const claim = validated(bundle, PasProfile.requestBundle);
    const key = claimKey(claim);
    let record = await caseForKey(deps, principal.tenant, key);
    const update = record ? undefined : readClaimUpdate(bundle);
    if (update) {
      record = await acceptClaimUpdate(deps, principal, req, bundle, key, update);
    } else if (!record) {
      const result = await acceptInboundMessage(deps.inbound, inboundBundle(principal, req, bundle, key));
      if (result.outcome === 'rejected') {
        // The same identifier with other content raced us in: answer from the case it opened.
        record =
          result.errorCode === 'PAGW_INBOUND_ID_REUSED'
            ? await caseForKey(deps, principal.tenant, key)
            : null;
        if (!record) {
          if (result.problems.length > 0) throw new MappingError(result.problems);
          throw new GatewayError(
            result.errorCode ?? 'PAGW_MAP_UNREADABLE',
            'The PAS request was not accepted',
          );
        }
      } else {
        record = await getCase(deps.inbound.db.pool, principal.tenant, result.caseIds[0]!);
      }
    }
    if (!record) throw new GatewayError('PAGW_INTERNAL', 'The case of the PAS request is missing');
    const current = await waitForAnswer(record);
    res.setHeader('Location', `/cases/${current.id}`);
    send(res, 200, await answer(current, 'submit'), wrapped, 'return');
  };

  const inquire = async (req: Request, res: Response) => {
    const principal = principalOf(res);
    const { bundle, wrapped } = bundleOf(req.body);
    refuseOtherKinds(bundle, 'inquire');
    const claim = validated(bundle, PasProfile.inquiryRequestBundle);
    const record = await caseForKey(deps, principal.tenant, claimKey(claim));
    if (!record) {
      throw new GatewayError(
        'PAGW_PAS_NOT_FOUND',
        'No prior authorization request with this Claim identifier',
        {
          problems: [
            { location: 'Bundle.entry[0].resource.identifier', message: 'no request with this identifier' },
          ],
        },
      );
    }
    send(res, 200, await answer(record, 'inquiry'), wrapped, 'responseBundle');
  };

  for (const base of ['/fhir', '']) {
    router.post(`${base}/Claim/$submit`, requireRole('ehr'), submit);
    router.post(`${base}/Claim/$inquire`, requireRole('ehr'), inquire);
  }
  router.get('/fhir/metadata', (_req, res) => {
    res.type(FHIR_JSON).send(JSON.stringify(capabilityStatement(deps.clock.now())));
  });
  return router;
}
