/**
 * Case persistence. A case is created with its inbound idempotency key, and every state change writes the
 * case row, one case event, its outbox rows and an audit row in the caller's single transaction.
 */
import { type Actor, type AuditEntry, appendAudit } from '../audit/audit-log.ts';
import { type DelegationLink, delegationChain } from '../audit/delegation.ts';
import type { AuthorizationDecision, AuthorizationRequest } from '../canonical/index.ts';
import { NotFoundError, StateTransitionError } from '../errors/index.ts';
import { type CaseEventType, type CaseState, nextCaseState } from '../workflow/case-state-machine.ts';
import type { CaseFacts } from '../workflow/case-workflow.ts';
import { caseIdFor, uuidPattern } from './ids.ts';
import { insertOutboxMessages, type OutboxMessage, type StoredOutboxMessage } from './outbox.ts';
import { planEachRun } from './prepared-statements.ts';
import type { Sql, Tx } from './sql.ts';

export interface CaseRecord {
  id: string;
  tenant: string;
  state: CaseState;
  version: number;
  idempotencyKey: string;
  request: AuthorizationRequest;
  decision: AuthorizationDecision | null;
  payerId: string | null;
  channel: string | null;
  ruleVersion: string | null;
  slaDueAt: Date | null;
  /** The submission key the case was approved or routed with (src/workflow/review/submission-key.ts). */
  submissionKey: string | null;
  /** When the payer's decision time ran out on the open case (the SLA breach flag every view shows). */
  slaBreachedAt?: Date | null;
  createdAt: Date;
  updatedAt: Date;
}

interface CaseRow {
  id: string;
  tenant_id: string;
  state: CaseState;
  version: number;
  idempotency_key: string;
  request: AuthorizationRequest;
  decision: AuthorizationDecision | null;
  payer_id: string | null;
  channel: string | null;
  rule_version: string | null;
  sla_due_at: Date | null;
  submission_key: string | null;
  sla_breached_at: Date | null;
  created_at: Date;
  updated_at: Date;
}

const caseColumns =
  'id, tenant_id, state, version, idempotency_key, request, decision, payer_id, channel, rule_version, sla_due_at, submission_key, sla_breached_at, created_at, updated_at';

function toRecord(row: CaseRow): CaseRecord {
  return {
    id: row.id,
    tenant: row.tenant_id,
    state: row.state,
    version: row.version,
    idempotencyKey: row.idempotency_key,
    request: row.request,
    decision: row.decision,
    payerId: row.payer_id,
    channel: row.channel,
    ruleVersion: row.rule_version,
    slaDueAt: row.sla_due_at,
    submissionKey: row.submission_key ?? null,
    slaBreachedAt: row.sla_breached_at ?? null,
    createdAt: row.created_at,
    updatedAt: row.updated_at,
  };
}

/**
 * The case's columns for a statement that reads it through a join (the step claim with its cases: ./timers.ts),
 * each as `joined_case_<column>` (not to clash with the other table's own columns, such as a timer's case_id);
 * joinedCaseRecord reads them back (null when the join found no case).
 */
export function joinedCaseColumns(alias: string): string {
  return caseColumns
    .split(', ')
    .map((column) => `${alias}.${column} AS joined_case_${column}`)
    .join(', ');
}

export function joinedCaseRecord(row: Record<string, unknown>): CaseRecord | null {
  if (row.joined_case_id === null || row.joined_case_id === undefined) return null;
  const own: Record<string, unknown> = {};
  for (const column of caseColumns.split(', ')) own[column] = row[`joined_case_${column}`];
  return toRecord(own as unknown as CaseRow);
}

/** Appends the entry now, or hands it to the caller's collector. */
async function audit(tx: Tx, collector: AuditEntry[] | undefined, entry: AuditEntry): Promise<void> {
  if (collector) collector.push(entry);
  else await appendAudit(tx, entry);
}

export interface CreateCaseInput {
  request: AuthorizationRequest;
  actor: Actor;
  at: Date;
  /**
   * Collect the audit entry here instead of appending it now; the caller appends everything it collected as the
   * last step of its transaction (appendAuditEntries), so the audit chain head is locked only briefly.
   */
  auditTo?: AuditEntry[];
  outbox?: readonly OutboxMessage[];
  correlationId?: string;
}

export interface CreateCaseResult {
  case: CaseRecord;
  /** false when a case with this tenant + idempotency key already existed (a redelivery): nothing was written. */
  created: boolean;
  outbox: StoredOutboxMessage[];
}

/** Creates a case in state `received`, or returns the existing one for the same idempotency key. */
export async function createCase(tx: Tx, input: CreateCaseInput): Promise<CreateCaseResult> {
  const { request, actor, at } = input;
  const id = caseIdFor(request.tenant, request.idempotencyKey);
  const inserted = await tx.query<CaseRow>(
    `INSERT INTO cases (id, tenant_id, state, version, idempotency_key, request, created_at, updated_at)
     VALUES ($1, $2, 'received', 1, $3, $4, $5, $5)
     ON CONFLICT (tenant_id, idempotency_key) DO NOTHING
     RETURNING ${caseColumns}`,
    [id, request.tenant, request.idempotencyKey, request, at],
  );
  const row = inserted.rows[0];
  if (!row) {
    const existing = await tx.query<CaseRow>(
      `SELECT ${caseColumns} FROM cases WHERE tenant_id = $1 AND idempotency_key = $2`,
      [request.tenant, request.idempotencyKey],
    );
    return { case: toRecord(existing.rows[0]!), created: false, outbox: [] };
  }
  await tx.query(
    `INSERT INTO case_events (case_id, tenant_id, seq, event, from_state, to_state, actor, on_behalf_of, data, at)
     VALUES ($1, $2, 1, 'received', NULL, 'received', $3, $4, $5, $6)`,
    [id, request.tenant, actor.id, actor.onBehalfOf ?? null, { source: request.source.format }, at],
  );
  const outbox = await insertOutboxMessages(
    tx,
    { tenant: request.tenant, caseId: id, correlationId: input.correlationId, at },
    input.outbox ?? [],
  );
  await audit(tx, input.auditTo, {
    tenant: request.tenant,
    actor,
    action: 'case.received',
    caseId: id,
    details: {
      source: request.source.format,
      sender: request.source.sender,
      chain: delegationChain({ tenant: request.tenant, request, actor }),
    },
    at,
  });
  return { case: toRecord(row), created: true, outbox };
}

/** Columns a transition may set besides the state. */
export type CasePatch = CaseFacts;

const patchColumns: Record<keyof CasePatch, string> = {
  decision: 'decision',
  payerId: 'payer_id',
  channel: 'channel',
  ruleVersion: 'rule_version',
  slaDueAt: 'sla_due_at',
  submissionKey: 'submission_key',
  request: 'request',
};

export interface TransitionInput {
  tenant: string;
  caseId: string;
  event: CaseEventType;
  actor: Actor;
  at: Date;
  /** Codes and ids describing the event (reason codes, payer ids, trace numbers): no PHI. */
  data?: Record<string, unknown>;
  patch?: CasePatch;
  /**
   * Events to publish with this transition: a list, or a function of the case before and after it (for events
   * that carry the new state and version, such as a ClaimResponse), called inside the transaction.
   */
  outbox?: readonly OutboxMessage[] | ((after: CaseRecord, before: CaseRecord) => readonly OutboxMessage[]);
  /** When set, the transition fails unless the case is still at this version (optimistic check). */
  expectedVersion?: number;
  /**
   * The case as the caller read it, at expectedVersion. The transition then does not read and lock the row first:
   * its UPDATE checks the version (taking the lock) and writes the case event in the same statement — one round
   * trip instead of three (issue #17). A case that moved on meanwhile fails with PAGW_CASE_VERSION_CONFLICT as
   * without it.
   */
  asRead?: CaseRecord;
  /**
   * More columns for the transition statement's SELECT, read in the same round trip (issue #17): SQL that may use
   * $1 (the tenant) and $2 (the case id). They see the database as it was before this transition's own writes.
   * Returned as `alsoRead`.
   */
  alsoSelect?: string;
  /**
   * Only once every event of the case is published (delivered, issue #17): the same statement locks the case's
   * unpublished outbox rows (waiting for a relay publishing them) and moves the case only when there are none.
   * When there are, nothing is written and EventsUnpublished is thrown; the transaction holds their locks.
   */
  onlyOncePublished?: boolean;
  correlationId?: string;
  /** Collect the audit entry instead of appending it now (see CreateCaseInput.auditTo). */
  auditTo?: AuditEntry[];
  /**
   * Links of the delegation chain beyond the clinician, the service and the actor (src/audit/delegation.ts):
   * the reviewer with their role and NPI, the approvers of the gate, the connector that acted.
   */
  chain?: readonly DelegationLink[];
}

export interface TransitionResult {
  before: CaseRecord;
  after: CaseRecord;
  outbox: StoredOutboxMessage[];
  /** The columns of `alsoSelect`, by name. */
  alsoRead?: Record<string, unknown>;
}

/**
 * Applies one event to a case inside the caller's transaction. The case row is locked (FOR UPDATE, or by the
 * version-checked UPDATE when the caller gives the case it read), so two concurrent transitions of one case
 * serialize and the second sees the first's result.
 */
export async function transitionCase(tx: Tx, input: TransitionInput): Promise<TransitionResult> {
  const fast = asReadTransition(input);
  const before = fast?.before ?? (await lockForTransition(tx, input));
  const to = fast?.to ?? nextCaseState(before.state, input.event);

  const sets = ['state = $3', 'version = version + 1', 'updated_at = $4'];
  const params: unknown[] = [input.tenant, input.caseId, to, input.at];
  for (const [field, value] of Object.entries(input.patch ?? {}) as Array<[keyof CasePatch, unknown]>) {
    if (value === undefined) continue;
    params.push(value);
    sets.push(`${patchColumns[field]} = $${params.length}`);
  }
  const param = (value: unknown) => `$${params.push(value)}`;
  const [event, from, actor, onBehalfOf, data] = [
    input.event,
    before.state,
    input.actor.id,
    input.actor.onBehalfOf ?? null,
    input.data ?? {},
  ].map(param);
  const versionCheck = fast ? `AND version = ${param(before.version)}` : '';
  // FOR UPDATE waits for a relay publishing these rows right now (it holds their locks until it has marked them),
  // then sees them as marked: so either the case moves with nothing left to publish, or the rows stay locked by
  // this transaction and the relay, skipping them, goes again after its commit.
  const pending = input.onlyOncePublished
    ? `pending AS MATERIALIZED (
         SELECT id FROM outbox WHERE case_id = $2 AND published_at IS NULL FOR UPDATE),`
    : '';
  // The event row is written by the same statement, from the updated row: its seq is the case's new version.
  const updated = await tx.query<CaseRow & Record<string, unknown>>(
    `WITH ${pending} moved AS (
       UPDATE cases SET ${sets.join(', ')} WHERE tenant_id = $1 AND id = $2 ${versionCheck}
          ${pending ? 'AND NOT EXISTS (SELECT 1 FROM pending)' : ''} RETURNING ${caseColumns}),
     event AS (
       INSERT INTO case_events (case_id, tenant_id, seq, event, from_state, to_state, actor, on_behalf_of, data, at)
       SELECT id, tenant_id, version, ${event}::text, ${from}::text, state, ${actor}::text, ${onBehalfOf}::text,
              ${data}::jsonb, $4 FROM moved)
     ${
       pending
         ? `SELECT m.*, (SELECT count(*) FROM pending)::int AS pagw_unpublished
              FROM (SELECT 1) one LEFT JOIN (SELECT ${caseColumns}${input.alsoSelect ? `, ${input.alsoSelect}` : ''} FROM moved) m ON true`
         : `SELECT ${caseColumns}${input.alsoSelect ? `, ${input.alsoSelect}` : ''} FROM moved`
     }`,
    params,
  );
  const unpublished = pending ? Number(updated.rows[0]?.pagw_unpublished ?? 0) : 0;
  if (unpublished > 0) throw new EventsUnpublished(input.caseId, unpublished);
  if (pending && updated.rows[0]) delete updated.rows[0].pagw_unpublished;
  if (!updated.rows[0]?.id) {
    // Only the version-checked UPDATE can miss: say why, as the locking read would have.
    await lockForTransition(tx, input);
    throw new StateTransitionError('PAGW_CASE_VERSION_CONFLICT', `Case ${input.caseId} changed meanwhile`);
  }
  const after = toRecord(updated.rows[0]);
  const alsoRead = input.alsoSelect ? extraColumns(updated.rows[0]) : undefined;
  const messages = typeof input.outbox === 'function' ? input.outbox(after, before) : (input.outbox ?? []);
  const outbox = await insertOutboxMessages(
    tx,
    { tenant: input.tenant, caseId: input.caseId, correlationId: input.correlationId, at: input.at },
    messages,
  );
  await audit(tx, input.auditTo, {
    tenant: input.tenant,
    actor: input.actor,
    action: `case.${input.event}`,
    caseId: input.caseId,
    details: {
      from: before.state,
      to,
      version: after.version,
      ...input.data,
      chain: delegationChain({
        tenant: input.tenant,
        request: before.request,
        actor: input.actor,
        ...(input.chain ? { extra: input.chain } : {}),
      }),
    },
    at: input.at,
  });
  return { before, after, outbox, ...(alsoRead ? { alsoRead } : {}) };
}

/**
 * A transition asked to wait for publication (onlyOncePublished) found events of the case not yet published:
 * nothing was written, the rows are locked by the caller's transaction. Not an error the caller reports: it is
 * how the delivering step learns to wait (src/workers/case-step-writes.ts).
 */
export class EventsUnpublished extends Error {
  constructor(
    readonly caseId: string,
    readonly count: number,
  ) {
    super(`Case ${caseId} has ${count} events not yet published`);
    this.name = 'EventsUnpublished';
  }
}

const caseColumnNames = new Set(caseColumns.split(', '));

/** The columns of a row beyond the case's own (those of alsoSelect). */
function extraColumns(row: Record<string, unknown>): Record<string, unknown> {
  return Object.fromEntries(Object.entries(row).filter(([name]) => !caseColumnNames.has(name)));
}

/** The case the caller read, when it can stand for the locked row: the same case, at the expected version. */
function asReadTransition(input: TransitionInput): { before: CaseRecord; to: CaseState } | undefined {
  const read = input.asRead;
  if (
    !read ||
    read.id !== input.caseId ||
    read.tenant !== input.tenant ||
    read.version !== input.expectedVersion
  )
    return undefined;
  try {
    return { before: read, to: nextCaseState(read.state, input.event) };
  } catch {
    return undefined; // not legal from the state read: the locking path gives the same answer as before
  }
}

/** Reads and locks the case, checking it exists and is at the expected version. */
async function lockForTransition(tx: Tx, input: TransitionInput): Promise<CaseRecord> {
  const locked = await tx.query<CaseRow>(
    `SELECT ${caseColumns} FROM cases WHERE tenant_id = $1 AND id = $2 FOR UPDATE`,
    [input.tenant, input.caseId],
  );
  const current = locked.rows[0];
  if (!current) throw new NotFoundError('PAGW_CASE_NOT_FOUND', `Case ${input.caseId} not found`);
  if (input.expectedVersion !== undefined && current.version !== input.expectedVersion) {
    throw new StateTransitionError(
      'PAGW_CASE_VERSION_CONFLICT',
      `Case ${input.caseId} is at version ${current.version}, not ${input.expectedVersion}`,
    );
  }
  return toRecord(current);
}

export async function getCase(sql: Sql, tenant: string, caseId: string): Promise<CaseRecord | null> {
  if (!uuidPattern.test(caseId)) return null;
  const { rows } = await sql.query<CaseRow>(
    `SELECT ${caseColumns} FROM cases WHERE tenant_id = $1 AND id = $2`,
    [tenant, caseId],
  );
  return rows[0] ? toRecord(rows[0]) : null;
}

/** Reads several cases in one statement (the cases of one step claim), by id; ids that match nothing are absent. */
export async function getCases(
  sql: Sql,
  keys: ReadonlyArray<{ tenant: string; caseId: string }>,
): Promise<Map<string, CaseRecord>> {
  const valid = keys.filter((k) => uuidPattern.test(k.caseId));
  if (valid.length === 0) return new Map();
  const { rows } = await sql.query<CaseRow>(
    `SELECT ${caseColumns} FROM cases
      WHERE (tenant_id, id) IN (SELECT * FROM unnest($1::text[], $2::uuid[]))`,
    [valid.map((k) => k.tenant), valid.map((k) => k.caseId)],
  );
  return new Map(rows.map((row) => [row.id, toRecord(row)]));
}

/** Reads a case and locks its row until the transaction ends: decisions on one case serialize on it. */
export async function getCaseForUpdate(tx: Tx, tenant: string, caseId: string): Promise<CaseRecord | null> {
  if (!uuidPattern.test(caseId)) return null;
  const { rows } = await tx.query<CaseRow>(
    `SELECT ${caseColumns} FROM cases WHERE tenant_id = $1 AND id = $2 FOR UPDATE`,
    [tenant, caseId],
  );
  return rows[0] ? toRecord(rows[0]) : null;
}

export interface ListCasesQuery {
  state?: CaseState;
  limit?: number;
  /** Continue after this case (keyset pagination on updated_at, id). */
  after?: { updatedAt: Date; id: string };
}

export async function listCases(sql: Sql, tenant: string, query: ListCasesQuery = {}): Promise<CaseRecord[]> {
  const params: unknown[] = [tenant];
  const where = ['tenant_id = $1'];
  if (query.state) {
    params.push(query.state);
    where.push(`state = $${params.length}`);
  }
  if (query.after) {
    params.push(query.after.updatedAt, query.after.id);
    where.push(`(updated_at, id) < ($${params.length - 1}, $${params.length})`);
  }
  params.push(Math.min(Math.max(query.limit ?? 50, 1), 500));
  const { rows } = await sql.query<CaseRow>(
    `${planEachRun}SELECT ${caseColumns} FROM cases WHERE ${where.join(' AND ')} ORDER BY updated_at DESC, id DESC LIMIT $${params.length}`,
    params,
  );
  return rows.map(toRecord);
}

export interface CaseEventRecord {
  seq: number;
  event: string;
  fromState: CaseState | null;
  toState: CaseState;
  actor: string;
  onBehalfOf: string | null;
  data: Record<string, unknown>;
  at: Date;
}

export async function listCaseEvents(sql: Sql, tenant: string, caseId: string): Promise<CaseEventRecord[]> {
  const { rows } = await sql.query<{
    seq: number;
    event: string;
    from_state: CaseState | null;
    to_state: CaseState;
    actor: string;
    on_behalf_of: string | null;
    data: Record<string, unknown>;
    at: Date;
  }>(
    `SELECT seq, event, from_state, to_state, actor, on_behalf_of, data, at FROM case_events
      WHERE tenant_id = $1 AND case_id = $2 ORDER BY seq`,
    [tenant, caseId],
  );
  return rows.map((r) => ({
    seq: r.seq,
    event: r.event,
    fromState: r.from_state,
    toState: r.to_state,
    actor: r.actor,
    onBehalfOf: r.on_behalf_of,
    data: r.data,
    at: r.at,
  }));
}
