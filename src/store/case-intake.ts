/**
 * New cases from one inbound message, written in a handful of multi-row statements: the case rows, their
 * `received` and `validated` events, the outbox rows of both transitions, a timer each, and their audit
 * entries (collected for the caller's appendAuditEntries). It writes exactly what createCase followed by
 * transitionCase(`validated`) writes for each request — the states come from the same state machine — but
 * without two round trips per row: a message of 100 order groups used to hold the database for a second
 * (embedded: the only connection) and one of 5,000 for a minute (issue #10 item 7).
 */
import type { Actor, AuditEntry } from '../audit/audit-log.ts';
import { delegationChain } from '../audit/delegation.ts';
import type { AuthorizationRequest } from '../canonical/index.ts';
import { type CaseState, nextCaseState } from '../workflow/case-state-machine.ts';
import { insertRows, insertStatement, rowsPerStatement } from './bulk-insert.ts';
import type { CaseRecord } from './cases.ts';
import { caseIdFor } from './ids.ts';
import {
  insertOutboxRows,
  type OutboxMessage,
  type OutboxRowInput,
  outboxRowsPerStatement,
  outboxRowsStatements,
} from './outbox.ts';
import { raiseAfterCommit } from './signals.ts';
import type { Tx } from './sql.ts';
import { runTogether, type Statement } from './together.ts';

export interface IntakeInput {
  readonly requests: readonly AuthorizationRequest[];
  readonly actor: Actor;
  readonly at: Date;
  readonly correlationId?: string;
  /** Data of each case's `validated` event (codes and ids only). */
  readonly validatedData: (request: AuthorizationRequest) => Record<string, unknown>;
  /** Outbox rows of a transition (the planner): `received` (previous state null) and `validated`. */
  readonly outbound?: (
    event: 'received' | 'validated',
    after: CaseRecord,
    previousState: CaseState | null,
  ) => readonly OutboxMessage[];
  /** A timer of this kind, due at `at`, for each new case (the workflow picks the case up from it). */
  readonly timerKind: string;
  /** The audit entries are collected here, for the caller to append as its transaction's last step. */
  readonly auditTo: AuditEntry[];
  /**
   * Hold the events, outbox rows and timers back when they fit one statement, and return them (`writeHeld`) for the
   * caller to send with its own last writes in one round trip (runLastWrites in ./together.ts). Nothing in the
   * transaction may read them before.
   */
  readonly holdWrites?: boolean;
}

export interface IntakeResult {
  /** One id per request, in order (an existing case's id for a request already recorded). */
  readonly caseIds: string[];
  /** How many cases were new. */
  readonly created: number;
  /** With `holdWrites`: the writes held back, for the caller to send (empty when they were written here). */
  readonly writeHeld: Statement[];
}

function record(
  id: string,
  request: AuthorizationRequest,
  state: CaseState,
  version: number,
  at: Date,
): CaseRecord {
  return {
    id,
    tenant: request.tenant,
    state,
    version,
    idempotencyKey: request.idempotencyKey,
    request,
    decision: null,
    payerId: null,
    channel: null,
    ruleVersion: null,
    slaDueAt: null,
    submissionKey: null,
    createdAt: at,
    updatedAt: at,
  };
}

/** Creates each request's case in state `validated` (via `received`), see the file comment. */
export async function recordValidatedCases(tx: Tx, input: IntakeInput): Promise<IntakeResult> {
  const { actor, at } = input;
  const validated = nextCaseState('received', 'validated');
  const ids = input.requests.map((r) => caseIdFor(r.tenant, r.idempotencyKey));
  const inserted = await insertRows<{ id: string }>(
    tx,
    'cases',
    ['id', 'tenant_id', 'state', 'version', 'idempotency_key', 'request', 'created_at', 'updated_at'],
    input.requests.map((r, i) => [ids[i], r.tenant, validated, 2, r.idempotencyKey, r, at, at]),
    'ON CONFLICT (tenant_id, idempotency_key) DO NOTHING RETURNING id',
  );
  const created = new Set(inserted.map((row) => row.id));
  const events: unknown[][] = [];
  const outbox: OutboxRowInput[] = [];
  const timers: unknown[][] = [];
  input.requests.forEach((request, i) => {
    const id = ids[i]!;
    if (!created.has(id)) return;
    const data = input.validatedData(request);
    const onBehalfOf = actor.onBehalfOf ?? null;
    events.push(
      [
        id,
        request.tenant,
        1,
        'received',
        null,
        'received',
        actor.id,
        onBehalfOf,
        { source: request.source.format },
        at,
      ],
      [id, request.tenant, 2, 'validated', 'received', validated, actor.id, onBehalfOf, data, at],
    );
    const context = { tenant: request.tenant, caseId: id, correlationId: input.correlationId, at };
    const received = record(id, request, 'received', 1, at);
    for (const message of input.outbound?.('received', received, null) ?? [])
      outbox.push({ context, message });
    const after = record(id, request, validated, 2, at);
    for (const message of input.outbound?.('validated', after, 'received') ?? [])
      outbox.push({ context, message });
    // The first step routes the case and usually checks eligibility with the payer: the payer lane.
    timers.push([request.tenant, id, input.timerKind, at, {}, at, 'payer']);
    const chain = delegationChain({ tenant: request.tenant, request, actor });
    input.auditTo.push(
      {
        tenant: request.tenant,
        actor,
        action: 'case.received',
        caseId: id,
        details: { source: request.source.format, sender: request.source.sender, chain },
        at,
      },
      {
        tenant: request.tenant,
        actor,
        action: 'case.validated',
        caseId: id,
        details: { from: 'received', to: validated, version: 2, ...data, chain },
        at,
      },
    );
  });
  if (timers.length > 0) raiseAfterCommit(tx, 'due:payer');
  const fitsOneStatement =
    events.length <= rowsPerStatement(eventColumns) &&
    timers.length <= rowsPerStatement(timerColumns) &&
    outbox.length <= outboxRowsPerStatement;
  if (fitsOneStatement) {
    // The usual message, a few order groups: events, outbox rows and timers in one statement, one round trip.
    const writes = [
      ...(events.length > 0 ? [insertStatement('case_events', eventColumns, events)] : []),
      ...outboxRowsStatements(tx, outbox),
      ...(timers.length > 0 ? [insertStatement('timers', timerColumns, timers)] : []),
    ];
    if (input.holdWrites) return { caseIds: ids, created: created.size, writeHeld: writes };
    await runTogether(tx, writes);
  } else {
    if (events.length > 0) await insertRows(tx, 'case_events', eventColumns, events);
    await insertOutboxRows(tx, outbox);
    if (timers.length > 0) await insertRows(tx, 'timers', timerColumns, timers);
  }
  return { caseIds: ids, created: created.size, writeHeld: [] };
}

const eventColumns = [
  'case_id',
  'tenant_id',
  'seq',
  'event',
  'from_state',
  'to_state',
  'actor',
  'on_behalf_of',
  'data',
  'at',
];
const timerColumns = ['tenant_id', 'case_id', 'kind', 'due_at', 'payload', 'created_at', 'lane'];
