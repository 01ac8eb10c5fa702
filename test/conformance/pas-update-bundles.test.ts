/**
 * The PAS claim update and the additional-information ($submit-attachment) Parameters the connector sends: each
 * passes the PAS 2.2.1 profiles the repository checks, and flags items as "Updating Authorization Requests" says
 * (added, changed, withdrawn; the prior Claim included and related by reference and identifier).
 */
import type { Bundle, Claim, ClaimItem, DocumentReference, Parameters } from '@medplum/fhirtypes';
import { describe, expect, it } from 'vitest';
import { buildPasAttachmentParameters, pasAttachmentUrl } from '../../connectors/pas/attachment.ts';
import { buildPasCancelBundle, buildPasRequestBundle } from '../../connectors/pas/request-bundle.ts';
import { buildPasUpdateBundle } from '../../connectors/pas/update-bundle.ts';
import { CodeSystem } from '../../src/canonical/index.ts';
import { PasExtension } from '../../src/outbound/index.ts';
import { PasProfile, validateProfile } from '../../src/profiles/index.ts';
import { sampleRequest } from '../helpers/fixtures.ts';

const ctx = {
  tenant: 'clinic-a',
  caseId: '0195a3c1-0000-8000-8000-000000000042',
  at: new Date('2026-03-02T10:00:00Z'),
  payer: { id: 'insurer-example-pas', name: 'Insurer Example' },
};

const twoLines = sampleRequest({
  serviceLines: [
    { sequence: 1, code: { system: CodeSystem.CPT, code: '70553' }, quantity: { value: 1, unit: 'UN' } },
    { sequence: 2, code: { system: CodeSystem.CPT, code: '72148' }, quantity: { value: 1, unit: 'UN' } },
  ],
});

const flags = (item: ClaimItem) => ({
  sequence: item.sequence,
  change: item.extension?.find((e) => e.url === PasExtension.infoChanged)?.valueCode,
  certification: item.extension?.find((e) => e.url === PasExtension.certificationType)?.valueCodeableConcept
    ?.coding?.[0]?.code,
  cancelled: item.modifierExtension?.some((e) => e.url === PasExtension.infoCancelled && e.valueBoolean),
});

describe('PAS claim update', () => {
  const submitted = buildPasRequestBundle(twoLines, ctx);

  it('flags a changed item and a withdrawn one against the prior version, and passes the profile', () => {
    const changed = sampleRequest({
      serviceLines: [
        { sequence: 1, code: { system: CodeSystem.CPT, code: '70553' }, quantity: { value: 3, unit: 'UN' } },
      ],
    });
    const bundle = buildPasUpdateBundle(changed, ctx, { number: 1, prior: submitted });
    expect(validateProfile(bundle, PasProfile.requestBundle).errors).toEqual([]);
    const update = bundle.entry![0]!.resource as Claim;
    expect(update.meta?.profile).toEqual([PasProfile.claimUpdate]);
    expect(validateProfile(update, PasProfile.claimUpdate).errors).toEqual([]);
    const trace = (submitted.entry![0]!.resource as Claim).identifier![0]!;
    expect(update.identifier![0]!.value).toBe(`${trace.value}-U1`);
    expect(update.related![0]!.claim).toEqual({ reference: submitted.entry![0]!.fullUrl, identifier: trace });
    // The prior Claim is in the Bundle (PAS spec-72), and so is the withdrawn line's order.
    expect(bundle.entry![1]!.fullUrl).toBe(submitted.entry![0]!.fullUrl);
    const withdrawnOrder = (submitted.entry![0]!.resource as Claim).item![1]!.extension!.find(
      (e) => e.url === PasExtension.requestedService,
    )!.valueReference!.reference;
    expect(bundle.entry!.some((e) => e.fullUrl === withdrawnOrder)).toBe(true);
    expect(update.item!.map(flags)).toEqual([
      { sequence: 1, change: 'changed', certification: 'S', cancelled: undefined },
      { sequence: 2, change: 'changed', certification: '3', cancelled: true },
    ]);
  });

  it('a second update relates to the first, names its prior by identifier only, and flags only new changes', () => {
    const first = buildPasUpdateBundle(sampleRequest({ serviceLines: [twoLines.serviceLines[0]!] }), ctx, {
      number: 1,
      prior: submitted,
    });
    const added = sampleRequest({
      serviceLines: [
        twoLines.serviceLines[0]!,
        { sequence: 3, code: { system: CodeSystem.CPT, code: '73721' }, quantity: { value: 1 } },
      ],
    });
    const second = buildPasUpdateBundle(added, ctx, { number: 2, prior: first });
    expect(validateProfile(second, PasProfile.requestBundle).errors).toEqual([]);
    const update = second.entry![0]!.resource as Claim;
    expect(update.identifier![0]!.value).toMatch(/-U2$/);
    expect(update.related![0]!.claim?.identifier?.value).toMatch(/-U1$/);
    const prior = second.entry![1]!.resource as Claim;
    expect(prior.related![0]!.claim).toEqual({
      identifier: expect.objectContaining({ system: expect.any(String) }),
    });
    expect(update.item!.map(flags)).toEqual([
      { sequence: 1, change: undefined, certification: 'I', cancelled: undefined },
      { sequence: 2, change: undefined, certification: '3', cancelled: true },
      { sequence: 3, change: 'added', certification: 'I', cancelled: undefined },
    ]);
  });

  it('the cancel update carries certification type 3 on the Claim as well as on each item', () => {
    const cancel: Bundle = buildPasCancelBundle(twoLines, ctx);
    const claim = cancel.entry![0]!.resource as Claim;
    expect(
      claim.extension?.find((e) => e.url === PasExtension.certificationType)?.valueCodeableConcept
        ?.coding?.[0]?.code,
    ).toBe('3');
    expect(validateProfile(cancel, PasProfile.requestBundle).errors).toEqual([]);
  });
});

describe('PAS additional information ($submit-attachment)', () => {
  const document = {
    documentId: 'doc-1',
    controlNumber: 'ACN0000001',
    reportType: '09',
    contentType: 'application/pdf',
    content: Buffer.from('%PDF-1.4 test'),
  };

  it('carries the document inline in a PAS DocumentReference, with the tracking and member identifiers', () => {
    const parameters: Parameters = buildPasAttachmentParameters(twoLines, ctx, document, {
      lines: [1, 2],
      final: true,
    });
    const named = (name: string) => parameters.parameter!.find((p) => p.name === name);
    expect(named('TrackingId')?.valueIdentifier?.value).toBe('ACN0000001');
    expect(named('AttachTo')?.valueCode).toBe('preauthorization');
    expect(named('MemberId')?.valueIdentifier?.value).toBe(twoLines.coverage.memberId);
    const attachment = named('Attachment')!.part!;
    expect(attachment.filter((p) => p.name === 'LineItem').map((p) => p.valueString)).toEqual(['1', '2']);
    const doc = attachment.find((p) => p.name === 'Content')!.resource as DocumentReference;
    expect(doc.content[0]!.attachment.data).toBe(Buffer.from('%PDF-1.4 test').toString('base64'));
    expect(doc.content[0]!.attachment.url).toBeUndefined();
    expect(validateProfile(doc, PasProfile.documentReference).errors).toEqual([]);
  });

  // CDex 2.1.0 OperationDefinition submit-attachment (http://hl7.org/fhir/us/davinci-cdex/OperationDefinition/
  // submit-attachment, version 2.1.0) and its Parameters profile: case-sensitive names, closed slicing.
  it('uses exactly the CDex 2.1.0 parameter names and cardinalities, and declares the Parameters profile', () => {
    const request = sampleRequest({
      ...twoLines,
      serviceLines: twoLines.serviceLines.map((l, i) => ({
        ...l,
        servicePeriod: { start: i === 0 ? '2026-03-20' : '2026-03-10' },
      })),
    });
    const parameters = buildPasAttachmentParameters(request, ctx, document, { lines: [1, 2], final: false });
    expect(parameters.meta?.profile).toEqual([
      'http://hl7.org/fhir/us/davinci-cdex/StructureDefinition/cdex-parameters-submit-attachment',
    ]);
    const names = parameters.parameter!.map((p) => p.name);
    const published = [
      'TrackingId',
      'AttachTo',
      'PayerId',
      'OrganizationId',
      'ProviderId',
      'MemberId',
      'ServiceDate',
      'Attachment',
      'Final',
    ];
    for (const name of names) expect(published).toContain(name);
    // 1..1 inputs once each; the 0..1 ones at most once.
    for (const name of published.filter((n) => n !== 'Attachment'))
      expect(names.filter((n) => n === name).length).toBeLessThanOrEqual(1);
    for (const name of ['TrackingId', 'AttachTo', 'MemberId', 'Attachment']) expect(names).toContain(name);
    const one = (name: string) => parameters.parameter!.find((p) => p.name === name)!;
    expect(one('TrackingId').valueIdentifier).toBeDefined();
    expect(one('AttachTo').valueCode).toBe('preauthorization');
    expect(one('PayerId').valueIdentifier?.value).toBeTruthy();
    expect(one('MemberId').valueIdentifier).toBeDefined();
    expect(one('ServiceDate').valueDateTime).toBe('2026-03-10');
    expect(one('Final').valueBoolean).toBe(false);
    const parts = one('Attachment').part!;
    for (const part of parts) expect(['LineItem', 'Code', 'Content']).toContain(part.name);
    expect(parts.filter((p) => p.name === 'Content')).toHaveLength(1);
    expect(parts.filter((p) => p.name === 'Code')).toHaveLength(1);
    expect(parts.find((p) => p.name === 'Code')!.valueCodeableConcept!.coding).toEqual([
      { system: 'https://codesystem.x12.org/005010/755', code: '09' },
      { system: 'http://loinc.org', code: '11506-3', display: 'Progress note' },
    ]);
    expect(parts.find((p) => p.name === 'Content')!.resource?.resourceType).toBe('DocumentReference');
    expect(JSON.stringify(parameters)).not.toMatch(
      /"name":"(trackingId|attachTo|memberId|attachment|content)"/,
    );
  });
});

describe('where $submit-attachment goes (pasAttachmentUrl)', () => {
  it("the operation at the PAS base by default; the payer's own attachment endpoint when the channel names one", () => {
    expect(pasAttachmentUrl({ baseUrl: 'https://payer.example/fhir/' })).toBe(
      'https://payer.example/fhir/$submit-attachment',
    );
    expect(
      pasAttachmentUrl({
        baseUrl: 'https://payer.example/fhir',
        attachmentUrl: 'https://cdex.payer.example/r4/$submit-attachment',
      }),
    ).toBe('https://cdex.payer.example/r4/$submit-attachment');
  });
});
