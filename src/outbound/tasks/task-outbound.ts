/**
 * What to publish about a change of a task, written in the change's own transaction (store/tasks.ts `outbox`):
 *
 *   task event      → topics.tasks       every change (pa.tasks.v1)
 *   FHIR Task       → topics.ehrTasks    every change of a task to the ordering provider (missing data, documents)
 *   HL7 v2 message  → the clinic's HL7 v2 status topic, when such a task opens for an order that came as HL7 v2
 *   care-team mail  → topics.notifications (when SMTP is configured): missing data opened, SLA warnings
 *
 * Keyed by case id (one case's events stay in order), deterministic event ids per task version. Pure.
 */
import type { OutboxMessage } from '../../store/outbox.ts';
import { OutboxHeader } from '../../store/outbox.ts';
import type { TaskChange, TaskRecord } from '../../store/tasks.ts';
import type { OutboundCase, PayerInfo } from '../case-view.ts';
import type { TenantSettings } from '../types.generated.ts';
import { buildFhirTask, buildProviderHl7Message, providerTaskKinds } from './provider-task.ts';
import { taskEmailJob } from './task-email.ts';
import { buildTaskEvent, taskMessageId } from './task-event.ts';

export interface TaskTopics {
  readonly tasks: string;
  readonly ehrTasks: string;
  /** Set only when SMTP is configured (no e-mail jobs otherwise). */
  readonly notifications?: string;
}

export interface TaskOutboundInput {
  readonly task: TaskRecord;
  readonly change: TaskChange;
  /** The case as it stands (after the transition made in the same transaction, if any). */
  readonly caseRecord: OutboundCase;
  readonly at: Date;
  readonly payer?: PayerInfo;
}

export type TaskOutboundPlanner = (input: TaskOutboundInput) => OutboxMessage[];

export function createTaskOutboundPlanner(deps: {
  readonly tenants: { get(tenant: string): Readonly<TenantSettings> };
  readonly topics: TaskTopics;
}): TaskOutboundPlanner {
  return ({ task, change, caseRecord, at, payer }) => {
    const tenant = deps.tenants.get(task.tenant);
    const common = { 'pagw-task-kind': task.kind, 'pagw-task-version': String(task.version) };
    const event = buildTaskEvent(task, change, at);
    const out: OutboxMessage[] = [
      {
        topic: deps.topics.tasks,
        key: task.caseId,
        value: event,
        eventId: event.eventId,
        headers: { ...common, [OutboxHeader.schemaVersion]: event.schema, 'pagw-kind': 'task' },
      },
    ];
    if (providerTaskKinds.has(task.kind)) {
      const input = { task, change, caseRecord, tenant, at };
      out.push({
        topic: deps.topics.ehrTasks,
        key: task.caseId,
        value: buildFhirTask(input),
        eventId: taskMessageId(task, 'fhir-task'),
        headers: {
          ...common,
          [OutboxHeader.contentType]: 'application/fhir+json; fhirVersion=4.0',
          [OutboxHeader.schemaVersion]: 'fhir-r4/Task',
          'pagw-kind': 'fhir-task',
        },
      });
      const hl7 = change === 'opened' ? buildProviderHl7Message(input) : undefined;
      if (hl7) {
        out.push({
          topic: hl7.topic,
          key: task.caseId,
          value: hl7.er7,
          eventId: taskMessageId(task, 'hl7v2'),
          headers: {
            ...common,
            [OutboxHeader.contentType]: 'x-application/hl7-v2+er7',
            [OutboxHeader.schemaVersion]: `hl7v2/${hl7.messageType}`,
            'pagw-kind': 'hl7v2-task',
            'pagw-hl7-message-type': hl7.messageType,
          },
        });
      }
    }
    if (deps.topics.notifications) {
      const job = taskEmailJob({ task, change, caseRecord, tenant, ...(payer ? { payer } : {}) });
      if (job) {
        out.push({
          topic: deps.topics.notifications,
          key: task.caseId,
          value: job,
          eventId: job.eventId,
          headers: { ...common, 'pagw-kind': `email:${job.kind}` },
        });
      }
    }
    return out;
  };
}
