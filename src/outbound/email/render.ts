/**
 * Care-team e-mail: which decision warrants one (approved, denied, more information needed), and its rendering
 * from a template kept as data, from the clinic's identity, carrying no PHI the clinic has not allowed.
 *
 * Always in an e-mail: clinic name, case id, service codes, outcome, payer, dates. Only when the clinic lists them in
 * email.includeFields: patient name, birth date, member id, MRN, placer order number, authorization/reference
 * number, the payer's free-text reason. A field not allowed is not in the render context at all, so no template,
 * however written, can print it. Pure.
 */
import approvedTemplate from '../../../templates/email/approved.json' with { type: 'json' };
import deniedTemplate from '../../../templates/email/denied.json' with { type: 'json' };
import moreInfoTemplate from '../../../templates/email/more_info_needed.json' with { type: 'json' };
import type { HumanName } from '../../canonical/index.ts';
import {
  isAuthorized,
  lineViews,
  type OutboundCase,
  type PayerInfo,
  patientIdentifier,
  requireDecision,
  resolvePayer,
} from '../case-view.ts';
import { OutboundBuildError } from '../errors.ts';
import { outboundEventId } from '../ids.ts';
import type { Email, Mailbox, PhiField, TenantSettings } from '../types.generated.ts';
import { checkNames, parseTemplate, renderNodes, type TemplateScope } from './template.ts';

export type { Mailbox, PhiField } from '../types.generated.ts';

/** approved (also approved with changes), denied, more_info_needed (pended with a documentation request). */
export type EmailKind = keyof Email['recipients'];

/** An e-mail template as stored in templates/email/<id>.json. */
export interface EmailTemplate {
  readonly id: string;
  readonly description: string;
  readonly subject: string;
  readonly text: string;
  readonly html: string;
}

/** A rendered e-mail, ready for a Notifier. */
export interface EmailJob {
  readonly kind: EmailKind;
  readonly tenant: string;
  readonly caseId: string;
  /** Deterministic (case id + version + kind): a replayed transition yields the same job. */
  readonly eventId: string;
  /** RFC 5322 Message-ID derived from the event id, so a resend is recognisably the same message. */
  readonly messageId: string;
  readonly from: Mailbox;
  readonly replyTo?: Mailbox;
  readonly to: readonly Mailbox[];
  readonly subject: string;
  readonly text: string;
  readonly html: string;
}

/** Names every template may use outside a list. */
const alwaysFields = [
  'clinicName',
  'caseId',
  'caseRef',
  'outcome',
  'modified',
  'payerName',
  'payerId',
  'decidedAt',
  'authorizedPeriod',
  'slaDueAt',
  'serviceSummary',
  'services',
  'reasonCodes',
  'followUp',
] as const;
/** Fields of one item of `services`. */
const serviceFields = new Set(['code', 'display', 'outcome', 'units', 'period']);
/** PHI-gated names, each allowed by one includeFields entry. */
const gatedFields: Readonly<Record<string, PhiField>> = {
  patientName: 'patientName',
  patientBirthDate: 'patientBirthDate',
  memberId: 'memberId',
  mrn: 'mrn',
  placerOrderNumber: 'placerOrderNumber',
  certificationNumber: 'certificationNumber',
  administrativeReference: 'certificationNumber',
  reasonText: 'reasonText',
};
const knownNames: ReadonlySet<string> = new Set([...alwaysFields, ...Object.keys(gatedFields)]);

function compile(template: EmailTemplate) {
  const parts = {
    subject: parseTemplate(`${template.id}.subject`, template.subject),
    text: parseTemplate(`${template.id}.text`, template.text),
    html: parseTemplate(`${template.id}.html`, template.html),
  };
  for (const [part, nodes] of Object.entries(parts)) {
    checkNames(`${template.id}.${part}`, nodes, knownNames, { services: serviceFields });
  }
  return parts;
}

/** The templates shipped in templates/email, by id. Add one: drop the JSON there and import it here. */
export const emailTemplates: Readonly<Record<string, EmailTemplate>> = Object.fromEntries(
  [approvedTemplate, deniedTemplate, moreInfoTemplate].map((t) => [t.id, t]),
);

const compiled = new Map(Object.values(emailTemplates).map((t) => [t.id, compile(t)]));

/** Checks a template (syntax and placeholder names); throws OutboundBuildError. */
export function assertEmailTemplate(template: EmailTemplate): void {
  compile(template);
}

/** Which care-team e-mail a case in this state warrants, if any. */
export function emailKindFor(caseRecord: OutboundCase): EmailKind | undefined {
  const decision = caseRecord.decision;
  if (!decision) return undefined;
  if (caseRecord.state === 'decided') {
    if (isAuthorized(decision.outcome)) return 'approved';
    if (decision.outcome === 'denied') return 'denied';
    return undefined;
  }
  if (caseRecord.state === 'pended' && decision.followUp === 'send_documentation') return 'more_info_needed';
  return undefined;
}

const outcomeWords: Record<string, string> = {
  approved: 'APPROVED',
  modified: 'APPROVED WITH CHANGES',
  denied: 'DENIED',
  pended: 'PENDED',
  cancelled: 'CANCELLED',
  error: 'ERROR',
};

function period(p: { start?: string; end?: string } | undefined): string | undefined {
  if (!p || (!p.start && !p.end)) return undefined;
  return `${p.start ?? '…'} to ${p.end ?? '…'}`;
}

function personName(name: HumanName | undefined): string | undefined {
  if (!name) return undefined;
  const text = [name.prefix, ...(name.given ?? []), name.family, name.suffix].filter(Boolean).join(' ');
  return text || undefined;
}

export interface RenderCaseEmailInput {
  readonly kind: EmailKind;
  readonly caseRecord: OutboundCase;
  readonly tenant: Pick<TenantSettings, 'id' | 'displayName' | 'email'>;
  readonly payer?: PayerInfo;
  /** Replaces the tenant's (or default) template for this kind. */
  readonly template?: EmailTemplate;
}

export interface RenderedEmail {
  readonly subject: string;
  readonly text: string;
  readonly html: string;
}

/** The values a template may print, with every PHI field the clinic has not allowed left out. */
export function emailContext(input: RenderCaseEmailInput): TemplateScope {
  const { caseRecord, tenant } = input;
  const decision = requireDecision(caseRecord, 'care-team e-mail');
  const payer = resolvePayer(caseRecord, input.payer);
  const request = caseRecord.request;
  const lines = lineViews(caseRecord, payer);
  const allowed = new Set<PhiField>(tenant.email?.includeFields ?? []);
  const codes = lines.map((l) => l.code.code);
  const reasonCodes = [...new Set(decision.reasons.map((r) => r.code))].join(', ');
  const reasonText = decision.reasons
    .map((r) => r.text)
    .filter(Boolean)
    .join('; ');

  const context: Record<string, TemplateScope[string]> = {
    clinicName: tenant.displayName,
    caseId: caseRecord.id,
    caseRef: caseRecord.id.slice(0, 8),
    outcome: outcomeWords[decision.outcome] ?? decision.outcome,
    modified: decision.outcome === 'modified',
    payerName: payer.name ?? payer.id,
    payerId: payer.id,
    decidedAt: decision.decidedAt.slice(0, 10),
    authorizedPeriod: isAuthorized(decision.outcome) ? period(decision.authorizedPeriod) : undefined,
    slaDueAt: caseRecord.slaDueAt ? caseRecord.slaDueAt.toISOString().replace('.000Z', 'Z') : undefined,
    serviceSummary: codes.length > 1 ? `${codes[0]} +${codes.length - 1}` : (codes[0] ?? ''),
    services: lines.map((l) => ({
      code: l.code.code,
      display: l.code.display,
      outcome: l.outcome ? (outcomeWords[l.outcome] ?? l.outcome).toLowerCase() : undefined,
      units: l.authorizedQuantity
        ? `${l.authorizedQuantity.value}${l.authorizedQuantity.unit ? ` ${l.authorizedQuantity.unit}` : ''}`
        : undefined,
      period: period(l.authorizedPeriod),
    })),
    reasonCodes: reasonCodes || undefined,
    followUp: decision.followUp,
  };
  const gated: Record<PhiField, () => string | undefined> = {
    patientName: () => personName(request.patient.name),
    patientBirthDate: () => request.patient.birthDate,
    memberId: () => request.coverage.memberId,
    mrn: () => patientIdentifier(request)?.value,
    placerOrderNumber: () => request.orderReference?.placerOrderNumber,
    certificationNumber: () => (isAuthorized(decision.outcome) ? decision.certificationNumber : undefined),
    reasonText: () => reasonText || undefined,
  };
  for (const field of allowed) context[field] = gated[field]();
  if (allowed.has('certificationNumber') && decision.outcome === 'pended') {
    context.administrativeReference = decision.administrativeReference;
  }
  return context;
}

function templateFor(input: RenderCaseEmailInput) {
  if (input.template) return compile(input.template);
  const id = input.tenant.email?.templates?.[input.kind] ?? input.kind;
  return (
    compiled.get(id) ??
    (() => {
      throw new OutboundBuildError(
        'PAGW_OUTBOUND_TEMPLATE_INVALID',
        `No e-mail template '${id}' in templates/email`,
      );
    })()
  );
}

/** Renders subject, text and HTML of one care-team e-mail. */
export function renderCaseEmail(input: RenderCaseEmailInput): RenderedEmail {
  const parts = templateFor(input);
  const scope = [emailContext(input)];
  return {
    subject: renderNodes(parts.subject, scope, false).replace(/\s+/g, ' ').trim(),
    text: renderNodes(parts.text, scope, false),
    html: renderNodes(parts.html, scope, true),
  };
}

/** The e-mail job for a case, or undefined when its state warrants none or the clinic lists no recipients. */
export function caseEmailJob(input: Omit<RenderCaseEmailInput, 'kind'>): EmailJob | undefined {
  const kind = emailKindFor(input.caseRecord);
  const email = input.tenant.email;
  if (!kind || !email) return undefined;
  const to = email.recipients[kind] ?? [];
  if (to.length === 0) return undefined;
  const rendered = renderCaseEmail({ ...input, kind });
  const eventId = outboundEventId(input.caseRecord.id, input.caseRecord.version, `email:${kind}`);
  const domain = email.from.address.split('@')[1] ?? 'pagw.invalid';
  return {
    kind,
    tenant: input.caseRecord.tenant,
    caseId: input.caseRecord.id,
    eventId,
    messageId: `<${eventId}@${domain}>`,
    from: email.from,
    ...(email.replyTo ? { replyTo: email.replyTo } : {}),
    to: [...to],
    ...rendered,
  };
}
