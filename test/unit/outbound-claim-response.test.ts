import { readFileSync } from 'node:fs';
import path from 'node:path';
import type { ClaimResponse } from '@medplum/fhirtypes';
import { describe, expect, it } from 'vitest';
import { buildClaimResponse, OutboundBuildError, r4Problems } from '../../src/outbound/index.ts';
import { at, decisionScenarios, outboundFixturesDir, payer, tenant } from '../fixtures/outbound/scenarios.ts';

const PAS = 'http://hl7.org/fhir/us/davinci-pas/StructureDefinition';

function golden(name: string): unknown {
  // A missing golden fails here: regenerate on purpose with `npx tsx test/fixtures/outbound/regenerate.ts`.
  return JSON.parse(
    readFileSync(path.join(outboundFixturesDir, 'claimresponse', `${name}.expected.json`), 'utf8'),
  );
}

function reviewActions(cr: ClaimResponse): Array<{ code?: string; number?: string }> {
  return (cr.item ?? []).map((item) => {
    const action = item.adjudication[0]?.extension?.find((e) => e.url === `${PAS}/extension-reviewAction`);
    return {
      code: action?.extension?.find((e) => e.url === `${PAS}/extension-reviewActionCode`)
        ?.valueCodeableConcept?.coding?.[0]?.code,
      number: action?.extension?.find((e) => e.url === 'number')?.valueString,
    };
  });
}

const scenario = (name: string) => decisionScenarios.find((s) => s.name === name)!;
const build = (name: string) =>
  buildClaimResponse({ caseRecord: scenario(name).caseRecord, tenant, payer, at });

describe('buildClaimResponse', () => {
  it.each(decisionScenarios.map((s) => [s.name, s] as const))('%s matches its golden file', (name, s) => {
    expect(buildClaimResponse({ caseRecord: s.caseRecord, tenant, payer, at })).toEqual(golden(name));
  });

  it.each(decisionScenarios.map((s) => [s.name, s] as const))('%s passes FHIR R4 validation', (_name, s) => {
    expect(r4Problems(buildClaimResponse({ caseRecord: s.caseRecord, tenant, payer, at }))).toEqual([]);
  });

  it('is deterministic: the same case and time give the same resource', () => {
    expect(JSON.stringify(build('modified-units'))).toBe(JSON.stringify(build('modified-units')));
  });

  it('approval: use preauthorization, outcome complete, preAuthRef, preAuthPeriod, A1 with the auth number', () => {
    const cr = build('approved');
    expect(cr).toMatchObject({
      resourceType: 'ClaimResponse',
      status: 'active',
      use: 'preauthorization',
      outcome: 'complete',
      preAuthRef: 'AUTH0001',
      preAuthPeriod: { start: '2025-03-05', end: '2025-06-03' },
    });
    expect(reviewActions(cr)).toEqual([{ code: 'A1', number: 'AUTH0001' }]);
  });

  it('denial: A3 with the reason code, no preAuthRef and no authorization number', () => {
    const cr = build('denied');
    expect(cr.outcome).toBe('complete');
    expect(cr.preAuthRef).toBeUndefined();
    expect(reviewActions(cr)).toEqual([{ code: 'A3', number: undefined }]);
    expect(cr.item?.[0]?.adjudication[0]?.reason?.coding?.[0]).toEqual({
      system: 'https://codesystem.x12.org/005010/4',
      code: 'AB',
    });
  });

  it('pended with a documentation request: outcome complete (PAS), A4, administrationReferenceNumber on the item', () => {
    const cr = build('pended-docs-request');
    expect(cr.outcome).toBe('complete');
    expect(reviewActions(cr)).toEqual([{ code: 'A4', number: undefined }]);
    expect(cr.item?.[0]?.extension).toContainEqual({
      url: `${PAS}/extension-administrationReferenceNumber`,
      valueString: 'PEND0001',
    });
  });

  it('modified units: A6 with the authorized quantity per line, not the requested one', () => {
    const cr = build('modified-units');
    expect(reviewActions(cr)).toEqual([
      { code: 'A6', number: 'AUTH0042-1' },
      { code: 'A1', number: 'AUTH0042' },
    ]);
    const detail = cr.item?.[0]?.extension?.find((e) => e.url === `${PAS}/extension-itemAuthorizedDetail`);
    expect(detail?.extension?.find((e) => e.url === 'quantity')?.valueQuantity).toEqual({
      value: 6,
      unit: 'VS',
    });
  });

  it('error: outcome error with the payer error codes and no items', () => {
    const cr = build('error');
    expect(cr.outcome).toBe('error');
    expect(cr.item).toBeUndefined();
    expect(cr.error?.[0]?.code.coding?.[0]).toEqual({
      system: 'https://codesystem.x12.org/005010/901',
      code: 'T4',
    });
  });

  it('a line the payer could not process makes the outcome partial', () => {
    const s = scenario('modified-units');
    const decision = s.caseRecord.decision!;
    const cr = buildClaimResponse({
      caseRecord: {
        ...s.caseRecord,
        decision: { ...decision, lines: [decision.lines[0]!, { sequence: 2, outcome: 'error' }] },
      },
      tenant,
      payer,
      at,
    });
    expect(cr.outcome).toBe('partial');
  });

  it('ties the response to the case and the order: case id, placer and filler numbers, the FHIR ServiceRequest', () => {
    const hl7 = build('approved');
    expect(hl7.id).toBe(scenario('approved').caseRecord.id);
    expect(hl7.identifier?.map((i) => [i.system, i.value])).toEqual([
      ['urn:pagw:clinic-a:trace', scenario('approved').caseRecord.id.replace(/-/g, '').toUpperCase()],
      ['urn:pagw:clinic-a:case', scenario('approved').caseRecord.id],
      ['urn:pagw:clinic-a:placer-order', 'ORD-5521'],
      ['urn:pagw:clinic-a:filler-order', 'PA-77'],
    ]);
    expect(build('fhir-approved').extension).toContainEqual({
      url: 'http://hl7.org/fhir/StructureDefinition/event-basedOn',
      valueReference: { reference: 'ServiceRequest/sr-881' },
    });
  });

  it('names the patient by MRN only: no name, birth date or member id anywhere in the resource', () => {
    const text = JSON.stringify(build('approved'));
    expect(text).toContain('MRN-100234');
    for (const phi of ['Testpatient', 'Alex', '1980-04-12', 'W123456789']) expect(text).not.toContain(phi);
  });

  it('refuses a case without a decision with PAGW_OUTBOUND_NO_DECISION', () => {
    const s = scenario('approved');
    expect(() => buildClaimResponse({ caseRecord: { ...s.caseRecord, decision: null }, tenant, at })).toThrow(
      expect.objectContaining({ code: 'PAGW_OUTBOUND_NO_DECISION' }),
    );
  });

  it('never returns an invalid resource: an empty authorization number fails R4 validation as a typed error', () => {
    const s = scenario('approved');
    let error: unknown;
    try {
      buildClaimResponse({
        caseRecord: { ...s.caseRecord, decision: { ...s.caseRecord.decision!, certificationNumber: ' ' } },
        tenant,
        at,
      });
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(OutboundBuildError);
    expect(error).toMatchObject({ code: 'PAGW_OUTBOUND_CLAIMRESPONSE_INVALID', retriable: false });
    expect((error as OutboundBuildError).problems.length).toBeGreaterThan(0);
  });
});
