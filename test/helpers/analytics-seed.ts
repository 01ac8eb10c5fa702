/**
 * A small, hand-checkable set of cases for the analytics, console and metrics tests. Every case goes through
 * the real store (createCase, transitionCase: case row, events, audit, the fact trigger) at fixed times from
 * DAY0 = Monday 2026-03-02 00:00Z; SEED_NOW is "now" for SLA figures. The expected figures are worked out by
 * hand in the tests that use it, from the table below.
 *
 *  case payer svc    NPI  urgency    created   submitted decided outcome  notes
 *  A    acme  70553  111  standard   d0 08:00  +1h       +10h    approved SLA +72h
 *  B    acme  70553  111  standard   d0 09:00  +1h       +30h    approved pended at +2h; SLA +24h (breached)
 *  C    acme  97110  222  expedited  d1 08:00  +2h (rev) +6h     denied   a reviewer approved the submission
 *  D    acme  97110  222  standard   d1 10:00  +1h       +20h    denied   appealed +30h by a person, approved +40h
 *  E    beta  70553  111  standard   d2 08:00  +1h       +4h     modified no SLA
 *  F    beta  70553  333  expedited  d2 12:00  +0.5h     +2h     denied   SLA +72h
 *  G    beta  97110  333  standard   d3 08:00  +1h       —       —        open, SLA d4 08:00 (breached at now)
 *  H    beta  97110  333  standard   d4 08:00  +1h       —       —        open, SLA d6 00:00 (at risk at now)
 *  I    acme  70553  111  standard   d4 09:00  —         —       —        failed at +1h (STEP_FAILED)
 *  J    acme  70553  111  standard   d5 08:00  —         —       —        awaiting review, SLA d8 08:00
 */
import type pg from 'pg';
import type { Actor } from '../../src/audit/audit-log.ts';
import type { AuthorizationDecision } from '../../src/canonical/index.ts';
import type { CasePatch } from '../../src/store/index.ts';
import { createCase, transitionCase, withTransaction } from '../../src/store/index.ts';
import type { CaseEventType } from '../../src/workflow/case-state-machine.ts';
import { sampleRequest } from './fixtures.ts';

export const DAY0 = Date.parse('2026-03-02T00:00:00.000Z');
export const HOUR = 3600_000;
export const SEED_NOW = new Date(DAY0 + 5 * 24 * HOUR + 12 * HOUR); // d5 12:00Z
export const SEED_FROM = '2026-03-02';
export const SEED_TO = '2026-03-07';

const system: Actor = { id: 'system:workflow' };
const person: Actor = { id: 'token:seed-reviewer(dr-seed)', onBehalfOf: 'tenant:clinic-a' };

const npis = { '111': '1111111111', '222': '2222222222', '333': '3333333333' } as const;

interface Spec {
  name: string;
  payer: string;
  service: string;
  npi: keyof typeof npis;
  urgency: 'standard' | 'expedited';
  day: number;
  hour: number;
  /** Hours after creation. */
  submitted?: number;
  reviewed?: boolean;
  pended?: number;
  decided?: number;
  outcome?: AuthorizationDecision['outcome'];
  slaHours?: number;
  slaAt?: number;
  appeal?: { at: number; approvedAt: number };
  failedAt?: number;
  awaitingReview?: boolean;
}

export const seedSpecs: Spec[] = [
  {
    name: 'A',
    payer: 'acme',
    service: '70553',
    npi: '111',
    urgency: 'standard',
    day: 0,
    hour: 8,
    submitted: 1,
    decided: 10,
    outcome: 'approved',
    slaHours: 72,
  },
  {
    name: 'B',
    payer: 'acme',
    service: '70553',
    npi: '111',
    urgency: 'standard',
    day: 0,
    hour: 9,
    submitted: 1,
    pended: 2,
    decided: 30,
    outcome: 'approved',
    slaHours: 24,
  },
  {
    name: 'C',
    payer: 'acme',
    service: '97110',
    npi: '222',
    urgency: 'expedited',
    day: 1,
    hour: 8,
    reviewed: true,
    submitted: 2,
    decided: 6,
    outcome: 'denied',
    slaHours: 72,
  },
  {
    name: 'D',
    payer: 'acme',
    service: '97110',
    npi: '222',
    urgency: 'standard',
    day: 1,
    hour: 10,
    submitted: 1,
    decided: 20,
    outcome: 'denied',
    slaHours: 72,
    appeal: { at: 30, approvedAt: 40 },
  },
  {
    name: 'E',
    payer: 'beta',
    service: '70553',
    npi: '111',
    urgency: 'standard',
    day: 2,
    hour: 8,
    submitted: 1,
    decided: 4,
    outcome: 'modified',
  },
  {
    name: 'F',
    payer: 'beta',
    service: '70553',
    npi: '333',
    urgency: 'expedited',
    day: 2,
    hour: 12,
    submitted: 0.5,
    decided: 2,
    outcome: 'denied',
    slaHours: 72,
  },
  {
    name: 'G',
    payer: 'beta',
    service: '97110',
    npi: '333',
    urgency: 'standard',
    day: 3,
    hour: 8,
    submitted: 1,
    slaAt: DAY0 + 4 * 24 * HOUR + 8 * HOUR,
  },
  {
    name: 'H',
    payer: 'beta',
    service: '97110',
    npi: '333',
    urgency: 'standard',
    day: 4,
    hour: 8,
    submitted: 1,
    slaAt: DAY0 + 6 * 24 * HOUR,
  },
  {
    name: 'I',
    payer: 'acme',
    service: '70553',
    npi: '111',
    urgency: 'standard',
    day: 4,
    hour: 9,
    failedAt: 1,
  },
  {
    name: 'J',
    payer: 'acme',
    service: '70553',
    npi: '111',
    urgency: 'standard',
    day: 5,
    hour: 8,
    awaitingReview: true,
    slaAt: DAY0 + 8 * 24 * HOUR + 8 * HOUR,
  },
];

function decision(spec: Spec, at: Date, outcome: AuthorizationDecision['outcome']): AuthorizationDecision {
  return {
    outcome,
    payer: { id: spec.payer },
    channel: 'x12',
    lines: [],
    reasons: outcome === 'denied' ? [{ code: 'MED_NECESSITY' }] : [],
    decidedAt: at.toISOString(),
    ...(outcome === 'approved' || outcome === 'modified' ? { certificationNumber: `CERT-${spec.name}` } : {}),
  } as AuthorizationDecision;
}

/** Seeds the cases above for `tenant`; returns case ids by name. `tag` keeps idempotency keys apart per call. */
export async function seedAnalyticsCases(
  pool: pg.Pool,
  tenant = 'clinic-a',
  tag = 'seed',
): Promise<Record<string, string>> {
  const ids: Record<string, string> = {};
  for (const spec of seedSpecs) {
    const created = new Date(DAY0 + spec.day * 24 * HOUR + spec.hour * HOUR);
    const after = (hours: number) => new Date(created.getTime() + hours * HOUR);
    const base = sampleRequest();
    const request = sampleRequest({
      tenant,
      idempotencyKey: `${tag}:${tenant}:${spec.name}`,
      urgency: spec.urgency,
      serviceLines: [
        { ...base.serviceLines[0]!, code: { ...base.serviceLines[0]!.code, code: spec.service } },
      ],
      requestingProvider: { ...base.requestingProvider, npi: npis[spec.npi] },
      orderReference: { placerOrderNumber: `ORD-${tag}-${spec.name}` },
    });
    const caseId = (
      await withTransaction(pool, (tx) =>
        createCase(tx, { request, actor: { id: 'http:seed-ehr', onBehalfOf: 'sender:seed' }, at: created }),
      )
    ).case.id;
    ids[spec.name] = caseId;
    const step = (
      event: CaseEventType,
      at: Date,
      actor: Actor,
      data: Record<string, unknown> = {},
      patch?: CasePatch,
    ) => withTransaction(pool, (tx) => transitionCase(tx, { tenant, caseId, event, actor, at, data, patch }));

    await step('validated', after(0.1), system);
    const slaDueAt = spec.slaAt ? new Date(spec.slaAt) : spec.slaHours ? after(spec.slaHours) : null;
    await step(
      'eligibility_checked',
      after(0.2),
      system,
      { payerId: spec.payer },
      {
        payerId: spec.payer,
        channel: 'x12',
        ruleVersion: `${spec.payer}-2026.1`,
        slaDueAt,
      },
    );
    if (spec.failedAt !== undefined) {
      await step('failed', after(spec.failedAt), system, {
        reason: 'STEP_FAILED',
        step: 'eligibility_checked',
        errorCode: 'PAGW_X12_TRANSPORT',
      });
      continue;
    }
    if (spec.awaitingReview || spec.reviewed)
      await step('review_requested', after(0.3), system, { ruleId: 'review' });
    if (spec.awaitingReview) continue;
    await step('submitted', after(spec.submitted!), spec.reviewed ? person : system, { channel: 'x12' });
    if (spec.pended !== undefined)
      await step(
        'pended',
        after(spec.pended),
        system,
        { reviewActionCode: 'A4' },
        {
          decision: decision(spec, after(spec.pended), 'pended'),
        },
      );
    if (spec.decided === undefined) continue;
    await step(
      'decided',
      after(spec.decided),
      system,
      { outcome: spec.outcome },
      {
        decision: decision(spec, after(spec.decided), spec.outcome!),
      },
    );
    if (spec.appeal) {
      // Appeals arrive with issue #14; until then an event named for one is recorded as #14 will record it.
      await withTransaction(pool, async (tx) => {
        const { rows } = await tx.query<{ version: number }>(
          'UPDATE cases SET version = version + 1 WHERE id = $1 RETURNING version',
          [caseId],
        );
        await tx.query(
          `INSERT INTO case_events (case_id, tenant_id, seq, event, from_state, to_state, actor, on_behalf_of, data, at)
           VALUES ($1, $2, $3, 'appeal_submitted', 'decided', 'decided', $4, $5, '{}', $6)`,
          [caseId, tenant, rows[0]!.version, person.id, person.onBehalfOf, after(spec.appeal!.at)],
        );
      });
      await step(
        'decision_updated',
        after(spec.appeal.approvedAt),
        system,
        { outcome: 'approved' },
        {
          decision: decision(spec, after(spec.appeal.approvedAt), 'approved'),
        },
      );
    }
  }
  return ids;
}

/** One recorded 278 exchange for a case, with synthetic raw bytes (for the evidence view). */
export async function seedPayerExchange(
  pool: pg.Pool,
  tenant: string,
  caseId: string,
  at: Date,
): Promise<string> {
  const { rows } = await pool.query<{ id: string }>(
    `INSERT INTO payer_submissions (tenant_id, case_id, payer_id, channel, purpose, trace_number, attempt, status,
                                    request, response, outcome, created_at, completed_at)
     VALUES ($1, $2, 'acme', 'x12', 'submit', $3, 1, 'answered', $4, $5, '{"outcome":"approved"}', $6, $6)
     RETURNING id::text`,
    [
      tenant,
      caseId,
      caseId.replace(/-/g, '').toUpperCase(),
      'ISA*00*          *00*          *ZZ*SEEDSENDER     *ZZ*ACME           *260302*0900*^*00501*000000001*0*T*:~ST*278*0001*005010X217~',
      'ISA*00*          *00*          *ZZ*ACME           *ZZ*SEEDSENDER     *260302*1800*^*00501*000000002*0*T*:~ST*278*0001*005010X217~HCR*A1*CERT-A~',
      at,
    ],
  );
  return rows[0]!.id;
}
