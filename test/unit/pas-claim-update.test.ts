/**
 * Reading a PAS Claim Update posted by an EHR (src/inbound/pas/claim-update.ts), on the IG's own update example: the
 * prior Claim it relates to, whether it cancels or changes the request, and the request it now states (which the PAS
 * mapping reads as a request and which still passes the request-bundle profile).
 */
import { readFileSync } from 'node:fs';
import type { Bundle, Claim } from '@medplum/fhirtypes';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { readClaimUpdate } from '../../src/inbound/pas/claim-update.ts';
import { mapOrder } from '../../src/mapping/index.ts';
import { PasExtension } from '../../src/outbound/index.ts';
import { PasProfile, validateProfile } from '../../src/profiles/index.ts';
import { fixturePath } from '../helpers/fixtures.ts';

const corpus = (file: string) => JSON.parse(readFileSync(fixturePath('pas', file), 'utf8')) as Bundle;
const updateExample = () => corpus('Bundle-HomecareAuthorizationUpdateBundleExample.json');

describe('a PAS Claim Update from an EHR', () => {
  it('relates to the prior Claim (by the included Claim it references) and changes the request', () => {
    const update = readClaimUpdate(updateExample())!;
    expect(update.kind).toBe('change');
    expect(update.priorKeys).toEqual(['pas:claim:http://example.org/PATIENT_EVENT_TRACE_NUMBER|111099']);
    const claim = update.requestView.entry![0]!.resource as Claim;
    expect(claim.related).toBeUndefined();
    expect(claim.meta?.profile).toEqual([PasProfile.claim]);
    // B4184 is withdrawn: the request is G0154 and the added B4185, unflagged.
    expect(claim.item!.map((i) => i.productOrService.coding![0]!.code)).toEqual(['G0154', 'B4185']);
    expect(JSON.stringify(claim.item)).not.toContain(PasExtension.infoChanged);
    expect(update.requestView.entry!.filter((e) => e.resource?.resourceType === 'Claim')).toHaveLength(1);
    expect(validateProfile(update.requestView, PasProfile.requestBundle).errors).toEqual([]);
    const mapped = mapOrder({
      format: 'fhir',
      raw: Buffer.from(JSON.stringify(update.requestView)),
      tenant: 'clinic-a',
      sender: 'ehr',
    });
    expect(mapped.ok).toBe(true);
  });

  it('withdrawing every item, or certification type 3 on the Claim, cancels it', () => {
    const all = updateExample();
    for (const item of (all.entry![0]!.resource as Claim).item!)
      item.modifierExtension = [{ url: PasExtension.infoCancelled, valueBoolean: true }];
    expect(readClaimUpdate(all)?.kind).toBe('cancel');
    const whole = updateExample();
    (whole.entry![0]!.resource as Claim).extension = [
      {
        url: PasExtension.certificationType,
        valueCodeableConcept: { coding: [{ system: 'https://codesystem.x12.org/005010/1322', code: '3' }] },
      },
    ];
    expect(readClaimUpdate(whole)?.kind).toBe('cancel');
  });

  it('a related identifier counts as well; a new request is no update', () => {
    const byIdentifier = updateExample();
    (byIdentifier.entry![0]!.resource as Claim).related = [
      { claim: { identifier: { system: 'urn:ehr', value: 'A-1' } } },
    ];
    expect(readClaimUpdate(byIdentifier)?.priorKeys).toEqual(['pas:claim:urn:ehr|A-1']);
    expect(readClaimUpdate(corpus('Bundle-HomecareAuthorizationBundleExample.json'))).toBeUndefined();
  });

  it('odd shapes the request profile lets through (objects for arrays, numbers for strings, nulls) never throw', () => {
    // Before: `Claim/${id}` on an object id, `fullUrl.endsWith` on a number, `related ?? []` on an object … threw a
    // TypeError where the sender deserves a typed answer. Now an odd shape reads as no update or as no prior key.
    const odd = fc.oneof(fc.anything(), fc.constant(null), fc.constant({ toString: 1 }), fc.constant([null]));
    fc.assert(
      fc.property(odd, odd, odd, odd, odd, (related, item, extension, fullUrl, id) => {
        const bundle = updateExample();
        const claim = bundle.entry![0]!.resource as unknown as Record<string, unknown>;
        claim.related = related;
        claim.item = item;
        claim.extension = extension;
        const prior = bundle.entry!.find((e, i) => i > 0 && e.resource?.resourceType === 'Claim')!;
        (prior as Record<string, unknown>).fullUrl = fullUrl;
        (prior.resource as unknown as Record<string, unknown>).id = id;
        const update = readClaimUpdate(bundle);
        if (update) expect(['cancel', 'change']).toContain(update.kind);
      }),
      { numRuns: 300 },
    );
  });
});
