import { readFileSync } from 'node:fs';
import path from 'node:path';
import { Ajv2020 } from 'ajv/dist/2020.js';
import addFormatsModule from 'ajv-formats';
import { describe, expect, it } from 'vitest';
import statusSchema from '../../schemas/events/status.v1.json' with { type: 'json' };
import {
  buildStatusEvent,
  OutboundBuildError,
  outboundEventId,
  payerInfoFromDirectory,
} from '../../src/outbound/index.ts';
import { caseStates } from '../../src/workflow/case-state-machine.ts';
import {
  at,
  decisionScenarios,
  outboundFixturesDir,
  payer,
  type Scenario,
  stateScenarios,
} from '../fixtures/outbound/scenarios.ts';

// An ajv of the test's own, as a subscriber would compile the published schema (not the builder's validator).
const addFormats = addFormatsModule as unknown as typeof addFormatsModule.default;
const subscriberAjv = new Ajv2020({ allErrors: true, strict: true });
addFormats(subscriberAjv);
const subscriberValidate = subscriberAjv.compile(statusSchema);

const all = [...stateScenarios, ...decisionScenarios];
const build = (s: Scenario, extra: Partial<Parameters<typeof buildStatusEvent>[0]> = {}) =>
  buildStatusEvent({
    caseRecord: s.caseRecord,
    previousState: s.previousState,
    event: s.event,
    payer,
    at,
    ...extra,
  });
const byName = (name: string) => all.find((s) => s.name === name)!;

function golden(name: string): unknown {
  // A missing golden fails here: regenerate on purpose with `npx tsx test/fixtures/outbound/regenerate.ts`.
  return JSON.parse(readFileSync(path.join(outboundFixturesDir, 'status', `${name}.expected.json`), 'utf8'));
}

describe('buildStatusEvent', () => {
  it('has a scenario for every case state', () => {
    expect(stateScenarios.map((s) => s.caseRecord.state).sort()).toEqual([...caseStates].sort());
  });

  it.each(all.map((s) => [s.name, s] as const))('%s matches its golden file', (name, s) => {
    expect(build(s)).toEqual(golden(name));
  });

  it.each(all.map((s) => [s.name, s] as const))('%s passes schemas/events/status.v1.json', (_name, s) => {
    const event = build(s);
    expect(subscriberValidate(event), JSON.stringify(subscriberValidate.errors)).toBe(true);
  });

  it('derives the event id from case id + version: a replay carries the same id, the next version another', () => {
    const s = byName('approved');
    expect(build(s).eventId).toBe(outboundEventId(s.caseRecord.id, s.caseRecord.version, 'status'));
    expect(build(s).eventId).toBe(build(s).eventId);
    const next = build({ ...s, caseRecord: { ...s.caseRecord, version: s.caseRecord.version + 1 } });
    expect(next.eventId).not.toBe(build(s).eventId);
  });

  it('says authorized, for how many units, until when and at what expected reimbursement', () => {
    const event = build(byName('modified-units'));
    expect(event.status).toMatchObject({ state: 'decided', outcome: 'modified', authorized: true });
    expect(
      event.lines.map((l) => [l.code.code, l.authorizedQuantity?.value, l.authorizedPeriod?.end]),
    ).toEqual([
      ['97110', 6, '2025-05-10'],
      ['97112', 8, '2025-05-10'],
    ]);
    // 6 × 31.20 + 8 × 35.00 (the second by its system|code key)
    expect(event.lines.map((l) => l.expectedReimbursement?.amount)).toEqual([187.2, 280]);
    expect(event.expectedReimbursement).toEqual({ amount: 467.2, currency: 'USD' });
  });

  it('reads the payer directory fee schedule (short system names, per-unit amounts)', () => {
    const fromDirectory = payerInfoFromDirectory({
      id: payer.id,
      name: 'Example Health Plan',
      feeSchedule: [
        { system: 'CPT', code: '97110', amount: 31.2 },
        { system: 'http://www.ama-assn.org/go/cpt', code: '97112', amount: 35, currency: 'USD' },
        { system: 'CPT', code: '97112', amount: 99, currency: 'EUR' },
      ],
    });
    expect(build(byName('modified-units'), { payer: fromDirectory }).expectedReimbursement).toEqual({
      amount: 467.2,
      currency: 'USD',
    });
  });

  it('leaves the total out when a payer has no fee for an authorized line', () => {
    const event = build(byName('modified-units'), {
      payer: { id: payer.id, feeSchedule: { '97110': 31.2 } },
    });
    expect(event.lines[0]?.expectedReimbursement).toEqual({ amount: 187.2, currency: 'USD' });
    expect(event.lines[1]?.expectedReimbursement).toBeUndefined();
    expect(event.expectedReimbursement).toBeUndefined();
  });

  it('has no reimbursement and is not authorized when denied', () => {
    const event = build(byName('denied'));
    expect(event.status).toMatchObject({ outcome: 'denied', authorized: false });
    expect(event.expectedReimbursement).toBeUndefined();
    expect(event.lines[0]?.reasonCodes).toEqual([
      { system: 'https://codesystem.x12.org/005010/4', code: 'AB' },
    ]);
  });

  it('carries the SLA due time while a payer answer is awaited, null once there is one', () => {
    expect(build(byName('state-submitted')).slaDueAt).toBe('2025-03-18T15:30:00.000Z');
    expect(build(byName('pended-docs-request')).slaDueAt).toBe('2025-03-18T15:30:00.000Z');
    const decided = byName('approved');
    const withSla = {
      ...decided,
      caseRecord: { ...decided.caseRecord, slaDueAt: new Date('2025-03-18T00:00:00Z') },
    };
    expect(build(withSla).slaDueAt).toBeNull();
  });

  it('carries no patient identifier, name, birth date, member id or free text by default (minimum necessary)', () => {
    for (const s of all) {
      const event = build(s);
      expect(event.patient).toBeUndefined();
      const text = JSON.stringify(event);
      for (const phi of [
        'MRN-100234',
        'Testpatient',
        'Alex',
        '1980-04-12',
        'W123456789',
        'medically necessary',
      ]) {
        expect(text).not.toContain(phi);
      }
    }
  });

  it('names the patient by MRN only when the clinic opts in (tenant statusEvent.patientIdentifier)', () => {
    const event = build(byName('denied'), { patientIdentifier: true });
    expect(event.patient?.identifier).toMatchObject({ type: 'MR', value: 'MRN-100234' });
    expect(subscriberValidate(event)).toBe(true);
    const text = JSON.stringify(event);
    for (const phi of ['Testpatient', 'Alex', '1980-04-12', 'W123456789', 'medically necessary']) {
      expect(text).not.toContain(phi);
    }
  });

  it('the example in docs/events/status.v1.md is the approved golden and passes the schema', () => {
    const doc = readFileSync(
      path.join(import.meta.dirname, '..', '..', 'docs', 'events', 'status.v1.md'),
      'utf8',
    );
    const example = JSON.parse(/```json\n([\s\S]*?)\n```/.exec(doc)![1]!);
    expect(example).toEqual(golden('approved'));
    expect(subscriberValidate(example)).toBe(true);
  });

  it('refuses to return an event that fails its schema (PAGW_OUTBOUND_STATUS_EVENT_INVALID)', () => {
    const s = byName('approved');
    let error: unknown;
    try {
      build({ ...s, caseRecord: { ...s.caseRecord, tenant: 'not a tenant id!' } });
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(OutboundBuildError);
    expect(error).toMatchObject({ code: 'PAGW_OUTBOUND_STATUS_EVENT_INVALID', retriable: false });
    expect((error as OutboundBuildError).problems).toContainEqual(
      expect.objectContaining({ location: '$.tenant' }),
    );
  });
});
