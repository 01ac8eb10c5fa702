/**
 * The delegation chain of a case action: on whose authority it happened, from the clinician who ordered the
 * service to whoever acted last. Every case audit row carries it in `details.chain` (so it is covered by the
 * row's hash and `pagw audit verify`):
 *
 *   ordering_clinician  the order's requester (ORC-12 / ServiceRequest.requester) as a reference only —
 *                       `clinician:<digest>`; NPI and name stay in the case, out of logs and the audit
 *                       (`pagw audit show CASE --reveal` resolves it, and that reveal is itself audited)
 *   service             the gateway's service identity acting for the clinic (`service:pagw` for `tenant:<t>`)
 *   reviewer            a person (named token: user id, role, NPI) who decided or approved
 *   caller              a system token that acted (an EHR's integration)
 *   connector           the payer channel that acted, and the vaulted login it used (a `vault:` reference)
 */
import { createHash } from 'node:crypto';
import type { AuthorizationRequest } from '../canonical/index.ts';
import type { Actor } from './audit-log.ts';

export interface DelegationLink {
  readonly as: 'ordering_clinician' | 'service' | 'reviewer' | 'caller' | 'connector';
  readonly id: string;
  readonly onBehalfOf?: string;
  /** A reviewer's role at the gate. */
  readonly role?: string;
  /** A reviewer's own NPI (the person signing, not the patient's clinician). */
  readonly npi?: string;
  /** A connector's channel and the vault reference of the login it used. */
  readonly channel?: string;
  readonly credentials?: string;
}

/**
 * The reference the chain uses for the ordering clinician: a digest of their NPI (or name), stable across cases,
 * so the audit can say "the same clinician" without carrying a name or a number. (An NPI is a public registry
 * number, so the digest is a pseudonym against casual reading, not a secret: the point is that no name or
 * identifier is copied into the audit, its exports and the logs.)
 */
export function clinicianRef(request: Pick<AuthorizationRequest, 'requestingProvider'>): string | null {
  const provider = request.requestingProvider;
  if (!provider) return null;
  const who = provider.npi
    ? `npi:${provider.npi}`
    : provider.name
      ? `name:${[provider.name.family, ...(provider.name.given ?? [])].join('|')}`
      : null;
  if (!who) return null;
  return `clinician:${createHash('sha256').update(`pagw-clinician\n${who}`).digest('hex').slice(0, 16)}`;
}

/** The service identity: the gateway acting for a clinic. */
export function serviceLink(tenant: string): DelegationLink {
  return { as: 'service', id: 'service:pagw', onBehalfOf: `tenant:${tenant}` };
}

/** The chain of one action: the clinician who ordered, the service, then who acted (and `extra` links). */
export function delegationChain(input: {
  tenant: string;
  request: Pick<AuthorizationRequest, 'requestingProvider'>;
  actor: Actor;
  extra?: readonly DelegationLink[];
}): DelegationLink[] {
  const chain: DelegationLink[] = [];
  const clinician = clinicianRef(input.request);
  if (clinician) chain.push({ as: 'ordering_clinician', id: clinician });
  chain.push(serviceLink(input.tenant));
  const { actor } = input;
  const named = (input.extra ?? []).some((l) => l.id === actor.id);
  if (!named && !actor.id.startsWith('system:')) {
    chain.push({ as: actor.id.startsWith('user:') ? 'reviewer' : 'caller', id: actor.id });
  }
  chain.push(...(input.extra ?? []));
  return chain;
}
