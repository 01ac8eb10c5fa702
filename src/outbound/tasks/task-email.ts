/**
 * Care-team e-mail for the exception queue: `missing_data` (an order waits for information from the ordering
 * provider: exactly what is missing and where the order carries it) and `sla_warning` (the payer's decision time is
 * running out, or ran out). Rendered from templates/email/<kind>.json with the same template language and the same
 * PHI rule as the decision e-mails (src/outbound/email/render.ts): PHI only when the clinic lists it in
 * email.includeFields (here only placerOrderNumber is ever offered). Pure.
 */
import missingDataTemplate from '../../../templates/email/missing_data.json' with { type: 'json' };
import slaWarningTemplate from '../../../templates/email/sla_warning.json' with { type: 'json' };
import { type OutboundCase, type PayerInfo, resolvePayer } from '../case-view.ts';
import type { EmailJob, EmailTemplate } from '../email/render.ts';
import { checkNames, parseTemplate, renderNodes, type TemplateScope } from '../email/template.ts';
import { OutboundBuildError } from '../errors.ts';
import type { TenantSettings } from '../types.generated.ts';
import { type TaskView, taskMessageId } from './task-event.ts';

export type TaskEmailKind = 'missing_data' | 'sla_warning';

const names = new Set([
  'clinicName',
  'caseId',
  'caseRef',
  'taskId',
  'priority',
  'dueAt',
  'serviceSummary',
  'payerName',
  'urgency',
  'submittedAt',
  'slaDueAt',
  'elapsedPercent',
  'breached',
  'needed',
  'placerOrderNumber',
]);
const neededFields = new Set(['label', 'source', 'code']);

function compile(template: EmailTemplate) {
  const parts = {
    subject: parseTemplate(`${template.id}.subject`, template.subject),
    text: parseTemplate(`${template.id}.text`, template.text),
    html: parseTemplate(`${template.id}.html`, template.html),
  };
  for (const [part, nodes] of Object.entries(parts))
    checkNames(`${template.id}.${part}`, nodes, names, { needed: neededFields });
  return parts;
}

const templates: Readonly<Record<TaskEmailKind, ReturnType<typeof compile>>> = {
  missing_data: compile(missingDataTemplate),
  sla_warning: compile(slaWarningTemplate),
};

/** Which task e-mail a task change warrants: a provider's missing data when opened, an SLA task when raised. */
export function taskEmailKindFor(task: TaskView, change: string): TaskEmailKind | undefined {
  if (task.kind === 'missing_data' && change === 'opened') return 'missing_data';
  if (
    (task.kind === 'sla_at_risk' || task.kind === 'sla_breached') &&
    (change === 'opened' || change === 'escalated')
  )
    return 'sla_warning';
  return undefined;
}

function iso(at: Date | null | undefined): string | undefined {
  return at ? at.toISOString().replace('.000Z', 'Z') : undefined;
}

export interface TaskEmailInput {
  readonly task: TaskView & { readonly details?: Record<string, unknown> };
  readonly change: string;
  readonly caseRecord: OutboundCase;
  readonly tenant: Pick<TenantSettings, 'id' | 'displayName' | 'email'>;
  readonly payer?: PayerInfo;
}

/** The e-mail job for a task change, or undefined when none is warranted or the clinic lists no recipients. */
export function taskEmailJob(input: TaskEmailInput): EmailJob | undefined {
  const { task, caseRecord, tenant } = input;
  const kind = taskEmailKindFor(task, input.change);
  const email = tenant.email;
  if (!kind || !email) return undefined;
  const to = email.recipients[kind] ?? [];
  if (to.length === 0) return undefined;
  const request = caseRecord.request;
  const codes = request.serviceLines.map((l) => l.code.code);
  const allowed = new Set(email.includeFields ?? []);
  const details = input.task.details ?? {};
  const fraction = typeof details.fraction === 'number' ? details.fraction : undefined;
  const payer = resolvePayer(caseRecord, input.payer);
  const scope: TemplateScope = {
    clinicName: tenant.displayName,
    caseId: caseRecord.id,
    caseRef: caseRecord.id.slice(0, 8),
    taskId: task.id,
    priority: task.priority,
    dueAt: iso(task.dueAt),
    serviceSummary: codes.length > 1 ? `${codes[0]} +${codes.length - 1}` : (codes[0] ?? ''),
    payerName: payer.name ?? payer.id,
    urgency: request.urgency,
    submittedAt: typeof details.submittedAt === 'string' ? details.submittedAt : undefined,
    slaDueAt: iso(caseRecord.slaDueAt),
    elapsedPercent: fraction === undefined ? undefined : Math.round(fraction * 100),
    breached: task.kind === 'sla_breached',
    needed: task.needed.map((n) => ({ label: n.label, source: n.source, code: n.code })),
    placerOrderNumber: allowed.has('placerOrderNumber')
      ? request.orderReference?.placerOrderNumber
      : undefined,
  };
  const parts = templates[kind];
  let rendered: { subject: string; text: string; html: string };
  try {
    rendered = {
      subject: renderNodes(parts.subject, [scope], false).replace(/\s+/g, ' ').trim(),
      text: renderNodes(parts.text, [scope], false),
      html: renderNodes(parts.html, [scope], true),
    };
  } catch (error) {
    throw new OutboundBuildError(
      'PAGW_OUTBOUND_TEMPLATE_INVALID',
      `Task e-mail ${kind} could not be rendered`,
      {
        cause: error,
      },
    );
  }
  const eventId = taskMessageId(task, `email:${kind}`);
  const domain = email.from.address.split('@')[1] ?? 'pagw.invalid';
  return {
    kind,
    tenant: caseRecord.tenant,
    caseId: caseRecord.id,
    eventId,
    messageId: `<${eventId}@${domain}>`,
    from: email.from,
    ...(email.replyTo ? { replyTo: email.replyTo } : {}),
    to: [...to],
    ...rendered,
  };
}
