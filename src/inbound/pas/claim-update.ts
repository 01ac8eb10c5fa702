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

// The Bundle passed the request profile's checks, which do not reach every nested element: read arrays and strings
// only where they are arrays and strings, so an odd shape reads as "not an update" rather than throwing.
const arrayOf = <T>(x: readonly T[] | undefined): readonly T[] => (Array.isArray(x) ? x : []);
const text = (x: unknown): string | undefined => (typeof x === 'string' ? x : undefined);

const certification = (extensions: readonly Extension[] | undefined) =>
  arrayOf(extensions).find((e) => e?.url === PasExtension.certificationType)?.valueCodeableConcept
    ?.coding?.[0]?.code;

const withdrawn = (item: ClaimItem) =>
  certification(item.extension) === '3' ||
  arrayOf(item.modifierExtension).some(
    (e) => e?.url === PasExtension.infoCancelled && e.valueBoolean === true,
  );

const keyOf = (id: { system?: string; value?: string }) =>
  `pas:claim:${text(id.system) ?? ''}|${text(id.value) ?? ''}`;

/** The claim update of a PAS request Bundle, or undefined when its Claim is a new request. */
export function readClaimUpdate(bundle: Bundle): ClaimUpdate | undefined {
  const claim = bundle.entry?.[0]?.resource as Claim | undefined;
  if (claim?.resourceType !== 'Claim') return undefined;
  const isUpdate =
    arrayOf(claim.related).length > 0 ||
    arrayOf(claim.meta?.profile).some((p) => text(p)?.split('|')[0] === PasProfile.claimUpdate);
  if (!isUpdate) return undefined;
  const priorKeys: string[] = [];
  for (const related of arrayOf(claim.related)) {
    const ref = related?.claim;
    const reference = text(ref?.reference);
    if (text(ref?.identifier?.value)) priorKeys.push(keyOf(ref!.identifier!));
    const included = arrayOf(bundle.entry).find(
      (e) =>
        e?.resource?.resourceType === 'Claim' &&
        e.resource !== claim &&
        reference !== undefined &&
        (text(e.fullUrl) === reference ||
          text(e.fullUrl)?.endsWith(`/${reference}`) ||
          (text(e.resource.id) !== undefined && `Claim/${e.resource.id}` === reference)),
    )?.resource as Claim | undefined;
    for (const id of arrayOf(included?.identifier)) if (text(id?.value)) priorKeys.push(keyOf(id));
  }
  const items = arrayOf(claim.item).filter((i) => typeof i === 'object' && i !== null);
  const kept = items.filter((i) => !withdrawn(i));
  const kind = certification(claim.extension) === '3' || kept.length === 0 ? 'cancel' : 'change';
  const view: Claim = {
    ...claim,
    meta: { ...claim.meta, profile: [PasProfile.claim] },
    item: kept.map(({ modifierExtension: _m, ...item }) => ({
      ...item,
      extension: arrayOf(item.extension).filter((e) => e?.url !== PasExtension.infoChanged),
    })),
  };
  delete view.related;
  const extensions = arrayOf(claim.extension).filter((e) => e?.url !== PasExtension.certificationType);
  if (extensions.length) view.extension = extensions;
  else delete view.extension;
  const requestView: Bundle = {
    ...bundle,
    entry: [
      { ...bundle.entry![0]!, resource: view },
      // The prior Claim is the old version: not part of the request any more.
      ...arrayOf(bundle.entry)
        .slice(1)
        .filter((e) => e?.resource?.resourceType !== 'Claim'),
    ],
  };
  return { priorKeys: [...new Set(priorKeys)], kind, requestView };
}
