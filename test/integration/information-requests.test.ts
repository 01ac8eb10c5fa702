/**
 * The documents task on a later request (`information_requested`, src/exceptions/information-requests.ts) on a real
 * database: a task still open from an earlier request is resolved (DOCUMENTS_REQUEST_CHANGED) and replaced by one
 * listing the whole new request; a case with none gets one. Every change audited.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { AuditEntry } from '../../src/audit/audit-log.ts';
import { appendAuditEntries } from '../../src/audit/audit-log.ts';
import type { AuthorizationDecision } from '../../src/canonical/index.ts';
import { onInformationRequested } from '../../src/exceptions/information-requests.ts';
import { moreInformationTask } from '../../src/exceptions/transition-tasks.ts';
import { type CaseRecord, type Database, transitionCase, withTransaction } from '../../src/store/index.ts';
import { listTasks, openTask } from '../../src/store/tasks.ts';
import type { CaseEventType } from '../../src/workflow/case-state-machine.ts';
import { openTestDatabase, testDatabaseKind } from '../helpers/database.ts';
import { insertSampleCase, testActor } from '../helpers/store.ts';

const at = new Date('2026-03-02T10:00:00.000Z');
const decision = (...docs: [string, string][]): AuthorizationDecision => ({
  outcome: 'pended',
  reviewActionCode: 'A4',
  payer: { id: 'example-health-plan' },
  channel: 'x12',
  lines: [],
  reasons: [{ system: 'https://codesystem.x12.org/external/886', code: '0U' }],
  followUp: docs.length ? 'send_documentation' : 'none',
  ...(docs.length
    ? {
        documentsRequested: docs.map(([code, acn]) => ({
          type: { system: 'https://codesystem.x12.org/005010/755', code },
          attachmentControlNumber: acn,
        })),
      }
    : {}),
  decidedAt: '2026-03-02',
});

describe(`documents task on a later request (${testDatabaseKind()})`, () => {
  let db: Database;
  beforeAll(async () => {
    db = await openTestDatabase();
  });
  afterAll(() => db?.close());

  /** A pended case with `first` as its decision, moved on by `information_requested` with `later`. */
  async function pendedThenAsked(first: AuthorizationDecision, later: AuthorizationDecision) {
    const created = await insertSampleCase(db.pool, {}, at);
    const move = (event: CaseEventType, d?: AuthorizationDecision) =>
      withTransaction(db.pool, async (tx) => {
        const { after } = await transitionCase(tx, {
          tenant: created.tenant,
          caseId: created.id,
          event,
          actor: testActor,
          at,
          ...(d ? { patch: { decision: d } } : {}),
        });
        const audit: AuditEntry[] = [];
        const writes = { actor: testActor, at, auditTo: audit };
        // As the exception queue does: a documents task on a first answer asking for documents, then the later one.
        if (event === 'pended' && d?.followUp === 'send_documentation')
          await openTask(tx, {
            tenant: after.tenant,
            caseId: after.id,
            spec: moreInformationTask(after, at),
            ...writes,
          });
        if (event === 'information_requested')
          await onInformationRequested(tx, after, moreInformationTask(after, at), writes);
        await appendAuditEntries(tx, audit);
        return after;
      });
    for (const event of ['validated', 'eligibility_checked', 'submitted'] as const) await move(event);
    await move('pended', first);
    const after: CaseRecord = await move('information_requested', later);
    const tasks = await listTasks(db.pool, after.tenant, {
      caseId: after.id,
      kind: 'more_information',
      states: ['open', 'claimed', 'resolved', 'cancelled'],
    });
    return { after, tasks };
  }

  it('opens the documents task when the first answer asked for nothing', async () => {
    const { tasks } = await pendedThenAsked(decision(), decision(['09', 'ACN1']));
    expect(tasks.map((t) => [t.state, t.needed.map((n) => n.code)])).toEqual([['open', ['09']]]);
  });

  it('replaces a task still open from an earlier request with one listing the whole new request', async () => {
    const { after, tasks } = await pendedThenAsked(
      decision(['09', 'ACN1']),
      decision(['09', 'ACN1'], ['OB', 'ACN2']),
    );
    const byState = Object.fromEntries(tasks.map((t) => [t.state, t]));
    expect(byState.resolved?.resolution).toEqual({ reason: 'DOCUMENTS_REQUEST_CHANGED' });
    expect(byState.resolved?.needed.map((n) => n.code)).toEqual(['09']);
    expect(byState.open?.needed.map((n) => [n.code, n.source])).toEqual([
      ['09', 'attachment control number ACN1'],
      ['OB', 'attachment control number ACN2'],
    ]);
    const { rows } = await db.pool.query<{ action: string }>(
      `SELECT action FROM audit_log WHERE case_id = $1 AND action LIKE 'task.%' ORDER BY seq`,
      [after.id],
    );
    expect(rows.map((r) => r.action)).toEqual(['task.opened', 'task.resolved', 'task.opened']);
  });
});
