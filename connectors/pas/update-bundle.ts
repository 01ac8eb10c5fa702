/**
 * The PAS claim update: the order changed after the payer took the request, so the gateway sends the Claim again as a
 * PAS Claim Update (profile claim-update) by `Claim/$submit`, as PAS 2.2.1 "Updating Authorization Requests" says:
 * - a new Claim.identifier (`<trace>-U<n>`, the n-th update of the case), `Claim.related` naming the immediately prior
 *   version (relationship `prior`) by reference AND identifier, and that prior Claim included in the Bundle (the
 *   prior's own `related` then only by identifier: a Claim update's referenced Claim is not included);
 * - every item of the prior version, `sequence` kept, with the current details: items added carry infoChanged `added`,
 *   items changed infoChanged `changed` (and certificationType S, revised), items no longer requested stay in with the
 *   infoCancelled modifier extension, certificationType 3 and infoChanged `changed`; unchanged items carry no flag
 *   (nor do items cancelled in an earlier version);
 * - the Claim-level certificationType S (revised, the 278's UM02); a whole cancellation is the cancel Bundle
 *   (request-bundle.ts, certificationType 3).
 * The prior version is the Bundle last sent for the case (submit or update), so the flags compare with what the payer
 * holds. Every Bundle passes the PAS request-bundle profile before it is returned, else PAGW_PAS_REQUEST_INVALID.
 * @see http://hl7.org/fhir/us/davinci-pas/STU2.2/specification.html#updating-authorization-requests
 * @see http://hl7.org/fhir/us/davinci-pas/STU2.2/Bundle-HomecareAuthorizationUpdateBundleExample.html
 */
import type { Bundle, BundleEntry, Claim, ClaimItem, Extension } from '@medplum/fhirtypes';
import type { AuthorizationRequest } from '../../src/canonical/types.generated.ts';
import { PasExtension, X12System } from '../../src/outbound/index.ts';
import { PasProfile, profileProblems, validateProfile } from '../../src/profiles/index.ts';
import { PasError } from './errors.ts';
import { buildPasRequestParts, type PasBuildContext, urn } from './request-bundle.ts';

const RELATED_PRIOR = {
  coding: [{ system: 'http://terminology.hl7.org/CodeSystem/ex-relatedclaimrelationship', code: 'prior' }],
};

export interface PasUpdateInput {
  /** 1 for the first update of the case, 2 for the next … (the identifier's suffix). */
  readonly number: number;
  /** The Bundle last sent for the case (its first entry is the prior version of the Claim). */
  readonly prior: Bundle;
}

const certificationType = (code: string): Extension => ({
  url: PasExtension.certificationType,
  valueCodeableConcept: { coding: [{ system: X12System.certificationType, code }] },
});

const isCancelled = (item: ClaimItem) =>
  (item.modifierExtension ?? []).some((e) => e.url === PasExtension.infoCancelled && e.valueBoolean === true);

/** What a payer reviews of an item: a change to any of these is a change of the item. */
function reviewed(item: ClaimItem): string {
  const keys = [
    'productOrService',
    'quantity',
    'servicedPeriod',
    'servicedDate',
    'modifier',
    'locationCodeableConcept',
    'category',
  ] as const;
  return JSON.stringify(keys.map((key) => item[key]));
}

/** The item with the update's flags: earlier flags removed, the certification type set, infoChanged when given. */
function flagged(item: ClaimItem, cert: string, change?: 'added' | 'changed', cancelled = false): ClaimItem {
  const extension = (item.extension ?? []).filter(
    (e) => e.url !== PasExtension.infoChanged && e.url !== PasExtension.certificationType,
  );
  const at = extension.findIndex((e) => e.url === PasExtension.serviceItemRequestType);
  extension.splice(at + 1, 0, certificationType(cert));
  if (change) extension.push({ url: PasExtension.infoChanged, valueCode: change });
  const { modifierExtension: _m, ...rest } = item;
  return {
    ...rest,
    extension,
    ...(cancelled ? { modifierExtension: [{ url: PasExtension.infoCancelled, valueBoolean: true }] } : {}),
  };
}

/** The current items against the prior version's, by sequence (PAS spec-75 … spec-79). */
export function updatedItems(current: readonly ClaimItem[], prior: readonly ClaimItem[]): ClaimItem[] {
  const before = new Map(prior.map((i) => [i.sequence, i]));
  const now = new Map(current.map((i) => [i.sequence, i]));
  const items: ClaimItem[] = current.map((item) => {
    const was = before.get(item.sequence);
    if (!was) return flagged(item, 'I', 'added');
    if (isCancelled(was) || reviewed(was) !== reviewed(item)) return flagged(item, 'S', 'changed');
    return flagged(item, 'I');
  });
  for (const was of prior) {
    if (now.has(was.sequence)) continue;
    // No longer requested: kept with its details, withdrawn; newly withdrawn is a change, an old withdrawal is not.
    items.push(isCancelled(was) ? flagged(was, '3', undefined, true) : flagged(was, '3', 'changed', true));
  }
  return items.sort((a, b) => a.sequence - b.sequence);
}

/** Every `urn:uuid:` reference inside a resource. */
function referencesIn(value: unknown, out = new Set<string>()): Set<string> {
  if (Array.isArray(value)) for (const v of value) referencesIn(v, out);
  else if (value && typeof value === 'object') {
    for (const [key, v] of Object.entries(value)) {
      if (key === 'reference' && typeof v === 'string' && v.startsWith('urn:uuid:')) out.add(v);
      else referencesIn(v, out);
    }
  }
  return out;
}

/** The Claim/$submit Bundle of a claim update, validated against the PAS request-bundle profile. */
export function buildPasUpdateBundle(
  request: AuthorizationRequest,
  ctx: PasBuildContext,
  update: PasUpdateInput,
): Bundle {
  const { bundle: current, claim } = buildPasRequestParts(request, ctx);
  const priorEntry = update.prior.entry?.[0];
  const priorClaim = priorEntry?.resource as Claim | undefined;
  if (priorClaim?.resourceType !== 'Claim' || !priorEntry?.fullUrl || !priorClaim.identifier?.[0]) {
    throw new PasError(
      'PAGW_PAS_REQUEST_INVALID',
      `The prior PAS request of case ${ctx.caseId} holds no Claim to update`,
    );
  }
  const [trace] = claim.identifier!;
  const fullUrl = urn(ctx, `claim-update-${update.number}`);
  const updated: Claim = {
    ...claim,
    id: fullUrl.slice('urn:uuid:'.length),
    meta: { profile: [PasProfile.claimUpdate] },
    extension: [...(claim.extension ?? []), certificationType('S')],
    identifier: [{ ...trace!, value: `${trace!.value}-U${update.number}` }],
    related: [
      {
        claim: { reference: priorEntry.fullUrl, identifier: priorClaim.identifier[0] },
        relationship: RELATED_PRIOR,
      },
    ],
    item: updatedItems(claim.item ?? [], priorClaim.item ?? []),
  };
  // An update's own prior is not included (PAS spec-73): it is named by its identifier only.
  const prior: Claim = priorClaim.related
    ? {
        ...priorClaim,
        related: priorClaim.related.map((r) => ({
          ...r,
          claim: r.claim?.identifier ? { identifier: r.claim.identifier } : r.claim,
        })),
      }
    : priorClaim;
  const entry: BundleEntry[] = [
    { fullUrl, resource: updated },
    { fullUrl: priorEntry.fullUrl, resource: prior },
    ...(current.entry ?? []).slice(1),
  ];
  // Resources only the withdrawn items or the prior Claim reference (a cancelled line's order) come from the prior.
  const present = new Set(entry.map((e) => e.fullUrl));
  const wanted = referencesIn([updated, prior]);
  for (const e of update.prior.entry ?? []) {
    if (e.fullUrl && wanted.has(e.fullUrl) && !present.has(e.fullUrl)) {
      entry.push(e);
      present.add(e.fullUrl);
    }
  }
  const bundle: Bundle = {
    ...current,
    identifier: {
      ...current.identifier!,
      value: `${ctx.caseId}/update-${update.number}/${ctx.at.getTime()}`,
    },
    entry,
  };
  const report = validateProfile(bundle, PasProfile.requestBundle);
  if (!report.valid) {
    const problems = profileProblems(report);
    throw new PasError(
      'PAGW_PAS_REQUEST_INVALID',
      `The PAS update Bundle for case ${ctx.caseId} fails ${PasProfile.requestBundle}: ${problems
        .slice(0, 3)
        .map((p) => `${p.location}: ${p.message}`)
        .join('; ')}`,
      { problems },
    );
  }
  return bundle;
}
