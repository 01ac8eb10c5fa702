/**
 * A task to the ordering provider (missing data in the order, documents the payer asks for), in the shapes the
 * provider's systems read:
 * - a FHIR R4 Task on the EHR topic (status requested → completed / cancelled as the task moves), focused on the
 *   order, owned by the ordering practitioner (NPI), each needed item an `input` naming the field and where the
 *   order carries it;
 * - for an order that came as HL7 v2, a message back to the sending application in the clinic's preferred type
 *   (ORR^O02 with MSA AA, an ERR per missing field at its position, ORC-5 HD "on hold"; or ORM^O01 ORC-1 SC),
 *   with an NTE per needed item.
 * Neither carries a value of the request beyond the identifiers the EHR itself sent (order numbers, MRN). Pure.
 * @see FHIR R4 Task (http://hl7.org/fhir/R4/task.html); HL7 v2.5.1 ch. 2 (ERR), ch. 4 (ORR^O02, ORC)
 */
import { HL7Message } from 'hl7v2';
import type { TaskChange } from '../../store/tasks.ts';
import { type OutboundCase, patientIdentifier, splitSender } from '../case-view.ts';
import { OutboundBuildError } from '../errors.ts';
import { escapeHl7, hl7Preferences } from '../hl7-status.ts';
import { identifierSystem } from '../ids.ts';
import type { TenantSettings } from '../types.generated.ts';
import { type TaskView, taskMessageId } from './task-event.ts';

/** Task kinds that are work for the ordering provider (and so go to the EHR). */
export const providerTaskKinds: ReadonlySet<string> = new Set(['missing_data', 'more_information']);

const fhirStatus: Record<string, string> = {
  open: 'requested',
  claimed: 'accepted',
  resolved: 'completed',
  cancelled: 'cancelled',
};
const fhirPriority: Record<string, string> = {
  low: 'routine',
  normal: 'routine',
  high: 'urgent',
  urgent: 'asap',
};
const kindText: Record<string, string> = {
  missing_data: 'Provide the information missing from the order so the prior authorization can go on',
  more_information: 'Send the documents the payer asks for so it can decide the prior authorization',
};

export const taskReasonSystem = 'urn:pagw:task-reason';

function neededText(task: TaskView): string[] {
  return task.needed.map((n) =>
    n.type === 'field'
      ? `${n.label}${n.source ? ` (${n.source})` : ''} is missing`
      : `Document needed: ${n.label}${n.code ? ` (${n.code})` : ''}`,
  );
}

export interface ProviderTaskInput {
  readonly task: TaskView;
  readonly change: TaskChange;
  readonly caseRecord: OutboundCase;
  readonly tenant: Pick<TenantSettings, 'id' | 'displayName' | 'fhir' | 'hl7v2'>;
  readonly at: Date;
}

/** The FHIR R4 Task for a provider task (any change: its status follows the task's). */
export function buildFhirTask(input: ProviderTaskInput): Record<string, unknown> {
  const { task, caseRecord, tenant, at } = input;
  const request = caseRecord.request;
  const order = request.orderReference ?? {};
  const mrn = patientIdentifier(request);
  const npi = request.requestingProvider?.npi;
  const focus = order.resourceReference
    ? { reference: order.resourceReference }
    : order.placerOrderNumber
      ? {
          identifier: {
            system: identifierSystem(tenant, 'placer-order'),
            value: order.placerOrderNumber,
          },
          display: 'The order this prior authorization is for',
        }
      : undefined;
  const lines = neededText(task);
  return {
    resourceType: 'Task',
    id: task.id,
    meta: { versionId: String(task.version), lastUpdated: at.toISOString() },
    identifier: [{ system: identifierSystem(tenant, 'task'), value: task.id }],
    basedOn: [{ identifier: { system: identifierSystem(tenant, 'case'), value: caseRecord.id } }],
    status: fhirStatus[task.state] ?? 'requested',
    businessStatus: { text: task.kind.replace(/_/g, ' ') },
    intent: 'order',
    priority: fhirPriority[task.priority] ?? 'routine',
    code: {
      coding: [{ system: 'http://hl7.org/fhir/CodeSystem/task-code', code: 'fulfill' }],
      text: kindText[task.kind] ?? task.kind,
    },
    description: lines.join('; '),
    ...(focus ? { focus } : {}),
    ...(mrn
      ? {
          for: {
            identifier: {
              ...(mrn.system ? { system: mrn.system } : {}),
              value: mrn.value,
            },
          },
        }
      : {}),
    authoredOn: at.toISOString(),
    lastModified: at.toISOString(),
    requester: { display: `PA Gateway for ${tenant.displayName}` },
    ...(npi
      ? { owner: { identifier: { system: 'http://hl7.org/fhir/sid/us-npi', value: npi } } }
      : { owner: { display: 'Ordering provider' } }),
    ...(task.dueAt ? { restriction: { period: { end: task.dueAt.toISOString() } } } : {}),
    reasonCode: {
      coding: task.reasonCodes.map((code) => ({ system: taskReasonSystem, code })),
      text: lines.join('; '),
    },
    input: task.needed.map((n) => ({
      type: {
        ...(n.code && n.system ? { coding: [{ system: n.system, code: n.code }] } : {}),
        text: n.type === 'field' ? `missing: ${n.path}` : `document: ${n.code ?? n.label}`,
      },
      valueString: n.type === 'field' ? `${n.label}${n.source ? ` (${n.source})` : ''}` : n.label,
    })),
  };
}

/** HL7 TS in UTC. */
function hl7Timestamp(at: Date): string {
  return `${at.toISOString().replace(/[-:T]/g, '').slice(0, 14)}+0000`;
}

/** `IN1-36` → `IN1^1^36` (ERR-2 error location: segment, sequence, field). */
function errorLocation(source: string | undefined): string {
  const match = source ? /^([A-Z][A-Z0-9]{2})(?:\[(\d+)\])?-(\d+)/.exec(source) : null;
  return match ? `${match[1]}^${match[2] ?? '1'}^${match[3]}` : '';
}

export interface ProviderHl7Message {
  readonly er7: string;
  readonly messageType: string;
  readonly controlId: string;
  readonly topic: string;
}

/**
 * The HL7 v2 message telling a v2 sender what its order lacks (only for a task just opened or escalated), or
 * undefined when the order did not come as HL7 v2 or the clinic has no HL7 v2 destination.
 */
export function buildProviderHl7Message(input: ProviderTaskInput): ProviderHl7Message | undefined {
  const { task, caseRecord, tenant, at } = input;
  const request = caseRecord.request;
  if (request.source.format !== 'hl7v2') return undefined;
  const sender = splitSender(request.source.sender);
  const prefs = hl7Preferences(tenant, sender.application);
  if (!prefs.destination) return undefined;
  const messageType = prefs.messageType;
  const [code, trigger] = messageType.split('^') as [string, string];
  const controlId = taskMessageId(task, 'hl7v2').replace(/-/g, '').slice(0, 20);
  const order = request.orderReference ?? {};
  const mrn = patientIdentifier(request);
  const e = escapeHl7;
  const segments = [
    [
      'MSH',
      '^~\\&',
      e(prefs.sendingApplication),
      e(prefs.sendingFacility),
      e(sender.application),
      e(sender.facility ?? ''),
      hl7Timestamp(at),
      '',
      `${code}^${trigger}^${code}_${trigger}`,
      controlId,
      'P',
      prefs.version,
    ].join('|'),
  ];
  if (code === 'ORR') {
    segments.push(`MSA|AA|${e(request.source.messageId ?? '')}`);
    for (const n of task.needed.filter((x) => x.type === 'field')) {
      // ERR-2 where, ERR-3 101 required field missing, ERR-4 W: the order is kept, on hold, not refused.
      segments.push(
        `ERR||${errorLocation(n.source)}|101^Required field missing^HL70357|W||${e(task.reasonCodes[0] ?? '')}||${e(`${n.label} is missing: the prior authorization waits for it`)}`,
      );
    }
  }
  task.needed.forEach((_, i) => {
    segments.push(`NTE|${i + 1}|L|${e(neededText(task)[i]!)}`);
  });
  segments.push(
    `NTE|${task.needed.length + 1}|L|${e(`Send a corrected order with the same placer order number. Case ${caseRecord.id}, task ${task.id}.`)}`,
  );
  if (mrn) segments.push(`PID|1||${e(mrn.value)}`);
  const orderControl = code === 'ORR' ? 'OK' : 'SC';
  segments.push(
    `ORC|${orderControl}|${e(order.placerOrderNumber ?? '')}|${e(order.fillerOrderNumber ?? '')}|${e(order.placerGroupNumber ?? '')}|HD`,
  );
  const er7 = segments.join('\r');
  try {
    const parsed = HL7Message.parse(er7);
    if (parsed.messageType !== messageType || parsed.controlId !== controlId) throw new Error('mismatch');
  } catch (error) {
    throw new OutboundBuildError(
      'PAGW_TASK_MESSAGE_INVALID',
      `The built ${messageType} does not parse back`,
      {
        cause: error,
      },
    );
  }
  return { er7, messageType, controlId, topic: prefs.destination.topic };
}
