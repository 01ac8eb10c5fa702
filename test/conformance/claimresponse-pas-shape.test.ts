/**
 * Our ClaimResponses read like the Da Vinci PAS IG's own: a reader written from the IG's examples (review action
 * code and number in item.adjudication.extension[reviewAction], administrationReferenceNumber for pended, error[]
 * for errors; see test/fixtures/pas/SOURCES.md) gets the same kind of answer from the IG's examples and from ours,
 * and the validator that gates publication accepts the IG's examples and refuses a broken one.
 */
import { readFileSync } from 'node:fs';
import type { Bundle, ClaimResponse } from '@medplum/fhirtypes';
import { describe, expect, it } from 'vitest';
import { buildClaimResponse, r4Problems } from '../../src/outbound/index.ts';
import { at, decisionScenarios, payer, tenant } from '../fixtures/outbound/scenarios.ts';
import { fixturePath } from '../helpers/fixtures.ts';

const PAS = 'http://hl7.org/fhir/us/davinci-pas/StructureDefinition';

function corpusClaimResponse(file: string): ClaimResponse {
  const resource = JSON.parse(readFileSync(fixturePath('pas', file), 'utf8')) as Bundle | ClaimResponse;
  if (resource.resourceType === 'ClaimResponse') return resource;
  return resource
    .entry!.map((e) => e.resource)
    .find((r) => r?.resourceType === 'ClaimResponse') as ClaimResponse;
}

/** What a PAS-aware EHR reads from a ClaimResponse. */
function readAsPasClient(cr: ClaimResponse) {
  return {
    use: cr.use,
    outcome: cr.outcome,
    items: (cr.item ?? []).map((item) => {
      const reviewAction = item.adjudication
        .flatMap((a) => a.extension ?? [])
        .find((e) => e.url === `${PAS}/extension-reviewAction`);
      const code = reviewAction?.extension?.find((e) => e.url === `${PAS}/extension-reviewActionCode`)
        ?.valueCodeableConcept?.coding?.[0];
      return {
        reviewActionSystem: code?.system,
        reviewActionCode: code?.code,
        hasNumber: !!reviewAction?.extension?.find((e) => e.url === 'number')?.valueString,
        hasAdministrationReference: !!item.extension?.find(
          (e) => e.url === `${PAS}/extension-administrationReferenceNumber`,
        )?.valueString,
      };
    }),
    errorCodes: (cr.error ?? []).map((e) => e.code.coding?.[0]?.code),
  };
}

const ours = (name: string) =>
  buildClaimResponse({
    caseRecord: decisionScenarios.find((s) => s.name === name)!.caseRecord,
    tenant,
    payer,
    at,
  });

const pairs = [
  ['approved', 'Bundle-ReferralAuthorizationResponseBundleExample.json', 'A1'],
  ['pended-docs-request', 'Bundle-ReferralPendingAuthorizationResponseBundleExample.json', 'A4'],
  ['denied', 'Bundle-RejectionResponseBundleExample.json', 'A3'],
] as const;

describe('ClaimResponse shape against the Da Vinci PAS examples', () => {
  it.each(pairs)('%s reads like the IG example %s (review action %s)', (name, file, code) => {
    const theirs = readAsPasClient(corpusClaimResponse(file));
    const mine = readAsPasClient(ours(name));
    expect(theirs.items[0]?.reviewActionCode).toBe(code);
    expect(mine.use).toBe(theirs.use);
    expect(mine.items[0]).toEqual(theirs.items[0]);
  });

  it('an error reads like the IG error example: outcome error, X12 901 codes, no items', () => {
    const theirs = readAsPasClient(corpusClaimResponse('Bundle-ErrorResponseBundleExample.json'));
    const mine = readAsPasClient(ours('error'));
    expect(mine.outcome).toBe(theirs.outcome);
    expect(mine.items).toEqual(theirs.items);
    expect(theirs.errorCodes).toContain('T4');
    expect(mine.errorCodes).toEqual(['T4']);
  });

  it('uses only PAS extension URLs that the IG examples use', () => {
    const corpusText = [
      'ClaimResponse-PractitionerRequestorAdditionalContentResponseExample.json',
      ...pairs.map((p) => p[1]),
      // item trace numbers: the IG shows them on the Claim items the response echoes
      'Bundle-ReferralAuthorizationBundleExample.json',
    ]
      .map((f) => readFileSync(fixturePath('pas', f), 'utf8'))
      .join('\n');
    const used = new Set<string>();
    for (const s of decisionScenarios) {
      for (const match of JSON.stringify(ours(s.name)).matchAll(/"url":"([^"]+)"/g)) {
        if (match[1]!.startsWith(PAS)) used.add(match[1]!);
      }
    }
    expect(used.size).toBeGreaterThan(4);
    expect([...used].filter((url) => !corpusText.includes(`"${url}"`))).toEqual([]);
  });

  it.each([
    'ClaimResponse-PractitionerRequestorAdditionalContentResponseExample.json',
    ...pairs.map((p) => p[1]),
    'Bundle-ErrorResponseBundleExample.json',
  ])('the publication gate accepts the IG example %s', (file) => {
    expect(r4Problems(corpusClaimResponse(file))).toEqual([]);
  });

  it('the publication gate refuses a ClaimResponse missing required elements', () => {
    const broken = {
      ...corpusClaimResponse('Bundle-RejectionResponseBundleExample.json'),
    } as Partial<ClaimResponse>;
    delete broken.use;
    delete broken.patient;
    const problems = r4Problems(broken as ClaimResponse);
    expect(problems.map((p) => p.location)).toEqual(
      expect.arrayContaining(['ClaimResponse.use', 'ClaimResponse.patient']),
    );
  });
});
