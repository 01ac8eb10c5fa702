/**
 * Conformance table: every ClaimResponse and PAS response Bundle the gateway builds passes the Da Vinci PAS 2.2.1
 * profiles (src/profiles: nested elements, required bindings, extensions, referenced resources) — for every
 * order in the inbound corpus that maps (HL7 v2, FHIR orders, PAS Claims) and every outcome: approved, denied,
 * modified (partial units), partial (lines decided differently, when the order has several), pended, a payer
 * error, and the synchronous pended answer of `$submit` for a case the payer has not answered yet.
 * Each row is named `<file> → <outcome>`.
 */
import type { Bundle, ClaimResponse } from '@medplum/fhirtypes';
import { describe, expect, it } from 'vitest';
import type { AuthorizationDecision, AuthorizationRequest } from '../../src/canonical/index.ts';
import { mapOrder } from '../../src/mapping/index.ts';
import {
  buildClaimResponse,
  buildPasResponseBundle,
  type OutboundCase,
  pendingDecision,
  X12System,
} from '../../src/outbound/index.ts';
import { PasProfile, validateProfile } from '../../src/profiles/index.ts';
import { caseInput, mappingCases, readFixture } from './mapping-cases.ts';

const at = new Date('2026-03-02T10:00:00Z');
const tenant = { id: 'clinic-a' } as const;
const payer = { id: 'insurer-example-pas', name: 'Insurer Example' };

type OutcomeName = 'approved' | 'denied' | 'modified' | 'partial' | 'pended' | 'error' | 'pended-sync';

function decisionFor(
  outcome: Exclude<OutcomeName, 'pended-sync'>,
  request: AuthorizationRequest,
): AuthorizationDecision {
  const lines = request.serviceLines;
  const base = { payer, channel: 'pas' as const, decidedAt: at.toISOString(), reasons: [], lines: [] };
  switch (outcome) {
    case 'approved':
      return {
        ...base,
        outcome: 'approved',
        reviewActionCode: 'A1',
        certificationNumber: 'AUTH0001',
        authorizedPeriod: { start: '2026-03-02', end: '2026-06-01' },
        lines: lines.map((l) => ({
          sequence: l.sequence,
          outcome: 'approved' as const,
          reviewActionCode: 'A1' as const,
        })),
      };
    case 'denied':
      return {
        ...base,
        outcome: 'denied',
        reviewActionCode: 'A3',
        reasons: [{ system: X12System.decisionReason, code: '0U', text: 'not medically necessary' }],
        lines: lines.map((l) => ({
          sequence: l.sequence,
          outcome: 'denied' as const,
          reviewActionCode: 'A3' as const,
        })),
      };
    case 'modified':
      return {
        ...base,
        outcome: 'modified',
        reviewActionCode: 'A6',
        certificationNumber: 'AUTH0002',
        lines: lines.map((l) => ({
          sequence: l.sequence,
          outcome: 'modified' as const,
          reviewActionCode: 'A6' as const,
          authorizedQuantity: { value: Math.max(1, Math.floor((l.quantity?.value ?? 2) / 2)), unit: 'UN' },
        })),
      };
    case 'partial':
      return {
        ...base,
        outcome: 'modified',
        reviewActionCode: 'A6',
        certificationNumber: 'AUTH0003',
        lines: lines.map((l, i) =>
          i === 0
            ? { sequence: l.sequence, outcome: 'approved' as const, reviewActionCode: 'A1' as const }
            : { sequence: l.sequence, outcome: 'pended' as const, reviewActionCode: 'A4' as const },
        ),
      };
    case 'pended':
      return {
        ...base,
        outcome: 'pended',
        reviewActionCode: 'A4',
        administrativeReference: 'PEND0001',
        followUp: 'send_documentation',
        messages: ['Send the last clinic note'],
        lines: lines.map((l) => ({
          sequence: l.sequence,
          outcome: 'pended' as const,
          reviewActionCode: 'A4' as const,
        })),
      };
    case 'error':
      return {
        ...base,
        outcome: 'error',
        reasons: [
          {
            system: X12System.rejectReason,
            code: 'T4',
            text: 'Payer name or identifier missing',
            element: '2010A-NM103',
            path: 'Bundle.entry[1].resource.name',
          },
          { system: X12System.followUpAction, code: 'C' },
        ],
      };
  }
}

interface Row {
  readonly file: string;
  readonly outcome: OutcomeName;
  readonly caseRecord: OutboundCase;
  readonly decision?: AuthorizationDecision;
}

const rows: Row[] = [];
for (const c of mappingCases) {
  if (!('maps' in c.expect)) continue;
  const mapped = mapOrder({ ...caseInput, raw: readFixture(c.file), profile: c.profile });
  if (!mapped.ok) continue;
  mapped.requests.forEach((request, index) => {
    const file = mapped.requests.length > 1 ? `${c.file}#${index}` : c.file;
    const caseRecord = (
      decision: AuthorizationDecision | null,
      state: OutboundCase['state'],
    ): OutboundCase => ({
      id: `0195a3c1-0000-8000-8000-${String(rows.length).padStart(12, '0')}`,
      tenant: 'clinic-a',
      state,
      version: 3,
      request,
      decision,
      payerId: payer.id,
    });
    const outcomes: Exclude<OutcomeName, 'pended-sync'>[] = [
      'approved',
      'denied',
      'modified',
      'pended',
      'error',
    ];
    if (request.serviceLines.length > 1) outcomes.push('partial');
    for (const outcome of outcomes) {
      const decision = decisionFor(outcome, request);
      rows.push({
        file,
        outcome,
        caseRecord: caseRecord(decision, outcome === 'pended' ? 'pended' : 'decided'),
      });
    }
    const submitted = caseRecord(null, 'submitted');
    rows.push({
      file,
      outcome: 'pended-sync',
      caseRecord: submitted,
      decision: pendingDecision(submitted, payer, at),
    });
  });
}

const formats = (format: string) =>
  new Set(rows.filter((r) => r.caseRecord.request.source.format === format).map((r) => r.file));

describe('PAS conformance of every ClaimResponse and response Bundle we build', () => {
  it('covers HL7 v2, FHIR order and PAS inputs, each with every outcome', () => {
    expect(formats('hl7v2').size).toBeGreaterThanOrEqual(5);
    expect(formats('fhir').size).toBeGreaterThanOrEqual(5);
    expect(formats('pas').size).toBe(4);
    expect(new Set(rows.map((r) => r.outcome))).toEqual(
      new Set(['approved', 'denied', 'modified', 'partial', 'pended', 'error', 'pended-sync']),
    );
  });

  it.each(rows)('$file → $outcome: ClaimResponse (topic event) passes profile-claimresponse', (row) => {
    const cr: ClaimResponse = buildClaimResponse({
      caseRecord: row.caseRecord,
      tenant,
      payer,
      at,
      ...(row.decision ? { decision: row.decision } : {}),
    });
    expect(validateProfile(cr, PasProfile.claimResponse).errors).toEqual([]);
    const expected = { error: 'error', partial: 'partial' } as Record<string, string>;
    expect(cr.outcome).toBe(expected[row.outcome] ?? 'complete');
    expect(cr.request).toBeDefined();
  });

  it.each(rows)('$file → $outcome: the submit and inquiry response Bundles pass their profiles', (row) => {
    for (const kind of ['submit', 'inquiry'] as const) {
      const bundle: Bundle = buildPasResponseBundle({
        caseRecord: row.caseRecord,
        tenant,
        payer,
        at,
        kind,
        ...(row.decision ? { decision: row.decision } : {}),
      });
      const profile = kind === 'submit' ? PasProfile.responseBundle : PasProfile.inquiryResponseBundle;
      expect(validateProfile(bundle, profile).errors).toEqual([]);
      expect(bundle.entry?.[0]?.resource?.resourceType).toBe('ClaimResponse');
    }
  });

  it.each(rows.filter((r) => r.caseRecord.request.source.format === 'pas' && r.outcome === 'approved'))(
    '$file: the answer echoes the EHR Claim (request reference, identifier, item trace numbers)',
    (row) => {
      const cr = buildClaimResponse({ caseRecord: row.caseRecord, tenant, payer, at });
      const order = row.caseRecord.request.orderReference!;
      expect(cr.request?.reference).toBe(order.resourceReference);
      expect(cr.identifier?.[0]).toEqual({
        system: order.claimIdentifier!.system,
        value: order.claimIdentifier!.value,
      });
      const sent = row.caseRecord.request.serviceLines.flatMap((l) => l.traceNumbers ?? []);
      const echoed = (cr.item ?? []).flatMap((i) =>
        (i.extension ?? [])
          .filter((e) => e.url.endsWith('itemTraceNumber'))
          .map((e) => e.valueIdentifier?.value),
      );
      // The EHR's own trace numbers when its items carry them; else ours, one per item.
      expect(echoed).toEqual(
        sent.length > 0
          ? sent.map((t) => t.value)
          : row.caseRecord.request.serviceLines.map((l) =>
              expect.stringMatching(new RegExp(`-${l.sequence}$`)),
            ),
      );
    },
  );
});
