/**
 * The submission key: the idempotency key that binds a review approval to the exact request it approved, and
 * the submission step to the request it may send. Pure.
 *
 *   pa:<tenant>:<patient key>:<payer>:<sorted service codes>:<clinical digest>
 *
 * The readable part says at a glance whose request for what at which payer; the digest (SHA-256 of the
 * clinical request in canonical JSON) covers everything else that changes what is being authorized: units,
 * modifiers, places of service, service periods, diagnoses, urgency, the member and the providers. So an edit
 * of the units (request changes) or a request for another patient, payer or service always yields another key,
 * and an approval can never be applied to a request it did not see. Names, free text, the inbound message's
 * own ids and attachments are left out: they do not change what is authorized. The patient appears only as a
 * digest of their identifiers (no MRN in a key that lands in the audit log). Documented in docs/review.md.
 */
import { createHash } from 'node:crypto';
import type { AuthorizationRequest, Coding } from '../../canonical/index.ts';

/** JSON with object keys sorted at every level and undefined dropped: the same request hashes the same. */
function stable(value: unknown): string {
  if (value === null || typeof value !== 'object') return JSON.stringify(value) ?? 'null';
  if (Array.isArray(value)) return `[${value.map(stable).join(',')}]`;
  const entries = Object.entries(value as Record<string, unknown>)
    .filter(([, v]) => v !== undefined)
    .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
  return `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${stable(v)}`).join(',')}}`;
}

function sha256(text: string): string {
  return createHash('sha256').update(text).digest('hex');
}

const coding = (c: Coding | undefined) => (c ? { system: c.system, code: c.code.toUpperCase() } : undefined);

/** The parts of a request that decide what is being authorized, normalized (order of identifiers, case). */
export function clinicalContent(request: AuthorizationRequest): unknown {
  const byString = (a: string, b: string) => (a < b ? -1 : a > b ? 1 : 0);
  return {
    tenant: request.tenant,
    patient: request.patient.identifiers.map((id) => `${id.system ?? ''}|${id.value.trim()}`).sort(byString),
    coverage: {
      payerId: request.coverage.payerId,
      payerIdSystem: request.coverage.payerIdSystem,
      memberId: request.coverage.memberId.trim(),
      groupNumber: request.coverage.groupNumber,
      planCode: request.coverage.planCode,
    },
    requestingProvider: request.requestingProvider?.npi,
    servicingProvider: request.servicingProvider?.npi,
    servicingPlace: request.servicingProvider?.placeOfService ?? request.requestingProvider?.placeOfService,
    urgency: request.urgency,
    diagnoses: request.diagnoses.map((d) => coding(d.code)),
    serviceLines: [...request.serviceLines]
      .sort((a, b) => a.sequence - b.sequence)
      .map((line) => ({
        code: coding(line.code),
        alternateCodes: line.alternateCodes?.map(coding),
        modifiers: line.modifiers,
        quantity: line.quantity,
        placeOfService: line.placeOfService,
        servicePeriod: line.servicePeriod,
      })),
  };
}

/** Service codes in the key: sorted, upper case, `*` when a line asks for more than one unit is left to the digest. */
function serviceCodes(request: AuthorizationRequest): string {
  const codes = [
    ...new Set(request.serviceLines.map((l) => l.code.code.toUpperCase().replace(/[^A-Z0-9.-]/g, ''))),
  ]
    .sort()
    .join('+');
  // A key stays short enough for logs and headers: beyond a few codes the digest alone carries them.
  return codes.length <= 80 ? codes : `${request.serviceLines.length}-services`;
}

/** The submission key of a request sent to `payerId` (the payer directory id the workflow routed it to). */
export function submissionKeyFor(request: AuthorizationRequest, payerId: string): string {
  const patient = sha256(
    stable(request.patient.identifiers.map((id) => `${id.system ?? ''}|${id.value.trim()}`).sort()),
  ).slice(0, 16);
  const digest = sha256(stable({ payerId, content: clinicalContent(request) })).slice(0, 32);
  return `pa:${request.tenant}:pt-${patient}:${payerId}:${serviceCodes(request)}:${digest}`;
}

/** What a key looks like: a caller-supplied value that does not is refused without echoing it anywhere. */
export const submissionKeyPattern =
  /^pa:[A-Za-z0-9._-]{1,64}:pt-[0-9a-f]{16}:[A-Za-z0-9._-]{1,64}:[A-Z0-9.+-]{1,80}:[0-9a-f]{32}$/;
