/**
 * Pharmacy write-backs, the status event's pharmacy part (status.v1.1) and the pharmacist's sign-off gate: pure
 * functions, checked on the canonical pharmacy fixture.
 */
import { describe, expect, it } from 'vitest';
import type { AuthorizationDecision, AuthorizationRequest } from '../../src/canonical/index.ts';
import type { OutboundCase } from '../../src/outbound/case-view.ts';
import { outboundFor } from '../../src/outbound/outbound.ts';
import {
  buildCaseWriteBack,
  buildFlagWriteBack,
  writeBackStatusFor,
} from '../../src/outbound/pharmacy-writeback.ts';
import { parseTenantSettings } from '../../src/outbound/tenant.ts';
import { withPharmacistSignOff } from '../../src/workflow/pharmacy/sign-off.ts';
import type { GateSpec } from '../../src/workflow/review/gate.ts';
import { readJsonFixture } from '../helpers/fixtures.ts';
import { pharmacyTenant } from '../helpers/pharmacy.ts';

const request = readJsonFixture<AuthorizationRequest>('canonical', 'pharmacy-request.valid.json');
const tenant = pharmacyTenant();
const at = new Date('2026-03-02T14:06:00Z');
const caseOf = (overrides: Partial<OutboundCase> = {}): OutboundCase => ({
  id: '0195a3c1-7c2e-8b41-9f00-100700000015',
  tenant: 'pharmacy-a',
  state: 'awaiting_review',
  version: 4,
  request,
  decision: null,
  payerId: 'example-pbm',
  channel: 'x12',
  ...overrides,
});
const decision = (outcome: AuthorizationDecision['outcome'], extra: Partial<AuthorizationDecision> = {}) =>
  ({
    outcome,
    payer: { id: 'example-pbm' },
    channel: 'x12',
    lines: [],
    reasons: [],
    decidedAt: '2026-03-02T15:00:00Z',
    ...extra,
  }) as AuthorizationDecision;

describe('pharmacy write-backs', () => {
  it.each([
    ['review_requested', null, 'draft_ready'],
    ['submitted', null, 'submitted'],
    ['pended', decision('pended'), 'pended'],
    ['pended', decision('pended', { followUp: 'send_documentation' }), 'more_info_needed'],
    ['decided', decision('approved'), 'approved'],
    ['decided', decision('modified'), 'approved'],
    ['decided', decision('denied'), 'denied'],
    ['rejected', null, 'rejected'],
    ['validated', null, undefined],
    ['delivered', decision('approved'), undefined],
  ] as const)('%s (%j) writes back %s', (event, d, status) => {
    expect(writeBackStatusFor(event, caseOf({ decision: d }))).toBe(status);
  });

  it('draft_ready carries the checklist with evidence references; the id is stable under replay', () => {
    const one = buildCaseWriteBack({ event: 'review_requested', caseRecord: caseOf(), tenant, at })!;
    expect(one).toMatchObject({
      schema: 'pharmacy-writeback.v1.0',
      status: 'draft_ready',
      sender: 'pioneerrx-demo',
      prescriptionId: 'RX-2026-0001',
      patientId: 'PT-1001',
      caseVersion: 4,
      checklist: {
        criteriaId: 'adalimumab-rheumatoid-arthritis',
        summary: { met: 1, notMet: 0, unknown: 1 },
      },
    });
    expect(one.checklist!.items[0]!.evidence).toEqual(['pa-flag']);
    expect(one).not.toHaveProperty('transactionId');
    expect(buildCaseWriteBack({ event: 'review_requested', caseRecord: caseOf(), tenant, at })!.eventId).toBe(
      one.eventId,
    );
  });

  it('a denial carries the payer reasons and no certification number', () => {
    const denied = buildCaseWriteBack({
      event: 'decided',
      caseRecord: caseOf({
        state: 'decided',
        version: 7,
        decision: decision('denied', {
          certificationNumber: 'X1',
          reasons: [{ code: 'AO', text: 'Step therapy not documented' }],
        }),
      }),
      tenant,
      at,
    })!;
    expect(denied).toMatchObject({
      status: 'denied',
      reasons: [{ code: 'AO', text: 'Step therapy not documented' }],
    });
    expect(denied.transactionId).toBe('0195A3C17C2E8B419F00100700000015');
    expect(denied).not.toHaveProperty('certificationNumber');
  });

  it('writes nothing back for a sender without callback URL, nor for a case not drafted from a flag', () => {
    const noCallback = parseTenantSettings({
      ...tenant,
      pharmacy: { senders: tenant.pharmacy!.senders.map(({ callbackUrl: _, ...s }) => s) },
    });
    expect(
      buildCaseWriteBack({ event: 'submitted', caseRecord: caseOf(), tenant: noCallback, at }),
    ).toBeUndefined();
    const clinical = {
      ...request,
      idempotencyKey: 'hl7v2:EPIC:1',
      source: { format: 'hl7v2' as const, sender: 'EPIC' },
    };
    expect(
      buildCaseWriteBack({ event: 'submitted', caseRecord: caseOf({ request: clinical }), tenant, at }),
    ).toBeUndefined();
  });

  it('needs_info names each missing fact', () => {
    const needsInfo = buildFlagWriteBack({
      tenant: 'pharmacy-a',
      sender: 'pioneerrx-demo',
      prescriptionId: 'RX-9',
      patientId: 'pt-1003',
      requestId: '0195a3c1-7c2e-8b41-9f00-100700000099',
      status: 'needs_info',
      missing: [{ location: 'coverage.cardholderId', message: 'no cardholder id' }],
      at,
    });
    expect(needsInfo).toMatchObject({
      status: 'needs_info',
      missing: [{ location: 'coverage.cardholderId' }],
    });
    expect(needsInfo).not.toHaveProperty('caseId');
  });

  it('outboundFor writes the write-back beside a status.v1.1 event with the pharmacy part, no patient id', () => {
    const plan = outboundFor({
      event: 'review_requested',
      caseRecord: caseOf(),
      previousState: 'eligibility_checked',
      tenant,
      topics: { claimResponse: 'cr', status: 'st', pharmacyWriteBack: 'wb' },
      at,
    });
    const status = plan.outbox.find((m) => m.topic === 'st')!;
    expect(status.headers!['pagw-schema-version']).toBe('status.v1.1');
    expect(status.value).toMatchObject({
      schema: 'status.v1.1',
      pharmacy: {
        sender: 'pioneerrx-demo',
        prescriptionId: 'RX-2026-0001',
        writeBack: 'draft_ready',
        checklist: { criteriaId: 'adalimumab-rheumatoid-arthritis', met: 1, notMet: 0, unknown: 1 },
      },
    });
    expect(JSON.stringify(status.value)).not.toContain('PT-1001');
    expect(plan.outbox.find((m) => m.topic === 'wb')).toMatchObject({ key: caseOf().id });
  });
});

describe('pharmacist sign-off', () => {
  const key = 'pa:pharmacy-a:pt-0000000000000000:example-pbm:00074043361:00000000000000000000000000000000';
  const plain: GateSpec = {
    reason: 'payer_rule',
    rolloutMode: 'auto',
    submissionKey: key,
    requiredRole: 'reviewer',
    approvalsRequired: 1,
    severity: 'normal',
  };

  it('opens a pharmacist gate when no policy did, listing what the checklist could not decide', () => {
    expect(withPharmacistSignOff(null, request, key)).toMatchObject({
      requiredRole: 'pharmacist',
      policyId: 'pharmacy:pharmacist-sign-off',
      severity: 'high',
      facts: {
        draft: { criteriaId: 'adalimumab-rheumatoid-arthritis', unknown: ['tb-screening'], notMet: [] },
      },
    });
  });

  it('makes a plain reviewer gate a pharmacist’s, and leaves a medical director’s as it is', () => {
    expect(withPharmacistSignOff(plain, request, key)?.requiredRole).toBe('pharmacist');
    expect(
      withPharmacistSignOff({ ...plain, requiredRole: 'medical_director' }, request, key)?.requiredRole,
    ).toBe('medical_director');
  });

  it('leaves other requests alone', () => {
    const clinical = { ...request, idempotencyKey: 'hl7v2:EPIC:1' };
    expect(withPharmacistSignOff(null, clinical, key)).toBeNull();
    expect(withPharmacistSignOff(plain, clinical, key)).toBe(plain);
  });
});
