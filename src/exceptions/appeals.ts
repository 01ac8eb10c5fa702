/**
 * Appeals (issue #14 item 6). A denial or partial approval opens an `appeal_consideration` task; `prepare_appeal`
 * assembles the package (src/workflow/tasks/appeals.ts), renders the letter to PDF, seals it with the case, and opens
 * an `appeal_review` task; `approve_appeal` by a person sends it by the payer's channel (a payer step: X12 278 with
 * an appeal certification type and the letter in a 275), after which it is tracked — `appeal_submitted`, follow-up
 * inquiries, `appeal_decided` with the payer's new decision — and counted as approved after appeal when it is.
 */
import { createHash, randomUUID } from 'node:crypto';
import { type AuditEntry, appendAuditEntries } from '../audit/audit-log.ts';
import type { AuthorizationDecision } from '../canonical/index.ts';
import { GatewayError } from '../errors/index.ts';
import { renderAppealLetter } from '../outbound/tasks/appeal-letter.ts';
import type { TaskOutboundPlanner } from '../outbound/tasks/task-outbound.ts';
import { type AppealRecord, getAppeal, insertAppeal, updateAppeal } from '../store/appeals.ts';
import { type CaseRecord, getCase, getCaseForUpdate } from '../store/cases.ts';
import type { Database } from '../store/database.ts';
import { insertDocument, listDocuments } from '../store/documents.ts';
import { type Tx, withTransaction } from '../store/sql.ts';
import { closeTask, lockOpenTask, openTask, type TaskRecord } from '../store/tasks.ts';
import type { PhiCipher } from '../vault/phi.ts';
import { scheduleAdvance } from '../workers/case-advancer.ts';
import type { PayerAppeal } from '../workflow/ports/payer-connector.ts';
import { assembleAppeal, isAppealable } from '../workflow/tasks/appeals.ts';
import { planTask } from '../workflow/tasks/tasks.ts';
import { documentBinding } from './documents.ts';
import { type ActionContext, taskWrites } from './task-actions.ts';

/** The letter goes to the payer as X12 755 report type OZ (support data for the request). */
const letterReportType = 'OZ';

export interface AppealDeps {
  readonly db: Pick<Database, 'pool'>;
  readonly phi: PhiCipher;
  readonly tenants: { get(tenant: string): { readonly displayName: string } };
  readonly taskOutbound?: TaskOutboundPlanner;
}

function notAllowed(message: string): never {
  throw new GatewayError('PAGW_TASK_ACTION_NOT_ALLOWED', message, {
    problems: [{ location: 'action', message }],
  });
}

async function ruleIdsOf(db: Pick<Database, 'pool'>, caseId: string): Promise<string | null> {
  const { rows } = await db.pool.query<{ rule: string | null }>(
    `SELECT data ->> 'ruleId' AS rule FROM case_events WHERE case_id = $1 AND data ? 'ruleId'
      ORDER BY seq DESC LIMIT 1`,
    [caseId],
  );
  return rows[0]?.rule || null;
}

/**
 * `prepare_appeal`: the package and its letter, sealed with the case, an appeal_review task — and the
 * appeal_consideration task closed — in one transaction (the PDF is rendered and sealed before it).
 */
export async function prepareAppeal(
  deps: AppealDeps,
  ctx: Omit<ActionContext, 'audit'>,
  input: { task: TaskRecord; taskVersion: number },
): Promise<{ task: TaskRecord; appeal: AppealRecord }> {
  const record = await getCase(deps.db.pool, ctx.tenant, input.task.caseId);
  if (!record?.decision || !isAppealable(record.decision))
    notAllowed('only a denial or a partial approval is appealed');
  const decision = record.decision;
  const documents = await listDocuments(deps.db.pool, ctx.tenant, record.id, { purpose: 'attachment' });
  const appealPackage = assembleAppeal({
    caseId: record.id,
    request: record.request,
    decision,
    payerId: record.payerId ?? decision.payer.id,
    ruleVersion: record.ruleVersion,
    ruleIds: await ruleIdsOf(deps.db, record.id),
    evidence: documents.map((d) => ({
      documentId: d.id,
      label: `${d.code ? `X12 755 ${d.code} ` : ''}${d.contentType} document of ${d.createdAt.toISOString().slice(0, 10)}`,
      code: d.code,
      contentType: d.contentType,
    })),
  });
  const letter = await renderAppealLetter({
    appeal: appealPackage,
    request: record.request,
    clinicName: deps.tenants.get(ctx.tenant).displayName,
    payerName: decision.payer.name ?? decision.payer.id,
    at: ctx.at,
  });
  const appealId = randomUUID();
  const letterId = randomUUID();
  const sealed = await deps.phi.seal(ctx.tenant, documentBinding(letterId), letter);
  return withTransaction(deps.db.pool, async (tx) => {
    const audit: AuditEntry[] = [];
    const full: ActionContext = { ...ctx, audit };
    const task = await lockOpenTask(tx, ctx.tenant, input.task.id, input.taskVersion);
    const current = (await getCaseForUpdate(tx, ctx.tenant, record.id))!;
    await insertDocument(tx, {
      id: letterId,
      tenant: ctx.tenant,
      caseId: record.id,
      taskId: task.id,
      purpose: 'appeal_letter',
      contentType: 'application/pdf',
      sizeBytes: letter.length,
      sha256: createHash('sha256').update(letter).digest('hex'),
      code: letterReportType,
      codeSystem: 'https://codesystem.x12.org/005010/755',
      sealed,
      createdAt: ctx.at,
      createdBy: ctx.actor.id,
    });
    const missing = appealPackage.checklist.filter((c) => !c.present).map((c) => c.item);
    const review = await openTask(tx, {
      tenant: ctx.tenant,
      caseId: record.id,
      spec: planTask(
        'appeal_review',
        { urgency: record.request.urgency, at: ctx.at },
        {
          reasonCodes: ['APPEAL_READY', ...(missing.length ? ['EVIDENCE_MISSING'] : [])],
          needed: missing.map((item) => ({ type: 'document' as const, label: item })),
          dedupeKey: `appeal_review:${appealId}`,
          details: { appealId, letterId },
        },
      ),
      ...taskWrites(deps, full, current),
    });
    const appeal = await insertAppeal(tx, {
      id: appealId,
      tenant: ctx.tenant,
      caseId: record.id,
      package: appealPackage,
      letterId,
      taskId: review.task.id,
      createdAt: ctx.at,
    });
    const closed = await closeTask(
      tx,
      task,
      'resolved',
      { action: 'prepare_appeal', appealId },
      taskWrites(deps, full, current, { action: 'prepare_appeal' }),
    );
    audit.push({
      tenant: ctx.tenant,
      actor: ctx.actor,
      action: 'case.appeal_prepared',
      caseId: record.id,
      details: { appealId, letterId, seq: appeal.seq, missing: missing.length },
      at: ctx.at,
    });
    await appendAuditEntries(tx, audit);
    return { task: closed, appeal };
  });
}

/** `approve_appeal`: the appeal goes to the payer by a payer step (inside the resolving transaction). */
export async function approveAppeal(tx: Tx, ctx: ActionContext, task: TaskRecord): Promise<CaseRecord> {
  const appealId = typeof task.details.appealId === 'string' ? task.details.appealId : '';
  const appeal = await getAppeal(tx, ctx.tenant, appealId);
  if (appeal?.state !== 'draft') notAllowed('this appeal is not waiting for approval');
  const record = (await getCaseForUpdate(tx, ctx.tenant, task.caseId))!;
  await updateAppeal(tx, appeal.id, { state: 'approved', at: ctx.at });
  await scheduleAdvance(tx, record, ctx.at, ctx.at, 'payer', { appeal: appeal.id });
  ctx.audit.push({
    tenant: ctx.tenant,
    actor: ctx.actor,
    action: 'case.appeal_approved',
    caseId: record.id,
    details: { appealId: appeal.id, seq: appeal.seq },
    at: ctx.at,
  });
  return record;
}

/** The appeal as a connector sends it: its letter opened (an audited read as `reader`). */
export async function appealToSend(
  deps: Pick<AppealDeps, 'db' | 'phi'>,
  record: CaseRecord,
  appealId: string,
  reader: string,
): Promise<PayerAppeal | undefined> {
  const appeal = await getAppeal(deps.db.pool, record.tenant, appealId);
  if (!appeal?.letterId || appeal.state !== 'approved') return undefined;
  const letterId = appeal.letterId;
  const content = await withTransaction(deps.db.pool, async (tx) => {
    const { rows } = await tx.query<{ sealed: Buffer }>('SELECT sealed FROM case_documents WHERE id = $1', [
      letterId,
    ]);
    return deps.phi.open(
      tx,
      { tenant: record.tenant, reader, caseId: record.id, what: 'case_documents.sealed', ref: letterId },
      documentBinding(letterId),
      rows[0]!.sealed,
    );
  });
  return {
    appealId,
    ...(record.decision?.certificationNumber
      ? { previousAuthorizationNumber: record.decision.certificationNumber }
      : {}),
    ...(record.decision?.administrativeReference
      ? { administrativeReference: record.decision.administrativeReference }
      : {}),
    expedited: record.request.urgency === 'expedited',
    letter: { documentId: letterId, reportType: letterReportType, contentType: 'application/pdf', content },
  };
}

/** The task to record the payer's answer to an appeal sent by e-mail. */
export function appealOutcomeTask(after: CaseRecord, data: Record<string, unknown>, at: Date) {
  return planTask(
    'appeal_outcome',
    { urgency: after.request.urgency, at },
    {
      reasonCodes: ['APPEAL_EMAILED'],
      dedupeKey: `appeal_outcome:${String(data.appealId)}`,
      details: { appealId: String(data.appealId), messageId: String(data.messageId ?? '') },
    },
  );
}

/** The payer's answer to an appeal sent by e-mail, as a person records it. */
export interface AppealAnswer {
  /** approved: the payer reversed its denial; denied: it upheld it. */
  readonly outcome: 'approved' | 'denied';
  /** The authorization number the payer gave on approving. */
  readonly certificationNumber?: string;
}

/**
 * `record_appeal_outcome` (inside the resolving transaction): `appeal_decided` with the payer's answer — an approval
 * replaces the denial (every line approved, A1), an upheld denial keeps it — and the appeal approved_after_appeal or
 * upheld. `move` is the task actions' audited, published transition.
 */
export async function recordAppealOutcome(
  tx: Tx,
  ctx: ActionContext,
  task: TaskRecord,
  answer: AppealAnswer,
  move: (
    record: CaseRecord,
    data: Record<string, unknown>,
    patch?: { decision: AuthorizationDecision },
  ) => Promise<CaseRecord>,
): Promise<CaseRecord> {
  const appealId = typeof task.details.appealId === 'string' ? task.details.appealId : '';
  const appeal = await getAppeal(tx, ctx.tenant, appealId);
  if (appeal?.state !== 'submitted') notAllowed('this appeal is not waiting for the payer');
  const record = (await getCaseForUpdate(tx, ctx.tenant, task.caseId))!;
  if (record.state !== 'delivered' || !record.decision) notAllowed(`the case is ${record.state}`);
  const previous = record.decision;
  const approved = answer.outcome === 'approved';
  const certificationNumber = answer.certificationNumber ?? previous.certificationNumber;
  const decision: AuthorizationDecision | undefined = approved
    ? {
        ...previous,
        outcome: 'approved',
        reviewActionCode: 'A1',
        ...(certificationNumber ? { certificationNumber } : {}),
        lines: previous.lines.map((l) => ({
          sequence: l.sequence,
          outcome: 'approved' as const,
          reviewActionCode: 'A1' as const,
          ...(l.code ? { code: l.code } : {}),
        })),
        reasons: [],
        followUp: 'none',
        decidedAt: ctx.at.toISOString(),
      }
    : undefined;
  const after = await move(
    record,
    {
      appealId,
      outcome: answer.outcome,
      reviewActionCode: approved ? 'A1' : (previous.reviewActionCode ?? null),
      via: 'email',
      recordedBy: `task:${task.id}`,
    },
    decision ? { decision } : undefined,
  );
  await updateAppeal(tx, appealId, { state: approved ? 'approved_after_appeal' : 'upheld', at: ctx.at });
  ctx.audit.push({
    tenant: ctx.tenant,
    actor: ctx.actor,
    action: 'case.appeal_outcome_recorded',
    caseId: record.id,
    details: { appealId, outcome: answer.outcome, seq: appeal.seq },
    at: ctx.at,
  });
  return after;
}

/** What the appeal transitions change besides the case (inside their transaction). */
export async function onAppealTransition(
  tx: Tx,
  facts: { event: string; data: Record<string, unknown>; after: CaseRecord; at: Date },
): Promise<void> {
  const appealId = typeof facts.data.appealId === 'string' ? facts.data.appealId : undefined;
  if (!appealId) return;
  if (facts.event === 'appeal_submitted') {
    await updateAppeal(tx, appealId, {
      state: 'submitted',
      at: facts.at,
      submittedVia: String(facts.data.via),
    });
    // Mailed to the payer's appeal address: the channel knows nothing of it, so nobody polls; a person records the
    // answer (the appeal_outcome task, opened by the caller).
    if (facts.data.via === 'email') return;
    const wait = typeof facts.data.followUpInMs === 'number' ? facts.data.followUpInMs : 0;
    await scheduleAdvance(tx, facts.after, new Date(facts.at.getTime() + wait), facts.at, 'payer', {
      appealFollowUp: appealId,
    });
  }
  if (facts.event === 'appeal_decided') {
    const approved = facts.data.outcome === 'approved' || facts.data.outcome === 'modified';
    await updateAppeal(tx, appealId, { state: approved ? 'approved_after_appeal' : 'upheld', at: facts.at });
  }
}
