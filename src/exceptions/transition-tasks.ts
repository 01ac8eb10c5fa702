/**
 * What the exception queue does when the workflow moves a case (called by the case advancer inside the transition's
 * transaction, src/workers/case-advancer.ts `exceptions`):
 *   pended         → the payer's decision clock starts (from the first submission): SLA warnings and breach timers;
 *                    a documents task when the payer asks for documents
 *   information_requested (a later look asks for documents) → the documents task (./information-requests.ts)
 *   failed         → a `channel_failure` task (retry or cancel), with the failure's reason and error code
 *   decided, rejected, not required, cancelled → the clock stops; SLA and inquiry-limit tasks close
 *   a review gate expired (reason REVIEW_EXPIRED: rejected or escalated) → a `review_expired` task for the gate's role
 *   review_requested (a drafted pharmacy request with criteria its record could not answer) → a `criteria_unknown`
 *                  task to the pharmacist naming each, which blocks approval until it is resolved
 * and, when a pended case was asked about as often as the payer allows, an `inquiry_limit` task instead of polling.
 */
import type { AuditEntry } from '../audit/audit-log.ts';
import type { CaseRecord } from '../store/cases.ts';
import type { Database } from '../store/database.ts';
import { markDocumentsSent } from '../store/documents.ts';
import type { Tx } from '../store/sql.ts';
import { openTask } from '../store/tasks.ts';
import type { PhiCipher } from '../vault/phi.ts';
import type { CaseEventType } from '../workflow/case-state-machine.ts';
import { isDraftedPharmacyRequest } from '../workflow/pharmacy/sign-off.ts';
import { unknownCriteriaTask } from '../workflow/pharmacy/unknown-criteria.ts';
import type { PayerAppeal, PayerAttachment } from '../workflow/ports/payer-connector.ts';
import { isAppealable } from '../workflow/tasks/appeals.ts';
import { slaClock } from '../workflow/tasks/sla.ts';
import { type NeededItem, planTask, type TaskSpec } from '../workflow/tasks/tasks.ts';
import { type AppealMailDeps, type AppealMailed, mailAppeal } from './appeal-email.ts';
import { appealOutcomeTask, appealToSend, onAppealTransition } from './appeals.ts';
import { attachmentsToSend } from './documents.ts';
import { onInformationRequested } from './information-requests.ts';
import { type SlaWatchDeps, startSlaClock, stopCase, stopCaseColumnSql } from './sla-watch.ts';
import { type ActionContext, taskWrites } from './task-actions.ts';

export interface TransitionFacts {
  readonly event: CaseEventType;
  readonly data: Record<string, unknown>;
  readonly after: CaseRecord;
  readonly at: Date;
  readonly audit: AuditEntry[];
  /** The columns of alsoSelectFor(event), read by the transition's own statement, when the caller asked for them. */
  readonly alsoRead?: Record<string, unknown>;
}

export interface AdvancerExceptions {
  /**
   * Select list columns ($1 tenant, $2 case id) onTransition can use for this event, for the transition's own
   * statement to read (one round trip fewer): undefined when it needs none.
   */
  alsoSelectFor?(event: CaseEventType): string | undefined;
  /** After a workflow transition, in its transaction. */
  onTransition(tx: Tx, facts: TransitionFacts): Promise<void>;
  /** An approved appeal as the connector sends it (its letter opened: an audited read as `reader`). */
  appealToSend(record: CaseRecord, appealId: string, reader: string): Promise<PayerAppeal | undefined>;
  /**
   * An approved appeal mailed to the payer's appeal address, its letter attached (./appeal-email.ts), for a channel
   * that takes no appeal; undefined when the appeal no longer waits to be sent.
   */
  mailAppeal(
    record: CaseRecord,
    appealId: string,
    to: { readonly address: string; readonly name?: string },
    at: Date,
  ): Promise<AppealMailed | undefined>;
  /** The case's uploaded documents not yet sent, opened for the connector (an audited read as `reader`). */
  attachmentsToSend(record: CaseRecord, reader: string): Promise<PayerAttachment[]>;
  /**
   * Documents were to be sent, but the case's channel cannot send them (no sendAttachments, a portal recipe without an
   * upload flow): the case stays pended and a person gets the documents task again, to send them another way.
   */
  onDocumentsNotSent(
    tx: Tx,
    facts: { record: CaseRecord; channel: string; at: Date; audit: AuditEntry[] },
  ): Promise<void>;
  /** A pended case reached the payer's inquiry limit: no more polling, a person follows up. */
  onInquiryLimit(
    tx: Tx,
    facts: { record: CaseRecord; inquiries: number; maxInquiries: number; at: Date; audit: AuditEntry[] },
  ): Promise<void>;
}

const workflowActor = { id: 'system:workflow' };

/**
 * The payer pended the case asking for documents (278 HCR A4 with PWK, a PAS CommunicationRequest): a task to the
 * ordering provider listing each document by its kind (PWK01) and the number to send it under (PWK06).
 */
export function moreInformationTask(after: CaseRecord, at: Date): TaskSpec {
  const requested = after.decision?.documentsRequested ?? [];
  const needed: NeededItem[] = requested.length
    ? requested.map((d) => ({
        type: 'document' as const,
        label: d.type.display ?? `Document ${d.type.code}`,
        code: d.type.code,
        system: d.type.system,
        ...(d.attachmentControlNumber
          ? { source: `attachment control number ${d.attachmentControlNumber}` }
          : {}),
      }))
    : [{ type: 'document' as const, label: 'Documentation the payer asks for (see the payer’s message)' }];
  return planTask(
    'more_information',
    { urgency: after.request.urgency, at, slaDueAt: after.slaDueAt },
    {
      reasonCodes: [
        'DOCUMENTS_REQUESTED',
        ...after.decision!.reasons.map((r) => r.code).filter((c) => /^[A-Za-z0-9_.:-]{1,64}$/.test(c)),
      ],
      needed,
      details: {
        ...(after.decision?.administrativeReference
          ? { administrativeReference: after.decision.administrativeReference }
          : {}),
      },
    },
  );
}
/**
 * A review gate expired without a decision (src/workers/review-expiry.ts): the people of the gate's role learn that
 * their case was rejected or escalated for want of a decision. Owned by the expired gate's role, not the rule's.
 */
export function reviewExpiredTask(after: CaseRecord, data: Record<string, unknown>, at: Date): TaskSpec {
  const spec = planTask(
    'review_expired',
    { urgency: after.request.urgency, at },
    {
      reasonCodes: ['REVIEW_EXPIRED', typeof data.toRole === 'string' ? 'ESCALATED' : 'CASE_REJECTED'],
      dedupeKey: `review_expired:${String(data.gateSeq ?? '')}`,
      details: {
        ...(typeof data.gateSeq === 'number' ? { gateSeq: data.gateSeq } : {}),
        ...(typeof data.expiredAt === 'string' ? { expiredAt: data.expiredAt } : {}),
        ...(typeof data.toRole === 'string' ? { escalatedTo: data.toRole } : {}),
      },
    },
  );
  return typeof data.gateRole === 'string' ? { ...spec, ownerRole: data.gateRole } : spec;
}

/** The appeal_consideration task of a denied or partly approved case. */
function appealConsideration(
  after: CaseRecord,
  at: Date,
  ctx: ActionContext,
  deps: Parameters<typeof taskWrites>[0],
): Parameters<typeof openTask>[1] {
  return {
    tenant: after.tenant,
    caseId: after.id,
    spec: planTask(
      'appeal_consideration',
      { urgency: after.request.urgency, at },
      {
        reasonCodes: [
          `OUTCOME_${after.decision!.outcome.toUpperCase()}`,
          ...after.decision!.reasons.map((r) => r.code).filter((c) => /^[A-Za-z0-9_.:-]{1,64}$/.test(c)),
        ],
      },
    ),
    ...taskWrites(deps, ctx, after),
  };
}

const stopping = new Set<CaseEventType>(['decided', 'rejected', 'pa_not_required', 'cancelled']);

export function createAdvancerExceptions(
  deps: Omit<SlaWatchDeps, 'clock' | 'logger'> & {
    db: Pick<Database, 'pool'>;
    phi: PhiCipher;
    /** For appeals by e-mail: the clinic's sender and the SMTP notifier (absent: none can be mailed). */
    appealMail?: Pick<AppealMailDeps, 'tenants' | 'notifier'>;
  },
): AdvancerExceptions {
  const ctxOf = (record: CaseRecord, at: Date, audit: AuditEntry[]): ActionContext => ({
    tenant: record.tenant,
    actor: workflowActor,
    at,
    audit,
  });
  return {
    alsoSelectFor: (event) => (stopping.has(event) ? stopCaseColumnSql : undefined),

    async onTransition(tx, { event, data, after, at, audit, alsoRead }) {
      const ctx = ctxOf(after, at, audit);
      if (data.reason === 'REVIEW_EXPIRED')
        await openTask(tx, {
          tenant: after.tenant,
          caseId: after.id,
          spec: reviewExpiredTask(after, data, at),
          ...taskWrites(deps, ctx, after),
        });
      if (event === 'review_requested' && isDraftedPharmacyRequest(after.request)) {
        const spec = unknownCriteriaTask(after.request.clinicalCriteria, {
          urgency: after.request.urgency,
          at,
        });
        if (spec)
          await openTask(tx, {
            tenant: after.tenant,
            caseId: after.id,
            spec,
            ...taskWrites(deps, ctx, after),
          });
        return;
      }
      if (event === 'pended') {
        if (after.slaDueAt && typeof data.slaStartedAt === 'string') {
          const hours = (after.slaDueAt.getTime() - Date.parse(data.slaStartedAt)) / 3_600_000;
          await startSlaClock(tx, deps, after, slaClock(new Date(data.slaStartedAt), hours), at);
        }
        if (after.decision?.followUp === 'send_documentation') {
          await openTask(tx, {
            tenant: after.tenant,
            caseId: after.id,
            spec: moreInformationTask(after, at),
            ...taskWrites(deps, ctx, after),
          });
        }
        return;
      }
      if (event === 'information_requested') {
        // A later look asks for documents not asked for before: the documents task, as on a first answer asking.
        await onInformationRequested(tx, after, moreInformationTask(after, at), taskWrites(deps, ctx, after));
        return;
      }
      if (event === 'appeal_submitted' || event === 'appeal_decided') {
        await onAppealTransition(tx, { event, data, after, at });
        if (event === 'appeal_submitted' && data.via === 'email')
          await openTask(tx, {
            tenant: after.tenant,
            caseId: after.id,
            spec: appealOutcomeTask(after, data, at),
            ...taskWrites(deps, ctx, after),
          });
        return;
      }
      if (event === 'decision_updated') {
        // A decision revised to a denial or partial approval: a person considers an appeal (one open task per kind).
        if (isAppealable(after.decision)) await openTask(tx, appealConsideration(after, at, ctx, deps));
        return;
      }
      if (event === 'documents_sent' && Array.isArray(data.documentIds)) {
        await markDocumentsSent(tx, data.documentIds as string[], at, String(data.via ?? 'payer'));
        return;
      }
      if (event === 'failed') {
        const reasonCodes = [data.reason, data.errorCode].filter((c): c is string => typeof c === 'string');
        await openTask(tx, {
          tenant: after.tenant,
          caseId: after.id,
          spec: planTask(
            'channel_failure',
            { urgency: after.request.urgency, at },
            {
              reasonCodes,
              details: {
                ...(typeof data.step === 'string' ? { step: data.step } : {}),
                // Where it failed (a portal recipe step and its screenshot, the channels ruled out): no PHI.
                ...(Array.isArray(data.problems) ? { problems: data.problems } : {}),
              },
            },
          ),
          ...taskWrites(deps, ctx, after),
        });
        return;
      }
      if (stopping.has(event)) {
        await stopCase(
          tx,
          deps,
          ctx,
          after,
          `CASE_${event.toUpperCase()}`,
          event === 'cancelled'
            ? { outcome: 'cancelled' }
            : { kinds: ['inquiry_limit', 'channel_failure', 'more_information'], outcome: 'resolved' },
          typeof alsoRead?.stop_work_pending === 'boolean' ? alsoRead.stop_work_pending : undefined,
        );
        // A denial or partial approval: a person considers an appeal.
        if (event === 'decided' && isAppealable(after.decision))
          await openTask(tx, appealConsideration(after, at, ctx, deps));
      }
    },

    attachmentsToSend: (record, reader) => attachmentsToSend(deps, record, reader),
    appealToSend: (record, appealId, reader) => appealToSend(deps, record, appealId, reader),
    mailAppeal: (record, appealId, to, at) =>
      mailAppeal(
        {
          db: deps.db,
          phi: deps.phi,
          tenants: deps.appealMail?.tenants ?? {
            get: () => ({ id: record.tenant, displayName: record.tenant }),
          },
          notifier: () => deps.appealMail?.notifier(),
        },
        record,
        appealId,
        to,
        at,
      ),

    async onDocumentsNotSent(tx, { record, channel, at, audit }) {
      const spec = moreInformationTask(record, at);
      await openTask(tx, {
        tenant: record.tenant,
        caseId: record.id,
        spec: {
          ...spec,
          reasonCodes: [...spec.reasonCodes, 'CHANNEL_CANNOT_SEND'],
          details: { ...spec.details, channel },
        },
        ...taskWrites(deps, ctxOf(record, at, audit), record),
      });
      audit.push({
        tenant: record.tenant,
        actor: workflowActor,
        action: 'case.documents_not_sent',
        caseId: record.id,
        details: { channel, reason: 'CHANNEL_CANNOT_SEND' },
        at,
      });
    },

    async onInquiryLimit(tx, { record, inquiries, maxInquiries, at, audit }) {
      await openTask(tx, {
        tenant: record.tenant,
        caseId: record.id,
        spec: planTask(
          'inquiry_limit',
          { urgency: record.request.urgency, at, slaDueAt: record.slaDueAt },
          { reasonCodes: ['MAX_INQUIRIES'], details: { inquiries, maxInquiries } },
        ),
        ...taskWrites(deps, ctxOf(record, at, audit), record),
      });
      audit.push({
        tenant: record.tenant,
        actor: workflowActor,
        action: 'case.inquiries_exhausted',
        caseId: record.id,
        details: { inquiries, maxInquiries },
        at,
      });
    },
  };
}
