import { readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import {
  caseEmailJob,
  type EmailTemplate,
  emailKindFor,
  emailTemplates,
  type PhiField,
  renderCaseEmail,
  type TenantSettings,
} from '../../src/outbound/index.ts';
import { decisionScenarios, outboundFixturesDir, payer, tenant } from '../fixtures/outbound/scenarios.ts';

const scenario = (name: string) => decisionScenarios.find((s) => s.name === name)!;
const emailScenarios = decisionScenarios.filter((s) => emailKindFor(s.caseRecord));
const phi = ['Testpatient', 'Alex', '1980-04-12', 'W123456789', 'MRN-100234', 'Not medically necessary'];

function golden(name: string): unknown {
  // A missing golden fails here: regenerate on purpose with `npx tsx test/fixtures/outbound/regenerate.ts`.
  return JSON.parse(readFileSync(path.join(outboundFixturesDir, 'email', `${name}.expected.json`), 'utf8'));
}

function withFields(fields: PhiField[]): TenantSettings {
  return { ...tenant, email: { ...tenant.email!, includeFields: fields } };
}

describe('care-team e-mail', () => {
  it('is warranted on approval, approval with changes, denial and a documentation request only', () => {
    expect(Object.fromEntries(decisionScenarios.map((s) => [s.name, emailKindFor(s.caseRecord)]))).toEqual({
      approved: 'approved',
      'modified-units': 'approved',
      'fhir-approved': 'approved',
      denied: 'denied',
      'pended-docs-request': 'more_info_needed',
      error: undefined,
    });
    const pended = scenario('pended-docs-request').caseRecord;
    expect(emailKindFor({ ...pended, decision: { ...pended.decision!, followUp: 'none' } })).toBeUndefined();
  });

  it.each(emailScenarios.map((s) => [s.name, s] as const))('%s renders as its golden file', (name, s) => {
    const kind = emailKindFor(s.caseRecord)!;
    expect(renderCaseEmail({ kind, caseRecord: s.caseRecord, tenant, payer })).toEqual(golden(name));
  });

  it('carries the always-allowed fields: case id, service code, outcome, payer, dates', () => {
    const s = scenario('approved');
    const mail = renderCaseEmail({ kind: 'approved', caseRecord: s.caseRecord, tenant, payer });
    for (const part of [mail.text, mail.html]) {
      for (const expected of [
        s.caseRecord.id,
        '70553',
        'APPROVED',
        'Example Health Plan',
        '2025-03-05 to 2025-06-03',
      ]) {
        expect(part).toContain(expected);
      }
    }
  });

  it.each(emailScenarios.map((s) => [s.name, s] as const))(
    '%s with the default allow-list carries no patient name, birth date, member id, MRN or payer free text',
    (_name, s) => {
      const bare = { ...tenant, email: { ...tenant.email!, includeFields: [] } };
      const kind = emailKindFor(s.caseRecord)!;
      const mail = renderCaseEmail({ kind, caseRecord: s.caseRecord, tenant: bare, payer });
      const all = `${mail.subject}\n${mail.text}\n${mail.html}`;
      for (const value of [...phi, 'ORD-5521', 'AUTH0001', 'PEND0001']) expect(all).not.toContain(value);
    },
  );

  it('adds exactly the fields the clinic allows', () => {
    const s = scenario('denied');
    const mail = renderCaseEmail({
      kind: 'denied',
      caseRecord: s.caseRecord,
      tenant: withFields(['patientName', 'reasonText']),
      payer,
    });
    expect(mail.text).toContain('Patient: Alex Testpatient');
    expect(mail.text).toContain("Payer's reason: Not medically necessary");
    for (const value of ['1980-04-12', 'W123456789', 'MRN-100234']) expect(mail.text).not.toContain(value);
  });

  it('escapes HTML in values (a payer reason cannot inject markup)', () => {
    const s = scenario('denied');
    const caseRecord = {
      ...s.caseRecord,
      decision: {
        ...s.caseRecord.decision!,
        reasons: [{ code: 'AB', text: '<script>alert(1)</script> & co' }],
      },
    };
    const mail = renderCaseEmail({ kind: 'denied', caseRecord, tenant: withFields(['reasonText']), payer });
    expect(mail.html).toContain('&lt;script&gt;alert(1)&lt;/script&gt; &amp; co');
    expect(mail.html).not.toContain('<script>');
    expect(mail.text).toContain('<script>alert(1)</script> & co');
  });

  it('rejects a template with an unknown placeholder or an unclosed section (PAGW_OUTBOUND_TEMPLATE_INVALID)', () => {
    const s = scenario('approved');
    const base = emailTemplates.approved!;
    const typo: EmailTemplate = { ...base, id: 'typo', subject: 'PA {{outcme}}' };
    const unclosed: EmailTemplate = { ...base, id: 'unclosed', text: '{{#services}}{{code}}' };
    for (const template of [typo, unclosed]) {
      expect(() =>
        renderCaseEmail({ kind: 'approved', caseRecord: s.caseRecord, tenant, payer, template }),
      ).toThrow(expect.objectContaining({ code: 'PAGW_OUTBOUND_TEMPLATE_INVALID' }));
    }
  });

  it('builds a job from the clinic identity to the recipients of its kind, with a deterministic Message-ID', () => {
    const s = scenario('denied');
    const job = caseEmailJob({ caseRecord: s.caseRecord, tenant, payer })!;
    expect(job.from).toEqual({
      name: 'Good Health Clinic PA desk',
      address: 'pa-desk@goodhealth.example.org',
    });
    expect(job.replyTo?.address).toBe('ur@goodhealth.example.org');
    expect(job.to.map((m) => m.address)).toEqual([
      'careteam@goodhealth.example.org',
      'ur@goodhealth.example.org',
    ]);
    expect(job.messageId).toBe(`<${job.eventId}@goodhealth.example.org>`);
    expect(caseEmailJob({ caseRecord: s.caseRecord, tenant, payer })).toEqual(job);
  });

  it('builds no job when the clinic has no recipients for the kind or no e-mail settings', () => {
    const s = scenario('denied');
    const noDenied = {
      ...tenant,
      email: { ...tenant.email!, recipients: { approved: tenant.email!.recipients.approved! } },
    };
    expect(caseEmailJob({ caseRecord: s.caseRecord, tenant: noDenied, payer })).toBeUndefined();
    expect(
      caseEmailJob({ caseRecord: s.caseRecord, tenant: { id: 'x', displayName: 'X' }, payer }),
    ).toBeUndefined();
  });
});
