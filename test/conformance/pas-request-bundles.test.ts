/**
 * Conformance of what the PAS connector sends payers: for every order of the inbound corpus that maps (HL7 v2,
 * FHIR orders, PAS Claims) the `$submit` request Bundle, the `$inquire` Bundle and the cancel update pass their
 * PAS 2.2.1 profiles (the builders refuse to return one that does not; this checks again, independently of that
 * guard, and names each file).
 */
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import type { Bundle, Claim, MedicationRequest } from '@medplum/fhirtypes';
import { describe, expect, it } from 'vitest';
import {
  buildPasCancelBundle,
  buildPasInquiryBundle,
  buildPasRequestBundle,
} from '../../connectors/pas/request-bundle.ts';
import type { AuthorizationRequest } from '../../src/canonical/index.ts';
import { mapOrder } from '../../src/mapping/index.ts';
import { PasProfile, validateProfile } from '../../src/profiles/index.ts';
import { sampleRequest } from '../helpers/fixtures.ts';
import { caseInput, mappingCases, readFixture } from './mapping-cases.ts';

const rows: { file: string; request: AuthorizationRequest }[] = [
  { file: 'canonical/authorization-request.valid.json', request: sampleRequest() },
];
for (const c of mappingCases) {
  if (!('maps' in c.expect)) continue;
  const mapped = mapOrder({ ...caseInput, raw: readFixture(c.file), profile: c.profile });
  if (!mapped.ok) continue;
  for (const [i, request] of mapped.requests.entries())
    rows.push({ file: mapped.requests.length > 1 ? `${c.file}#${i}` : c.file, request });
}

// Pharmacy requests drafted from PA flags (issue #15): an NDC line with its prescription, a pharmacy benefit.
const draftsDir = path.join(import.meta.dirname, '../fixtures/pharmacy/drafts');
for (const file of readdirSync(draftsDir)
  .filter((f) => f.endsWith('.expected.json'))
  .sort()) {
  const golden = JSON.parse(readFileSync(path.join(draftsDir, file), 'utf8')) as {
    kind: string;
    request?: AuthorizationRequest;
  };
  if (golden.kind === 'draft' && golden.request)
    rows.push({ file: `pharmacy/drafts/${file}`, request: golden.request });
}

const ctx = (i: number) => ({
  tenant: 'clinic-a',
  caseId: `0195a3c1-0000-8000-8000-${String(i).padStart(12, '0')}`,
  at: new Date('2026-03-02T10:00:00Z'),
  payer: { id: 'insurer-example-pas', name: 'Insurer Example' },
});

describe('PAS request Bundles we send, for every mapped order', () => {
  it('covers HL7 v2, FHIR and PAS inputs', () => {
    const formats = new Set(rows.map((r) => r.request.source.format));
    expect(formats).toEqual(new Set(['hl7v2', 'fhir', 'pas', 'api']));
  });

  it.each(rows.map((r, i) => ({ ...r, i })))(
    '$file: the submit, inquire and cancel Bundles pass their profiles',
    ({ request, i }) => {
      const submit = buildPasRequestBundle(request, ctx(i));
      expect(validateProfile(submit, PasProfile.requestBundle).errors).toEqual([]);
      expect(
        validateProfile(buildPasInquiryBundle(request, ctx(i)), PasProfile.inquiryRequestBundle).errors,
      ).toEqual([]);
      const cancel: Bundle = buildPasCancelBundle(request, ctx(i));
      expect(validateProfile(cancel, PasProfile.requestBundle).errors).toEqual([]);
      const claim = submit.entry![0]!.resource as Claim;
      expect(claim.identifier?.[0]?.value).toBe(ctx(i).caseId.replace(/-/g, '').toUpperCase());
      expect(claim.item?.length).toBe(request.serviceLines.length);
      // A prescription goes as a MedicationRequest for its NDC, with days supply and refills.
      const rx = request.serviceLines.find((l) => l.prescription);
      if (rx) {
        const med = submit.entry!.find((e) => e.resource?.resourceType === 'MedicationRequest')
          ?.resource as MedicationRequest;
        expect(med.medicationCodeableConcept?.coding?.[0]).toMatchObject({
          system: 'http://hl7.org/fhir/sid/ndc',
          code: rx.code.code,
        });
        expect(med.dispenseRequest).toMatchObject({
          ...(rx.prescription!.daysSupply !== undefined
            ? { expectedSupplyDuration: { value: rx.prescription!.daysSupply, code: 'd' } }
            : {}),
          ...(rx.prescription!.refills !== undefined
            ? { numberOfRepeatsAllowed: rx.prescription!.refills }
            : {}),
        });
      }
    },
  );
});
