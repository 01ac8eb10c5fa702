/**
 * The one pure entry point the workflow calls on each case transition: what to publish about it.
 *
 *   status event   → topics.status          on every state change (and on case creation)
 *   ClaimResponse  → topics.claimResponse   when the case lands in pended or decided
 *   HL7 v2 status  → the clinic's topic     when it lands in pended or decided and the order came as HL7 v2
 *   care-team mail → emails (and topics.notifications when set)  on approval, denial, documentation request
 *   pharmacy write-back → topics.pharmacyWriteBack  for a case drafted from a pharmacy flag whose sender takes
 *                    write-backs: draft ready, submitted, decided … (./pharmacy-writeback.ts)
 *
 * Every message is keyed by case id and carries a deterministic event id (case id + case version + kind), so a
 * replayed transition produces byte-identical messages with the same ids and the outbox drops the repeat. Any
 * builder error (an invalid ClaimResponse or status event) is thrown: the caller's transaction fails and nothing
 * half-built is published. See src/outbound/README.md.
 */
import type { OutboxMessage } from '../store/outbox.ts';
import { OutboxHeader } from '../store/outbox.ts';
import type { CaseEventType, CaseState } from '../workflow/case-state-machine.ts';
import type { OutboundCase, PayerInfo } from './case-view.ts';
import { buildClaimResponse } from './claim-response.ts';
import { caseEmailJob, type EmailJob } from './email/render.ts';
import { buildHl7StatusMessage } from './hl7-status.ts';
import { outboundEventId } from './ids.ts';
import { buildCaseWriteBack, pharmacyStatusFor, writeBackMessage } from './pharmacy-writeback.ts';
import { buildStatusEvent } from './status-event.ts';
import type { TenantSettings } from './types.generated.ts';

export interface OutboundTopics {
  readonly claimResponse: string;
  readonly status: string;
  /** When set, e-mail jobs are also written to the outbox on this topic (see createEmailDeliveryHandler). */
  readonly notifications?: string;
  /** When set, pharmacy write-backs are written here (see createPharmacyCallbackHandler). */
  readonly pharmacyWriteBack?: string;
}

export interface OutboundInput {
  /** The case event of the transition; `received` for a newly created case. */
  readonly event: CaseEventType | 'received';
  /** The case AFTER the transition (new state, version, decision, SLA); see caseAfterTransition. */
  readonly caseRecord: OutboundCase;
  /** The state before the transition; null for a new case. */
  readonly previousState: CaseState | null;
  /** The payer as the workflow resolved it, with its fee schedule when the rules carry one. */
  readonly payer?: PayerInfo;
  readonly tenant: Readonly<TenantSettings>;
  /** config.topics fits. */
  readonly topics: OutboundTopics;
  /** When the transition happened (the same `at` given to transitionCase). */
  readonly at: Date;
}

export interface OutboundPlan {
  /** Pass as `outbox` to transitionCase / createCase: written in the transition's transaction. */
  readonly outbox: OutboxMessage[];
  /** Care-team e-mails to send after the commit (or delivered from topics.notifications). */
  readonly emails: EmailJob[];
}

/** Extra headers (beyond the outbox's tenant/event/case ids) that let a subscriber route without parsing. */
export const OutboundHeader = {
  kind: 'pagw-kind',
  outcome: 'pagw-outcome',
  caseState: 'pagw-case-state',
  caseVersion: 'pagw-case-version',
  hl7MessageType: 'pagw-hl7-message-type',
  mllpDestination: 'pagw-mllp-destination',
} as const;

const decisionStates: ReadonlySet<CaseState> = new Set(['pended', 'decided']);

export function outboundFor(input: OutboundInput): OutboundPlan {
  const { caseRecord, tenant, topics, at } = input;
  const common = {
    [OutboundHeader.caseState]: caseRecord.state,
    [OutboundHeader.caseVersion]: String(caseRecord.version),
  };
  const outbox: OutboxMessage[] = [];

  const status = buildStatusEvent({
    caseRecord,
    previousState: input.previousState,
    event: input.event,
    payer: input.payer,
    at,
    patientIdentifier: tenant.statusEvent?.patientIdentifier === true,
    pharmacy: pharmacyStatusFor(input.event, caseRecord),
  });
  outbox.push({
    topic: topics.status,
    key: caseRecord.id,
    value: status,
    eventId: status.eventId,
    headers: {
      ...common,
      [OutboxHeader.schemaVersion]: status.schema,
      [OutboundHeader.kind]: 'status',
      ...(status.status.outcome ? { [OutboundHeader.outcome]: status.status.outcome } : {}),
    },
  });

  if (topics.pharmacyWriteBack) {
    const writeBack = buildCaseWriteBack({
      event: input.event,
      caseRecord,
      tenant,
      ...(input.payer ? { payer: input.payer } : {}),
      at,
    });
    if (writeBack) outbox.push(writeBackMessage(topics.pharmacyWriteBack, writeBack));
  }

  const decision = caseRecord.decision;
  // A decision, the payer's answer to an appeal of it and a changed decision (a delivered case keeps its state, its
  // decision changes).
  if (
    decision &&
    (decisionStates.has(caseRecord.state) ||
      input.event === 'appeal_decided' ||
      input.event === 'decision_updated')
  ) {
    const claimResponse = buildClaimResponse({ caseRecord, tenant, payer: input.payer, at });
    outbox.push({
      topic: topics.claimResponse,
      key: caseRecord.id,
      value: claimResponse,
      eventId: outboundEventId(caseRecord.id, caseRecord.version, 'claimresponse'),
      headers: {
        ...common,
        [OutboxHeader.contentType]: 'application/fhir+json; fhirVersion=4.0',
        [OutboxHeader.schemaVersion]: 'fhir-r4/ClaimResponse',
        [OutboundHeader.kind]: 'claimresponse',
        [OutboundHeader.outcome]: decision.outcome,
      },
    });

    if (caseRecord.request.source.format === 'hl7v2' && tenant.hl7v2) {
      const hl7 = buildHl7StatusMessage({ caseRecord, tenant, payer: input.payer, at });
      const destination = hl7.destination!;
      outbox.push({
        topic: destination.topic,
        key: caseRecord.id,
        value: hl7.er7,
        eventId: outboundEventId(caseRecord.id, caseRecord.version, 'hl7v2-status'),
        headers: {
          ...common,
          [OutboxHeader.contentType]: 'x-application/hl7-v2+er7',
          [OutboxHeader.schemaVersion]: `hl7v2/${hl7.messageType}`,
          [OutboundHeader.kind]: 'hl7v2-status',
          [OutboundHeader.outcome]: decision.outcome,
          [OutboundHeader.hl7MessageType]: hl7.messageType,
          ...(destination.mllp
            ? { [OutboundHeader.mllpDestination]: `${destination.mllp.host}:${destination.mllp.port}` }
            : {}),
        },
      });
    }
  }

  const emails: EmailJob[] = [];
  const job = caseEmailJob({ caseRecord, tenant, payer: input.payer });
  if (job) {
    emails.push(job);
    if (topics.notifications) {
      outbox.push({
        topic: topics.notifications,
        key: caseRecord.id,
        value: job,
        eventId: job.eventId,
        headers: { ...common, [OutboundHeader.kind]: `email:${job.kind}` },
      });
    }
  }
  return { outbox, emails };
}
