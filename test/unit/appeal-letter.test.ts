/**
 * The appeal package and its letter: the package lists the denial, criteria, services, diagnoses, evidence and a
 * checklist of what is present and missing; the PDF, opened with PDF.js, reads as the letter and the checklist.
 */
import { describe, expect, it } from 'vitest';
import type { AuthorizationDecision } from '../../src/canonical/index.ts';
import { appealLetterText, renderAppealLetter } from '../../src/outbound/tasks/appeal-letter.ts';
import { assembleAppeal, isAppealable } from '../../src/workflow/tasks/appeals.ts';
import { sampleRequest } from '../helpers/fixtures.ts';
import { pdfText } from '../helpers/pdf.ts';

const denial: AuthorizationDecision = {
  outcome: 'denied',
  reviewActionCode: 'A3',
  payer: { id: 'example-health-plan', name: 'Example Health Plan' },
  channel: 'x12',
  lines: [],
  reasons: [
    { system: 'https://codesystem.x12.org/external/886', code: 'AO', text: 'Not medically necessary' },
  ],
  messages: ['NOT MEDICALLY NECESSARY'],
  followUp: 'none',
  decidedAt: '2026-03-02T10:00:00.000Z',
  administrativeReference: 'SIMREF00001',
};

describe('appeal package and letter', () => {
  const request = sampleRequest();
  const appeal = assembleAppeal({
    caseId: '4e0f9a8b-7c6d-4e5f-9a4b-3c2d1e0f9a8b',
    request,
    decision: denial,
    payerId: 'example-health-plan',
    ruleVersion: 'example-health-plan@2026.1',
    ruleIds: 'advanced-imaging',
    evidence: [],
  });

  it('assembles the denial, the criteria and a checklist saying what is missing', () => {
    expect(isAppealable(denial)).toBe(true);
    expect(isAppealable({ ...denial, outcome: 'approved' })).toBe(false);
    expect(appeal.denial).toMatchObject({ outcome: 'denied', reasons: [{ code: 'AO' }] });
    expect(appeal.criteria.ruleVersion).toBe('example-health-plan@2026.1');
    expect(appeal.checklist.find((c) => c.item.startsWith('Clinical documentation'))).toMatchObject({
      present: false,
    });
  });

  it('renders a PDF that PDF.js reads back as the letter and its checklist', async () => {
    const at = new Date('2026-03-05T09:00:00.000Z');
    const input = { appeal, request, clinicName: 'Good Health Clinic', payerName: 'Example Health Plan', at };
    const bytes = await renderAppealLetter(input);
    expect(bytes.subarray(0, 5).toString('latin1')).toBe('%PDF-');
    const text = (await pdfText(bytes)).join('\n');
    expect(text).toContain('Request for reconsideration of a prior authorization decision');
    expect(text).toContain(
      'Re: request for reconsideration of prior authorization (payer reference SIMREF00001)',
    );
    expect(text).toContain(`Member id: ${request.coverage.memberId}`);
    expect(text).toContain('- AO: Not medically necessary');
    expect(text).toContain(
      'Criteria applied: example-health-plan, example-health-plan@2026.1, advanced-imaging',
    );
    expect(text).toContain('Evidence checklist');
    expect(text).toContain('[ ] Clinical documentation');
    expect(text).toContain('[x] The payer');
    expect(appealLetterText(input)[3]).toContain(`- ${request.serviceLines[0]!.code.code}`);
    // Deterministic for the same input.
    expect((await renderAppealLetter(input)).equals(bytes)).toBe(true);
  });
});
