/**
 * A PAS claim update posted by an EHR to our Claim/$submit (PAS 2.2.1 "Updating Authorization Requests": a Claim Update
 * whose `related` names the prior Claim — by identifier, or by reference to the prior Claim the Bundle includes). It is
 * not a new request: it acts on the open case of the request it updates, the way an HL7 ORC CA / XO does
 * (src/exceptions/cancellations.ts, order-changes.ts, through intake's order control):
 *   every item withdrawn (infoCancelled, certificationType 3) or the Claim's certificationType 3 → the case is cancelled
 *     (at the payer first when the payer holds it);
 *   otherwise → the case takes the changed request: the items still requested, with their current details (an update
 *     lists every item, withdrawn ones flagged); `resubmitted` and an update to the payer when the payer holds it.
 * Pure: reads the Bundle, builds the request view intake maps the changed request from.
 * @see http://hl7.org/fhir/us/davinci-pas/STU2.2/specification.html#updating-authorization-requests
 */
import type { Bundle, Claim, ClaimItem, Extension } from '@medplum/fhirtypes';
import { PasExtension } from '../../outbound/index.ts';
import { PasProfile } from '../../profiles/index.ts';

export interface ClaimUpdate {
  /** Dedupe keys (`pas:claim:<system>|<value>`) the prior Claim may be known by. */
  readonly priorKeys: readonly string[];
  readonly kind: 'cancel' | 'change';
  /** The update as the request it now is: a PAS request Bundle the PAS mapping reads as a new request. */
  readonly requestView: Bundle;
}

const certification = (extensions: readonly Extension[] | undefined) =>
  extensions?.find((e) => e.url === PasExtension.certificationType)?.valueCodeableConcept?.coding?.[0]?.code;

const withdrawn = (item: ClaimItem) =>
  certification(item.extension) === '3' ||
  (item.modifierExtension ?? []).some((e) => e.url === PasExtension.infoCancelled && e.valueBoolean === true);

const keyOf = (id: { system?: string; value?: string }) => `pas:claim:${id.system ?? ''}|${id.value ?? ''}`;

/** The claim update of a PAS request Bundle, or undefined when its Claim is a new request. */
export function readClaimUpdate(bundle: Bundle): ClaimUpdate | undefined {
  const claim = bundle.entry?.[0]?.resource as Claim | undefined;
  if (claim?.resourceType !== 'Claim') return undefined;
  const isUpdate =
    (claim.related?.length ?? 0) > 0 ||
    (claim.meta?.profile ?? []).some((p) => p.split('|')[0] === PasProfile.claimUpdate);
  if (!isUpdate) return undefined;
  const priorKeys: string[] = [];
  for (const related of claim.related ?? []) {
    const ref = related.claim;
    if (ref?.identifier?.value) priorKeys.push(keyOf(ref.identifier));
    const included = (bundle.entry ?? []).find(
      (e) =>
        e.resource?.resourceType === 'Claim' &&
        e.resource !== claim &&
        (e.fullUrl === ref?.reference ||
          (ref?.reference !== undefined && e.fullUrl?.endsWith(`/${ref.reference}`)) ||
          `Claim/${e.resource.id}` === ref?.reference),
    )?.resource as Claim | undefined;
    for (const id of included?.identifier ?? []) if (id.value) priorKeys.push(keyOf(id));
  }
  const items = claim.item ?? [];
  const kept = items.filter((i) => !withdrawn(i));
  const kind = certification(claim.extension) === '3' || kept.length === 0 ? 'cancel' : 'change';
  const view: Claim = {
    ...claim,
    meta: { ...claim.meta, profile: [PasProfile.claim] },
    item: kept.map(({ modifierExtension: _m, ...item }) => ({
      ...item,
      extension: (item.extension ?? []).filter((e) => e.url !== PasExtension.infoChanged),
    })),
  };
  delete view.related;
  const extensions = (claim.extension ?? []).filter((e) => e.url !== PasExtension.certificationType);
  if (extensions.length) view.extension = extensions;
  else delete view.extension;
  const requestView: Bundle = {
    ...bundle,
    entry: [
      { ...bundle.entry![0]!, resource: view },
      // The prior Claim is the old version: not part of the request any more.
      ...(bundle.entry ?? []).slice(1).filter((e) => e.resource?.resourceType !== 'Claim'),
    ],
  };
  return { priorKeys: [...new Set(priorKeys)], kind, requestView };
}
