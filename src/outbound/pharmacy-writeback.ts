/**
 * Pharmacy write-backs: what a pharmacy system is told about a PA flag it sent, on its callback URL (delivered by
 * ./pharmacy-callback.ts), and the `pharmacy` part of the status event (status.v1.1). Pure.
 *
 *   review_requested                      → draft_ready (with the checklist: met / not met / unknown)
 *   submitted, resubmitted                → submitted (transactionId = the case's trace number)
 *   pended                                → pended, or more_info_needed when the payer asks for documentation
 *   information_requested                 → more_info_needed (a later look asks for documents)
 *   decided, decision_updated             → approved (also modified), denied (reasons), cancelled, failed (error)
 *   rejected / failed / cancelled         → rejected / failed / cancelled
 *   (no case) drafting lacked a fact      → needs_info (missing: each fact and why)
 *
 * Event ids are deterministic (case id + version + kind, or the flag + status for case-less ones): a replayed
 * transition writes the same write-back, the outbox drops the repeat, and the pharmacy deduplicates on it.
 */
import writeBackSchema from '../../schemas/events/pharmacy-writeback.v1.json' with { type: 'json' };
import type { AuthorizationRequest, CriteriaChecklist } from '../canonical/index.ts';
import { ajvErrorsToProblems, createAjv } from '../canonical/schema-validator.ts';
import type { Problem } from '../errors/index.ts';
import { deterministicUuid } from '../store/ids.ts';
import type { OutboxMessage } from '../store/outbox.ts';
import { OutboxHeader } from '../store/outbox.ts';
import type { CaseEventType } from '../workflow/case-state-machine.ts';
import type { OutboundCase } from './case-view.ts';
import { OutboundBuildError } from './errors.ts';
import { outboundEventId } from './ids.ts';
import type { PharmacyStatus, PharmacyWriteBack, TenantSettings } from './types.generated.ts';

export type { PharmacyWriteBack } from './types.generated.ts';
export type WriteBackStatus = PharmacyWriteBack['status'];

export const writeBackSchemaVersion: PharmacyWriteBack['schema'] = 'pharmacy-writeback.v1.0';

const ajv = createAjv([writeBackSchema]);
const validateWriteBack = ajv.getSchema(writeBackSchema.$id)!;

/** The gateway's id of a flag (the webhook's `requestId`): from the tenant and the flag's idempotency key. */
export function pharmacyRequestIdFor(tenant: string, idempotencyKey: string): string {
  return deterministicUuid('pharmacy-request', tenant, idempotencyKey);
}

/** A case drafted from a pharmacy flag: a pharmacy benefit and a prescription line, sent by a webhook sender. */
export function isPharmacyCase(request: AuthorizationRequest): boolean {
  return (
    request.source.format === 'api' &&
    request.coverage.pharmacyBenefit !== undefined &&
    request.serviceLines.some((l) => l.prescription !== undefined) &&
    request.idempotencyKey.startsWith('pharmacy:')
  );
}

/** The write-back a transition means, if any. */
export function writeBackStatusFor(
  event: CaseEventType | 'received',
  caseRecord: OutboundCase,
): WriteBackStatus | undefined {
  const decision = caseRecord.decision;
  switch (event) {
    case 'review_requested':
      return 'draft_ready';
    case 'submitted':
    case 'resubmitted':
      return 'submitted';
    case 'pended':
      return decision?.followUp === 'send_documentation' ? 'more_info_needed' : 'pended';
    case 'information_requested':
      return 'more_info_needed';
    case 'decided':
    case 'decision_updated':
      switch (decision?.outcome) {
        case 'approved':
        case 'modified':
          return 'approved';
        case 'denied':
          return 'denied';
        case 'cancelled':
          return 'cancelled';
        case 'pended':
          return decision.followUp === 'send_documentation' ? 'more_info_needed' : 'pended';
        default:
          return 'failed';
      }
    case 'rejected':
      return 'rejected';
    case 'failed':
      return 'failed';
    case 'cancelled':
      return 'cancelled';
    default:
      return undefined;
  }
}

/** The case's submission trace number (X12 TRN02 / PAS Claim.identifier): see traceNumberFor in the workflow. */
function transactionIdOf(caseId: string): string {
  return caseId.replace(/-/g, '').toUpperCase();
}

function checklistOf(checklist: CriteriaChecklist): NonNullable<PharmacyWriteBack['checklist']> {
  return {
    criteriaId: checklist.criteriaId,
    version: checklist.version,
    summary: { ...checklist.summary },
    items: checklist.items.map((i) => ({
      id: i.id,
      description: i.description,
      status: i.status,
      reason: i.reason,
      evidence: i.evidence.map((e) => e.source),
    })),
  };
}

const submittedOrLater: ReadonlySet<WriteBackStatus> = new Set([
  'submitted',
  'pended',
  'more_info_needed',
  'approved',
  'denied',
]);

/** The `pharmacy` part of a pharmacy case's status event (status.v1.1); undefined for other cases. */
export function pharmacyStatusFor(
  event: CaseEventType | 'received',
  caseRecord: OutboundCase,
): PharmacyStatus | undefined {
  const request = caseRecord.request;
  if (!isPharmacyCase(request)) return undefined;
  const status = writeBackStatusFor(event, caseRecord);
  const checklist = request.clinicalCriteria;
  return {
    sender: request.source.sender,
    prescriptionId: request.serviceLines.find((l) => l.prescription)!.prescription!.id,
    requestId: pharmacyRequestIdFor(caseRecord.tenant, request.idempotencyKey),
    ...(status ? { writeBack: status } : {}),
    ...(status && submittedOrLater.has(status) ? { transactionId: transactionIdOf(caseRecord.id) } : {}),
    ...(checklist
      ? {
          checklist: {
            criteriaId: checklist.criteriaId,
            version: checklist.version,
            ...checklist.summary,
          },
        }
      : {}),
  };
}

function validated(writeBack: PharmacyWriteBack): PharmacyWriteBack {
  if (!validateWriteBack(writeBack)) {
    const problems = ajvErrorsToProblems(validateWriteBack.errors);
    throw new OutboundBuildError(
      'PAGW_OUTBOUND_STATUS_EVENT_INVALID',
      `Pharmacy write-back ${writeBack.eventId} fails ${writeBackSchemaVersion}: ${problems
        .slice(0, 5)
        .map((p) => `${p.location}: ${p.message}`)
        .join('; ')}`,
      { problems },
    );
  }
  return writeBack;
}

/** The sender of a pharmacy case, when its tenant registers it with a callback URL (else nothing is written back). */
function callbackSender(tenant: Readonly<TenantSettings>, sender: string) {
  return tenant.pharmacy?.senders.find((s) => s.id === sender && s.callbackUrl);
}

/** The write-back of a case transition, or undefined when the transition is none or the sender takes none. */
export function buildCaseWriteBack(input: {
  event: CaseEventType | 'received';
  caseRecord: OutboundCase;
  tenant: Readonly<TenantSettings>;
  payer?: { id: string; name?: string };
  at: Date;
}): PharmacyWriteBack | undefined {
  const { caseRecord, at } = input;
  const request = caseRecord.request;
  if (!isPharmacyCase(request) || !callbackSender(input.tenant, request.source.sender)) return undefined;
  const status = writeBackStatusFor(input.event, caseRecord);
  if (!status) return undefined;
  const decision = caseRecord.decision;
  const decided = status !== 'draft_ready' && status !== 'submitted' ? decision : null;
  const channel = decision?.channel ?? caseRecord.channel ?? undefined;
  const payerId = decision?.payer.id ?? input.payer?.id ?? caseRecord.payerId ?? undefined;
  return validated({
    schema: writeBackSchemaVersion,
    eventId: outboundEventId(caseRecord.id, caseRecord.version, 'pharmacy-writeback'),
    occurredAt: at.toISOString(),
    tenant: caseRecord.tenant,
    sender: request.source.sender,
    prescriptionId: request.serviceLines.find((l) => l.prescription)!.prescription!.id,
    patientId: request.patient.identifiers[0]!.value,
    requestId: pharmacyRequestIdFor(caseRecord.tenant, request.idempotencyKey),
    caseId: caseRecord.id,
    caseVersion: caseRecord.version,
    status,
    ...(submittedOrLater.has(status) ? { transactionId: transactionIdOf(caseRecord.id) } : {}),
    ...(payerId
      ? {
          payer: {
            id: payerId,
            ...(input.payer?.name ? { name: input.payer.name } : {}),
            ...(channel === 'x12' || channel === 'pas' || channel === 'portal' ? { channel } : {}),
          },
        }
      : {}),
    ...(decided?.certificationNumber && status === 'approved'
      ? { certificationNumber: decided.certificationNumber }
      : {}),
    ...(decided?.administrativeReference ? { administrativeReference: decided.administrativeReference } : {}),
    ...(decided?.authorizedPeriod && status === 'approved'
      ? { authorizedPeriod: { ...decided.authorizedPeriod } }
      : {}),
    ...(decided?.reasons.length
      ? {
          reasons: decided.reasons.map((r) => ({
            ...(r.system ? { system: r.system } : {}),
            code: r.code,
            ...(r.text ? { text: r.text } : {}),
          })),
        }
      : {}),
    ...(decided?.followUp ? { followUp: decided.followUp } : {}),
    ...(status === 'draft_ready' && request.clinicalCriteria
      ? { checklist: checklistOf(request.clinicalCriteria) }
      : {}),
  });
}

/** The write-back of a flag that never became a case: needs_info (a missing fact) or failed (drafting gave up). */
export function buildFlagWriteBack(input: {
  tenant: string;
  sender: string;
  prescriptionId: string;
  patientId: string;
  requestId: string;
  status: 'needs_info' | 'failed';
  missing?: readonly Problem[];
  checklist?: CriteriaChecklist;
  at: Date;
}): PharmacyWriteBack {
  return validated({
    schema: writeBackSchemaVersion,
    eventId: deterministicUuid('pharmacy-writeback', input.tenant, input.requestId, input.status),
    occurredAt: input.at.toISOString(),
    tenant: input.tenant,
    sender: input.sender,
    prescriptionId: input.prescriptionId,
    patientId: input.patientId,
    requestId: input.requestId,
    status: input.status,
    ...(input.missing?.length
      ? { missing: input.missing.map((p) => ({ location: p.location, message: p.message })) }
      : {}),
    ...(input.checklist ? { checklist: checklistOf(input.checklist) } : {}),
  });
}

/** Headers of a write-back on the bus (the callback delivery reads the sender from them without parsing). */
export const WriteBackHeader = { sender: 'pagw-pharmacy-sender', status: 'pagw-pharmacy-status' } as const;

/** A write-back as an outbox message on `topic`, keyed by case (else by flag) so one flag's write-backs stay in order. */
export function writeBackMessage(topic: string, writeBack: PharmacyWriteBack): OutboxMessage {
  return {
    topic,
    key: writeBack.caseId ?? writeBack.requestId,
    value: writeBack,
    eventId: writeBack.eventId,
    headers: {
      [OutboxHeader.schemaVersion]: writeBack.schema,
      'pagw-kind': 'pharmacy-writeback',
      [WriteBackHeader.sender]: writeBack.sender,
      [WriteBackHeader.status]: writeBack.status,
    },
  };
}
