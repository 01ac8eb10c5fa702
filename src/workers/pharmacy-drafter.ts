/**
 * The drafting step (timer kind `pharmacy.draft`, scheduled by the PA-flag webhook): reads the patient's record
 * from the pharmacy system through the PatientContext port — OUTSIDE any transaction — drafts the request against
 * the drug's criteria (pure, src/workflow/pharmacy), then records the outcome in ONE transaction:
 *
 *   draft       the case, created `validated` (the workflow routes it, and the pharmacist's gate stops it: the
 *               `review_requested` transition writes the `draft_ready` write-back), the flag marked drafted
 *   needs_info  no case: the flag marked needs_info with each missing fact, a `needs_info` write-back
 *   gave up     (the pharmacy system unreachable through every retry, or refusing us) the flag marked failed,
 *               a `failed` write-back
 *
 * A retried step re-reads the record; a flag already settled is left as it is (the timer just completes).
 */
import { type Actor, type AuditEntry, appendAudit, appendAuditEntries } from '../audit/audit-log.ts';
import { checkAuthorizationRequest } from '../canonical/index.ts';
import type { Clock } from '../clock.ts';
import { GatewayError } from '../errors/index.ts';
import type { PharmacySenders } from '../inbound/pharmacy/senders.ts';
import type { Logger } from '../log/logger.ts';
import { buildFlagWriteBack, writeBackMessage } from '../outbound/pharmacy-writeback.ts';
import type { CaseOutboundPlanner } from '../outbound/planner.ts';
import { recordValidatedCases } from '../store/case-intake.ts';
import type { Database } from '../store/database.ts';
import { insertOutboxMessages } from '../store/outbox.ts';
import {
  getPharmacyRequest,
  type PharmacyRequestRecord,
  settlePharmacyRequest,
} from '../store/pharmacy-requests.ts';
import { type Tx, withTransaction } from '../store/sql.ts';
import { completeTimer } from '../store/timers.ts';
import type { CriteriaDirectory } from '../workflow/pharmacy/criteria.ts';
import { type DraftOutcome, draftRequest, observationCodesFor } from '../workflow/pharmacy/draft.ts';
import type { PatientContextSource } from '../workflow/ports/patient-context.ts';
import type { PayerDirectory } from '../workflow/rules/index.ts';
import { WORKFLOW_ADVANCE } from './case-advancer.ts';
import type { ClaimedTimer, StepKind } from './step-worker.ts';

const drafter: Actor = { id: 'system:pharmacy-drafter' };

export interface PharmacyDrafterDeps {
  readonly db: Database;
  readonly clock: Clock;
  readonly logger: Logger;
  readonly senders: PharmacySenders;
  readonly context: PatientContextSource;
  readonly criteria: CriteriaDirectory;
  readonly payers: PayerDirectory;
  /** Status events (and write-backs) of the new case's `received` and `validated`. */
  readonly outbound?: CaseOutboundPlanner;
  /** config.topics.pharmacyWriteBack: where case-less write-backs (needs_info, failed) go. */
  readonly writeBackTopic?: string;
}

export function createPharmacyDrafter(deps: PharmacyDrafterDeps): StepKind {
  const { db, clock, logger } = deps;

  const finish = (timer: ClaimedTimer) =>
    withTransaction(db.pool, (tx) => completeTimer(tx, timer.id, clock.now()));

  async function flagOf(timer: ClaimedTimer): Promise<PharmacyRequestRecord | null> {
    const id = timer.payload.requestId;
    return typeof id === 'string' ? getPharmacyRequest(db.pool, timer.tenant, id) : null;
  }

  /** A case-less write-back, when the sender takes write-backs. */
  async function writeBackFlag(
    tx: Tx,
    record: PharmacyRequestRecord,
    status: 'needs_info' | 'failed',
    at: Date,
    extra: Pick<Parameters<typeof buildFlagWriteBack>[0], 'missing' | 'checklist'> = {},
  ): Promise<void> {
    const sender = deps.senders.get(record.sender);
    if (!deps.writeBackTopic || !sender?.callbackUrl) return;
    const writeBack = buildFlagWriteBack({
      tenant: record.tenant,
      sender: record.sender,
      prescriptionId: record.flag.prescriptionId,
      patientId: record.flag.patientId,
      requestId: record.id,
      status,
      at,
      ...extra,
    });
    await insertOutboxMessages(tx, { tenant: record.tenant, at }, [
      writeBackMessage(deps.writeBackTopic, writeBack),
    ]);
  }

  async function recordDraft(
    timer: ClaimedTimer,
    record: PharmacyRequestRecord,
    outcome: Extract<DraftOutcome, { kind: 'draft' }>,
  ): Promise<void> {
    const at = clock.now();
    const request = outcome.request;
    const checklist = outcome.checklist;
    const summary = checklist
      ? { criteriaId: checklist.criteriaId, version: checklist.version, ...checklist.summary }
      : { criteriaId: null };
    await withTransaction(db.pool, async (tx) => {
      const current = await getPharmacyRequest(tx, record.tenant, record.id, { forUpdate: true });
      if (current?.status !== 'received') return completeTimer(tx, timer.id, at);
      const audit: AuditEntry[] = [];
      const actor: Actor = { ...drafter, onBehalfOf: `sender:${record.sender}` };
      const { caseIds } = await recordValidatedCases(tx, {
        requests: [request],
        actor,
        at,
        validatedData: () => ({ format: 'api', orderIndex: 0, pharmacyRequestId: record.id, draft: summary }),
        outbound: deps.outbound
          ? (event, after, previousState) => deps.outbound!({ event, after, previousState, at })
          : undefined,
        timerKind: WORKFLOW_ADVANCE,
        auditTo: audit,
      });
      const caseId = caseIds[0]!;
      await settlePharmacyRequest(tx, {
        tenant: record.tenant,
        id: record.id,
        status: 'drafted',
        caseId,
        draft: { ...(checklist ? { checklist } : {}) },
        at,
      });
      await completeTimer(tx, timer.id, at);
      audit.push({
        tenant: record.tenant,
        actor,
        action: 'pharmacy.drafted',
        caseId,
        details: { requestId: record.id, ...summary },
        at,
      });
      await appendAuditEntries(tx, audit);
    });
    logger.info({ requestId: record.id, tenant: record.tenant, ...summary }, 'pharmacy flag drafted');
  }

  async function recordNeedsInfo(
    timer: ClaimedTimer,
    record: PharmacyRequestRecord,
    outcome: Extract<DraftOutcome, { kind: 'needs_info' }>,
  ): Promise<void> {
    const at = clock.now();
    await withTransaction(db.pool, async (tx) => {
      const settled = await settlePharmacyRequest(tx, {
        tenant: record.tenant,
        id: record.id,
        status: 'needs_info',
        problems: outcome.problems,
        draft: outcome.checklist ? { checklist: outcome.checklist } : null,
        at,
      });
      if (settled) {
        await writeBackFlag(tx, record, 'needs_info', at, {
          missing: outcome.problems,
          ...(outcome.checklist ? { checklist: outcome.checklist } : {}),
        });
        await appendAudit(tx, {
          tenant: record.tenant,
          actor: { ...drafter, onBehalfOf: `sender:${record.sender}` },
          action: 'pharmacy.needs_info',
          details: { requestId: record.id, missing: outcome.problems.map((p) => p.location) },
          at,
        });
      }
      await completeTimer(tx, timer.id, at);
    });
    logger.warn(
      { requestId: record.id, tenant: record.tenant, missing: outcome.problems.map((p) => p.location) },
      'pharmacy flag needs information the pharmacy system does not give',
    );
  }

  async function run(timer: ClaimedTimer): Promise<void> {
    const record = await flagOf(timer);
    if (record?.status !== 'received') return finish(timer);
    const sender = deps.senders.get(record.sender);
    if (!sender || sender.tenant !== record.tenant)
      throw new GatewayError('PAGW_PHARMACY_CONTEXT_REFUSED', 'The flag’s sender is no longer registered', {
        retriable: false,
      });
    const flag = record.flag;
    const payer = deps.payers.find({
      payerId: flag.bin,
      pharmacyBenefit: { bin: flag.bin, ...(flag.pcn ? { pcn: flag.pcn } : {}) },
    });
    const context = await deps.context.fetch({
      tenant: record.tenant,
      sender: record.sender,
      patientId: flag.patientId,
      prescriberNpi: flag.prescriberNpi,
      observationCodes: observationCodesFor(deps.criteria, flag, payer?.id),
      requestId: record.id,
    });
    const outcome = draftRequest({
      tenant: record.tenant,
      sender: { id: sender.id, patientIdentifierSystem: sender.patientIdentifierSystem },
      flag,
      context,
      criteria: deps.criteria,
      ...(payer ? { payerId: payer.id } : {}),
      receivedAt: record.receivedAt.toISOString(),
    });
    if (outcome.kind === 'needs_info') return recordNeedsInfo(timer, record, outcome);
    const valid = checkAuthorizationRequest(outcome.request);
    if (!valid.ok)
      // What the pharmacy system gave (a name, a date) does not fit the canonical model: a fact to fix there.
      return recordNeedsInfo(timer, record, { kind: 'needs_info', problems: valid.problems });
    return recordDraft(timer, record, outcome);
  }

  async function giveUp(timer: ClaimedTimer, error: unknown): Promise<void> {
    const record = await flagOf(timer);
    const code = error instanceof GatewayError ? error.code : 'PAGW_INTERNAL';
    const at = clock.now();
    await withTransaction(db.pool, async (tx) => {
      if (record) {
        const settled = await settlePharmacyRequest(tx, {
          tenant: record.tenant,
          id: record.id,
          status: 'failed',
          problems: [{ location: 'pharmacy-system', message: code }],
          at,
        });
        if (settled) {
          await writeBackFlag(tx, record, 'failed', at, {
            missing: [
              { location: 'pharmacy-system', message: `the patient's record could not be read (${code})` },
            ],
          });
          await appendAudit(tx, {
            tenant: record.tenant,
            actor: { ...drafter, onBehalfOf: `sender:${record.sender}` },
            action: 'pharmacy.draft_failed',
            details: { requestId: record.id, errorCode: code },
            at,
          });
        }
      }
      await completeTimer(tx, timer.id, at);
    });
  }

  return { run, giveUp, maxAttempts: 8 };
}
