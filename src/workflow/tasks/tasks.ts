/**
 * The exception queue's tasks: what a person must do about a case, structured — kind, reason codes, the fields or
 * documents needed, owner role, priority, due time — and which actions resolve each kind. Pure: the store keeps
 * tasks (src/store/tasks.ts), the API resolves them (src/api/task-routes.ts), the workflow opens them.
 *
 * Tasks hold codes, paths and ids, never PHI: a task names the member id as missing, never a member id.
 */
import type { CorrectableField } from '../../canonical/correctable-fields.ts';

export const taskKinds = [
  /** The order lacks a field the provider must supply (member id …): to the ordering provider. */
  'missing_data',
  /** The payer asked for more information or documents (278 HCR A4 + PWK/MSG, PAS CommunicationRequest). */
  'more_information',
  /** The payer channel failed for good (clearinghouse down, 999 rejection): retry or cancel. */
  'channel_failure',
  /** The payer's decision time (CMS-0057-F) is running out. */
  'sla_at_risk',
  /** The payer's decision time ran out. */
  'sla_breached',
  /** A pended case was asked about as often as the payer allows (maxInquiries): stop polling, a person follows up. */
  'inquiry_limit',
  /** A review gate expired without a decision. */
  'review_expired',
  /** A denial (or partial approval) to consider for appeal. */
  'appeal_consideration',
  /** An assembled appeal package to approve before it goes to the payer. */
  'appeal_review',
  /** An appeal sent by e-mail (a channel without appeals): a person records the payer's answer when it comes. */
  'appeal_outcome',
  /** A drafted pharmacy request has criteria its record could not answer: evidence or a pharmacist's override. */
  'criteria_unknown',
] as const;
export type TaskKind = (typeof taskKinds)[number];

export const taskPriorities = ['low', 'normal', 'high', 'urgent'] as const;
export type TaskPriority = (typeof taskPriorities)[number];

export const taskStates = ['open', 'claimed', 'resolved', 'cancelled'] as const;
export type TaskState = (typeof taskStates)[number];
export const openTaskStates: readonly TaskState[] = ['open', 'claimed'];

/** Ways a task is resolved. Each kind allows some (taskRules[kind].actions). */
export const taskActions = [
  /** Supply the missing fields (a correction of the request: a new case version) and resume. */
  'correct',
  /** Run the failed step again (failed → retried). */
  'retry',
  /** Ask the payer again, once more (after the inquiry limit). */
  'inquire_again',
  /** Documents were uploaded: send them to the payer and follow up. */
  'send_documents',
  /** Stop the case (and withdraw it at the payer when it was submitted). */
  'cancel_case',
  /** Assemble an appeal package (a denial to appeal). */
  'prepare_appeal',
  /** Approve an appeal package: it goes to the payer. */
  'approve_appeal',
  /** The payer's answer to an appeal sent by e-mail (approved, or the denial upheld), as a person learned it. */
  'record_appeal_outcome',
  /** Answer unknown drug criteria with the evidence (each met or not met, with where it is). */
  'supply_evidence',
  /** A pharmacist signs off with criteria left unknown, giving a reason. */
  'override_criteria',
  /** Done outside the gateway (called the payer, decided not to appeal): closes the task only. */
  'acknowledge',
] as const;
export type TaskAction = (typeof taskActions)[number];

/** One thing a task needs: a field of the request, a document, or evidence for a criterion. Named, never its value. */
export interface NeededItem {
  readonly type: 'field' | 'document' | 'criterion';
  readonly label: string;
  /** field: the request path (`coverage.memberId`). */
  readonly path?: string;
  /** field: where the sender writes it (`IN1-36`, `Coverage.subscriberId`); criterion: why the record did not say. */
  readonly source?: string;
  /** document: the kind asked for (X12 PWK01 report type, LOINC code); criterion: its id (the label is the evidence). */
  readonly code?: string;
  readonly system?: string;
}

export interface TaskRule {
  /** Who works it (a token role; admin may always). */
  readonly ownerRole: string;
  readonly priority: { readonly standard: TaskPriority; readonly expedited: TaskPriority };
  /** Hours until due, by urgency; null: due when the case's SLA is (or never). */
  readonly dueHours: { readonly standard: number; readonly expedited: number } | null;
  readonly actions: readonly TaskAction[];
}

/** Per kind: owner, priority and due time by urgency, and the actions that resolve it. Data, not branches. */
export const taskRules: Readonly<Record<TaskKind, TaskRule>> = {
  missing_data: {
    ownerRole: 'ehr',
    priority: { standard: 'normal', expedited: 'high' },
    dueHours: { standard: 24, expedited: 4 },
    actions: ['correct', 'cancel_case'],
  },
  more_information: {
    ownerRole: 'ehr',
    priority: { standard: 'normal', expedited: 'high' },
    dueHours: { standard: 72, expedited: 12 },
    actions: ['send_documents', 'cancel_case', 'acknowledge'],
  },
  channel_failure: {
    ownerRole: 'admin',
    priority: { standard: 'normal', expedited: 'high' },
    dueHours: { standard: 8, expedited: 2 },
    actions: ['retry', 'cancel_case'],
  },
  sla_at_risk: {
    ownerRole: 'reviewer',
    // Raised by each warning: high from the first, urgent from 90 % (src/workflow/tasks/sla.ts slaTaskPriority).
    priority: { standard: 'normal', expedited: 'high' },
    dueHours: null,
    actions: ['acknowledge'],
  },
  sla_breached: {
    ownerRole: 'reviewer',
    priority: { standard: 'urgent', expedited: 'urgent' },
    dueHours: { standard: 0, expedited: 0 },
    actions: ['acknowledge', 'cancel_case'],
  },
  inquiry_limit: {
    ownerRole: 'reviewer',
    priority: { standard: 'normal', expedited: 'high' },
    dueHours: { standard: 24, expedited: 4 },
    actions: ['inquire_again', 'cancel_case', 'acknowledge'],
  },
  review_expired: {
    ownerRole: 'reviewer',
    priority: { standard: 'high', expedited: 'urgent' },
    dueHours: { standard: 8, expedited: 2 },
    actions: ['acknowledge'],
  },
  appeal_consideration: {
    ownerRole: 'reviewer',
    priority: { standard: 'normal', expedited: 'high' },
    dueHours: { standard: 7 * 24, expedited: 48 },
    actions: ['prepare_appeal', 'acknowledge'],
  },
  appeal_review: {
    ownerRole: 'reviewer',
    priority: { standard: 'normal', expedited: 'high' },
    dueHours: { standard: 3 * 24, expedited: 24 },
    actions: ['approve_appeal', 'acknowledge'],
  },
  // Due when a standard appeal should be answered (30 days; 72 hours expedited), to chase the payer then.
  appeal_outcome: {
    ownerRole: 'reviewer',
    priority: { standard: 'normal', expedited: 'high' },
    dueHours: { standard: 30 * 24, expedited: 72 },
    actions: ['record_appeal_outcome', 'acknowledge'],
  },
  criteria_unknown: {
    ownerRole: 'pharmacist',
    priority: { standard: 'normal', expedited: 'high' },
    dueHours: { standard: 24, expedited: 4 },
    actions: ['supply_evidence', 'override_criteria', 'cancel_case'],
  },
};

const priorityRank: Readonly<Record<TaskPriority, number>> = { low: 0, normal: 1, high: 2, urgent: 3 };

export function higherPriority(a: TaskPriority, b: TaskPriority): TaskPriority {
  return priorityRank[a] >= priorityRank[b] ? a : b;
}

export function isTaskKind(value: unknown): value is TaskKind {
  return (taskKinds as readonly unknown[]).includes(value);
}

export function isTaskAction(value: unknown): value is TaskAction {
  return (taskActions as readonly unknown[]).includes(value);
}

/** What opening a task records: the store adds id, state, version and times. */
export interface TaskSpec {
  readonly kind: TaskKind;
  readonly reasonCodes: readonly string[];
  readonly needed: readonly NeededItem[];
  readonly ownerRole: string;
  readonly priority: TaskPriority;
  readonly dueAt: Date | null;
  /** One open task per case and key: opening a task whose key is open changes nothing (or raises priority). */
  readonly dedupeKey: string;
  /** Codes and ids that say more (step, errorCode, fraction …). */
  readonly details: Readonly<Record<string, unknown>>;
}

export interface TaskContext {
  readonly urgency: 'standard' | 'expedited';
  readonly at: Date;
  /** The case's SLA due time, when its clock runs. A task is never due after it. */
  readonly slaDueAt?: Date | null;
}

/** A task of `kind` with the rule's owner, priority and due time, for a case in `ctx`. */
export function planTask(
  kind: TaskKind,
  ctx: TaskContext,
  parts: {
    reasonCodes: readonly string[];
    needed?: readonly NeededItem[];
    dedupeKey?: string;
    details?: Record<string, unknown>;
    priority?: TaskPriority;
    dueAt?: Date | null;
  },
): TaskSpec {
  const rule = taskRules[kind];
  let dueAt: Date | null =
    parts.dueAt !== undefined
      ? parts.dueAt
      : rule.dueHours
        ? new Date(ctx.at.getTime() + rule.dueHours[ctx.urgency] * 3_600_000)
        : (ctx.slaDueAt ?? null);
  if (dueAt && ctx.slaDueAt && ctx.slaDueAt > ctx.at && dueAt > ctx.slaDueAt) dueAt = ctx.slaDueAt;
  const base = rule.priority[ctx.urgency];
  return {
    kind,
    reasonCodes: [...parts.reasonCodes],
    needed: [...(parts.needed ?? [])],
    ownerRole: rule.ownerRole,
    priority: parts.priority ? higherPriority(base, parts.priority) : base,
    dueAt,
    dedupeKey: parts.dedupeKey ?? kind,
    details: parts.details ?? {},
  };
}

/** The `missing_data` task for fields the order lacks, naming each with where the sender writes it. */
export function missingDataTask(
  fields: readonly CorrectableField[],
  sourceFormat: string,
  ctx: TaskContext,
): TaskSpec {
  return planTask('missing_data', ctx, {
    reasonCodes: fields.map((f) => f.reasonCode),
    needed: fields.map((f) => ({
      type: 'field' as const,
      label: f.label,
      path: f.path,
      source: sourceFormat === 'hl7v2' ? f.hl7 : f.fhir,
    })),
  });
}

/** Whether a person holding `roles` may work (claim, resolve) a task owned by `ownerRole`. */
export function mayWorkTask(roles: readonly string[], ownerRole: string): boolean {
  if (roles.includes('admin') || roles.includes(ownerRole)) return true;
  // A plain `reviewer` task takes any reviewing role.
  const reviewing = ['reviewer', 'utilization_reviewer', 'medical_director', 'pharmacist'];
  return ownerRole === 'reviewer' && roles.some((r) => reviewing.includes(r));
}
