import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config/load-config.ts';
import {
  caseAfterTransition,
  loadTenantDirectory,
  OutboundHeader,
  outboundEventId,
  outboundFor,
  parseTenantSettings,
} from '../../src/outbound/index.ts';
import type { CaseRecord } from '../../src/store/cases.ts';
import { OutboxHeader } from '../../src/store/outbox.ts';
import {
  at,
  decisionScenarios,
  payer,
  type Scenario,
  stateScenarios,
  tenant,
} from '../fixtures/outbound/scenarios.ts';

// As the gateway passes them without an SMTP server: no notifications topic, so no e-mail jobs in the outbox.
const { notifications: _withSmtpOnly, ...topics } = loadConfig({ env: {} }).topics;
const byName = (name: string) => [...decisionScenarios, ...stateScenarios].find((s) => s.name === name)!;
const plan = (s: Scenario, extra: Partial<Parameters<typeof outboundFor>[0]> = {}) =>
  outboundFor({
    event: s.event as Parameters<typeof outboundFor>[0]['event'],
    caseRecord: s.caseRecord,
    previousState: s.previousState,
    payer,
    tenant,
    topics,
    at,
    ...extra,
  });

describe('outboundFor', () => {
  it.each(stateScenarios.map((s) => [s.caseRecord.state, s] as const))(
    'publishes a status event on pa.status.v1 for a change to %s',
    (_state, s) => {
      const status = plan(s).outbox.filter((m) => m.topic === 'pa.status.v1');
      expect(status).toHaveLength(1);
      expect(status[0]).toMatchObject({
        key: s.caseRecord.id,
        eventId: outboundEventId(s.caseRecord.id, s.caseRecord.version, 'status'),
        headers: { [OutboxHeader.schemaVersion]: 'status.v1.0', [OutboundHeader.kind]: 'status' },
      });
    },
  );

  it('publishes a ClaimResponse only when the case lands in pended or decided', () => {
    const withClaimResponse = stateScenarios
      .filter((s) => plan(s).outbox.some((m) => m.topic === 'pa.claimresponse.v1'))
      .map((s) => s.caseRecord.state);
    expect(withClaimResponse).toEqual(['pended', 'decided']);
  });

  it('for an HL7 v2 order, adds the status message on the clinic topic; for a FHIR order, not', () => {
    const hl7 = plan(byName('approved')).outbox;
    expect(hl7.map((m) => m.topic)).toEqual(['pa.status.v1', 'pa.claimresponse.v1', 'pa.hl7v2.status.v1']);
    const message = hl7[2]!;
    expect(typeof message.value).toBe('string');
    expect(String(message.value)).toMatch(/^MSH\|\^~\\&\|PAGW\|GOODHEALTH-PA\|EPIC\|GOODHEALTH\|.*ORR\^O02/);
    expect(message.headers).toMatchObject({ [OutboundHeader.hl7MessageType]: 'ORR^O02' });
    expect(plan(byName('fhir-approved')).outbox.map((m) => m.topic)).toEqual([
      'pa.status.v1',
      'pa.claimresponse.v1',
    ]);
  });

  it('sends the HL7 v2 status to an MLLP destination through the outbox with its address in a header', () => {
    const mllpTenant = parseTenantSettings({
      ...tenant,
      hl7v2: {
        ...tenant.hl7v2,
        destination: { topic: 'pa.hl7v2.mllp-out', mllp: { host: 'ehr.local', port: 6661 } },
      },
    });
    const message = plan(byName('approved'), { tenant: mllpTenant }).outbox.at(-1)!;
    expect(message.topic).toBe('pa.hl7v2.mllp-out');
    expect(message.headers?.[OutboundHeader.mllpDestination]).toBe('ehr.local:6661');
  });

  it('keys every message by case id with distinct deterministic event ids; a replay gives identical messages', () => {
    const s = byName('pended-docs-request');
    const first = plan(s);
    expect(new Set(first.outbox.map((m) => m.key))).toEqual(new Set([s.caseRecord.id]));
    const ids = first.outbox.map((m) => m.eventId);
    expect(new Set(ids).size).toBe(ids.length);
    expect(plan(s)).toEqual(first);
  });

  it('returns the care-team e-mail, and also writes it to the outbox when a notifications topic is set', () => {
    const s = byName('denied');
    expect(plan(s).emails.map((e) => e.kind)).toEqual(['denied']);
    expect(plan(s).outbox.some((m) => m.topic === 'pa.notify.email.v1')).toBe(false);
    const withTopic = plan(s, { topics: { ...topics, notifications: 'pa.notify.email.v1' } });
    const mail = withTopic.outbox.find((m) => m.topic === 'pa.notify.email.v1')!;
    expect(mail.eventId).toBe(withTopic.emails[0]!.eventId);
    expect(plan(byName('state-submitted')).emails).toEqual([]);
  });

  it('fails the whole plan, publishing nothing, when a builder refuses', () => {
    const s = byName('approved');
    const broken = { ...s.caseRecord, decision: { ...s.caseRecord.decision!, certificationNumber: ' ' } };
    expect(() => plan({ ...s, caseRecord: broken })).toThrow(
      expect.objectContaining({ code: 'PAGW_OUTBOUND_CLAIMRESPONSE_INVALID' }),
    );
  });
});

describe('caseAfterTransition', () => {
  it('predicts what transitionCase writes: next state, version + 1, patched decision and SLA', () => {
    const s = byName('state-submitted');
    const before = {
      ...s.caseRecord,
      idempotencyKey: 'k',
      ruleVersion: null,
      createdAt: at,
      updatedAt: at,
    } as CaseRecord;
    const decision = byName('approved').caseRecord.decision!;
    const after = caseAfterTransition(
      before,
      'decided',
      { decision, slaDueAt: null },
      new Date('2025-03-05T00:00:00Z'),
    );
    expect(after).toMatchObject({ state: 'decided', version: before.version + 1, decision, slaDueAt: null });
    expect(after.payerId).toBe(before.payerId);
    expect(() => caseAfterTransition(before, 'delivered', undefined, at)).toThrow(
      expect.objectContaining({ code: 'PAGW_CASE_ILLEGAL_TRANSITION' }),
    );
  });
});

describe('tenants/', () => {
  it('every clinic file passes schemas/tenant.json and is named by its id', () => {
    const directory = loadTenantDirectory(path.join(import.meta.dirname, '..', '..', 'tenants'));
    expect(directory.ids).toEqual(expect.arrayContaining(['clinic-a', 'default']));
    expect(directory.get('clinic-a').hl7v2?.messageType).toBe('ORR^O02');
    expect(directory.get('unknown-clinic')).toEqual({ id: 'unknown-clinic', displayName: 'unknown-clinic' });
  });

  it('rejects settings that fail the schema with PAGW_OUTBOUND_TENANT_INVALID', () => {
    expect(() =>
      parseTenantSettings({
        id: 'x',
        displayName: 'X',
        email: { from: { address: 'not-an-address' }, recipients: {} },
      }),
    ).toThrow(expect.objectContaining({ code: 'PAGW_OUTBOUND_TENANT_INVALID' }));
    expect(() =>
      parseTenantSettings({
        id: 'x',
        displayName: 'X',
        email: { from: { address: 'a@b.org' }, recipients: {}, includeFields: ['ssn'] },
      }),
    ).toThrow(expect.objectContaining({ code: 'PAGW_OUTBOUND_TENANT_INVALID' }));
  });
});
