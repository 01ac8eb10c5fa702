/**
 * The task event (pa.tasks.v1, schemas/events/task.v1.json): one per change of a task in the exception queue, for
 * work-queue tools and dashboards. Codes, paths and ids only. Pure; validated against its schema before it is
 * returned. Documented in docs/events/task.v1.md.
 */
import taskSchema from '../../../schemas/events/task.v1.json' with { type: 'json' };
import { ajvErrorsToProblems, createAjv } from '../../canonical/schema-validator.ts';
import { deterministicUuid } from '../../store/ids.ts';
import type { TaskChange, TaskRecord } from '../../store/tasks.ts';
import { taskRules } from '../../workflow/tasks/tasks.ts';
import { OutboundBuildError } from '../errors.ts';
import type { TaskEvent } from './types.generated.ts';

export type { TaskEvent } from './types.generated.ts';

/** task.v1.1 adds `needed` items of type `criterion` (issue #15); every other task event stays task.v1.0. */
export function taskEventSchemaOf(task: Pick<TaskView, 'needed'>): TaskEvent['schema'] {
  return task.needed.some((n) => n.type === 'criterion') ? 'task.v1.1' : 'task.v1.0';
}

const ajv = createAjv([taskSchema]);
const validateTask = ajv.getSchema(taskSchema.$id)!;

/** The task as subscribers (and the API) see it. */
export type TaskView = Pick<
  TaskRecord,
  | 'id'
  | 'tenant'
  | 'caseId'
  | 'version'
  | 'kind'
  | 'state'
  | 'reasonCodes'
  | 'needed'
  | 'ownerRole'
  | 'assignee'
  | 'priority'
  | 'dueAt'
  | 'resolution'
>;

/** Deterministic per task, version and kind of message: a replay writes the same id, the outbox drops it. */
export function taskMessageId(task: Pick<TaskRecord, 'id' | 'version'>, kind: string): string {
  return deterministicUuid('task', task.id, String(task.version), kind);
}

export function buildTaskEvent(task: TaskView, change: TaskChange, at: Date): TaskEvent {
  const event: TaskEvent = {
    schema: taskEventSchemaOf(task),
    eventId: taskMessageId(task, 'task.v1'),
    occurredAt: at.toISOString(),
    tenant: task.tenant,
    caseId: task.caseId,
    change,
    task: {
      id: task.id,
      version: task.version,
      kind: task.kind,
      state: task.state,
      reasonCodes: [...task.reasonCodes],
      needed: task.needed.map((n) => ({ ...n })),
      ownerRole: task.ownerRole,
      ...(task.assignee ? { assignee: task.assignee } : {}),
      priority: task.priority,
      dueAt: task.dueAt ? task.dueAt.toISOString() : null,
      actions: [...(taskRules[task.kind]?.actions ?? [])],
      ...(task.resolution ? { resolution: { ...task.resolution } } : {}),
    },
  };
  if (!validateTask(event)) {
    const problems = ajvErrorsToProblems(validateTask.errors);
    throw new OutboundBuildError(
      'PAGW_TASK_MESSAGE_INVALID',
      `Task event for task ${task.id} fails ${event.schema}: ${problems
        .slice(0, 5)
        .map((p) => `${p.location}: ${p.message}`)
        .join('; ')}`,
      { problems },
    );
  }
  return event;
}
