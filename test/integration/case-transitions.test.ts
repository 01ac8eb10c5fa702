import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { verifyAuditChain } from '../../src/audit/audit-log.ts';
import { StateTransitionError } from '../../src/errors/index.ts';
import {
  type CaseRecord,
  createCase,
  type Database,
  EventsUnpublished,
  getCase,
  getCases,
  listCaseEvents,
  transitionCase,
  withTransaction,
} from '../../src/store/index.ts';
import {
  type CaseEventType,
  type CaseState,
  caseEventTypes,
  caseTransitions,
} from '../../src/workflow/case-state-machine.ts';
import { itOnPostgres, openTestDatabase, testDatabaseKind } from '../helpers/database.ts';
import { sampleRequest } from '../helpers/fixtures.ts';
import { countRows, insertSampleCase, testActor, waitFor } from '../helpers/store.ts';

const at = new Date('2026-03-01T10:05:00.000Z');

/** Shortest event path from received to each state, so a case can be put in any state through legal moves. */
function pathTo(target: CaseState): CaseEventType[] {
  const queue: Array<{ state: CaseState; path: CaseEventType[] }> = [{ state: 'received', path: [] }];
  const seen = new Set<CaseState>(['received']);
  while (queue.length) {
    const { state, path } = queue.shift()!;
    if (state === target) return path;
    for (const event of caseEventTypes) {
      const rule = caseTransitions[event];
      const to = rule.to === 'unchanged' ? state : rule.to; // recorded in place (decision_updated)
      if (!(rule.from as readonly CaseState[]).includes(state) || seen.has(to)) continue;
      seen.add(to);
      queue.push({ state: to, path: [...path, event] });
    }
  }
  throw new Error(`unreachable state ${target}`);
}

describe(`case transitions on ${testDatabaseKind()}`, () => {
  let db: Database;
  beforeAll(async () => {
    db = await openTestDatabase();
  });
  afterAll(() => db?.close());

  async function caseIn(state: CaseState): Promise<CaseRecord> {
    const created = await insertSampleCase(db.pool);
    for (const event of pathTo(state)) {
      await withTransaction(db.pool, (tx) =>
        transitionCase(tx, { tenant: created.tenant, caseId: created.id, event, actor: testActor, at }),
      );
    }
    return (await getCase(db.pool, created.tenant, created.id))!;
  }

  async function footprint(caseId: string) {
    return {
      events: await countRows(db.pool, 'case_events', 'case_id = $1', [caseId]),
      outbox: await countRows(db.pool, 'outbox', 'case_id = $1', [caseId]),
      audit: await countRows(db.pool, 'audit_log', 'case_id = $1', [caseId]),
    };
  }

  it('creating a case writes the case, its first event and an audit row; a redelivery writes nothing', async () => {
    const request = sampleRequest({ idempotencyKey: 'dup-key-1' });
    const first = await withTransaction(db.pool, (tx) => createCase(tx, { request, actor: testActor, at }));
    const second = await withTransaction(db.pool, (tx) => createCase(tx, { request, actor: testActor, at }));
    expect(first.created).toBe(true);
    expect(second.created).toBe(false);
    expect(second.case.id).toBe(first.case.id);
    expect(await footprint(first.case.id)).toEqual({ events: 1, outbox: 0, audit: 1 });
  });

  const legal = caseEventTypes.flatMap((event) =>
    (caseTransitions[event].from as readonly CaseState[]).map(
      // 'unchanged': recorded in place (decision_updated)
      (from) => {
        const to: CaseState = caseTransitions[event].to === 'unchanged' ? from : caseTransitions[event].to;
        return [from, event, to] as const;
      },
    ),
  );

  // Both ways in: reading and locking the case first, or from the case the caller read (asRead: no read, the
  // UPDATE checks the version and writes the event in the same statement).
  const legalBothWays = legal.flatMap(([from, event, to]) =>
    (['locking read', 'as read'] as const).map((how) => [from, event, to, how] as const),
  );

  it.each(legalBothWays)(
    '%s --%s--> %s (%s) writes case row, case event, outbox rows and audit row together',
    async (from, event, to, how) => {
      const record = await caseIn(from);
      const before = await footprint(record.id);
      const result = await withTransaction(db.pool, (tx) =>
        transitionCase(tx, {
          tenant: record.tenant,
          caseId: record.id,
          event,
          actor: { id: 'user:reviewer-1', onBehalfOf: 'tenant:clinic-a' },
          at,
          ...(how === 'as read' ? { expectedVersion: record.version, asRead: record } : {}),
          data: { reason: 'test' },
          patch: { payerId: 'payer-x' },
          outbox: [
            { topic: 'pa.status.v1', key: record.id, value: { state: to } },
            { topic: 'pa.claimresponse.v1', key: record.id, value: { resourceType: 'ClaimResponse' } },
          ],
        }),
      );
      expect(result.after).toMatchObject({ state: to, version: record.version + 1, payerId: 'payer-x' });
      expect(await footprint(record.id)).toEqual({
        events: before.events + 1,
        outbox: before.outbox + 2,
        audit: before.audit + 1,
      });
      const events = await listCaseEvents(db.pool, record.tenant, record.id);
      expect(events.at(-1)).toMatchObject({
        seq: record.version + 1,
        event,
        fromState: from,
        toState: to,
        actor: 'user:reviewer-1',
        onBehalfOf: 'tenant:clinic-a',
        data: { reason: 'test' },
        at,
      });
      expect(result.before).toMatchObject({ state: from, version: record.version });
      const audit = await db.pool.query(
        'SELECT actor, on_behalf_of, action FROM audit_log WHERE case_id = $1 ORDER BY seq DESC LIMIT 1',
        [record.id],
      );
      expect(audit.rows[0]).toEqual({
        actor: 'user:reviewer-1',
        on_behalf_of: 'tenant:clinic-a',
        action: `case.${event}`,
      });
    },
  );

  const illegal = (
    [
      'received',
      'validated',
      'submitted',
      'pended',
      'decided',
      'delivered',
      'rejected',
      'not_required',
      'cancelled',
    ] as CaseState[]
  ).flatMap((from) =>
    caseEventTypes
      .filter((event) => !(caseTransitions[event].from as readonly CaseState[]).includes(from))
      .map((event) => [from, event] as const),
  );

  it.each(illegal)('%s --%s--> is refused and writes nothing', async (from, event) => {
    const record = await caseIn(from);
    const before = await footprint(record.id);
    await expect(
      withTransaction(db.pool, (tx) =>
        transitionCase(tx, {
          tenant: record.tenant,
          caseId: record.id,
          event,
          actor: testActor,
          at,
          outbox: [{ topic: 't', key: null, value: 'x' }],
        }),
      ),
    ).rejects.toBeInstanceOf(StateTransitionError);
    expect(await footprint(record.id)).toEqual(before);
    expect((await getCase(db.pool, record.tenant, record.id))!.version).toBe(record.version);
  });

  it('getCases reads several cases in one statement, only under their own tenant', async () => {
    const a = await caseIn('received');
    const b = await caseIn('validated');
    const read = await getCases(db.pool, [
      { tenant: a.tenant, caseId: a.id },
      { tenant: b.tenant, caseId: b.id },
      { tenant: 'clinic-b', caseId: a.id }, // the right id under another tenant: not found
      { tenant: a.tenant, caseId: 'not-a-uuid' },
    ]);
    expect([...read.keys()].sort()).toEqual([a.id, b.id].sort());
    expect(read.get(a.id)).toEqual(await getCase(db.pool, a.tenant, a.id));
    expect(read.get(b.id)).toMatchObject({ state: 'validated', version: b.version });
    expect(await getCases(db.pool, [])).toEqual(new Map());
  });

  it('a transition for another tenant finds no case', async () => {
    const record = await caseIn('received');
    await expect(
      withTransaction(db.pool, (tx) =>
        transitionCase(tx, {
          tenant: 'clinic-b',
          caseId: record.id,
          event: 'validated',
          actor: testActor,
          at,
        }),
      ),
    ).rejects.toMatchObject({ code: 'PAGW_CASE_NOT_FOUND' });
  });

  /** `decided` from the case as the caller read it (no locking read). */
  const decidedAsRead = (record: CaseRecord) => ({
    tenant: record.tenant,
    caseId: record.id,
    event: 'decided' as const,
    actor: testActor,
    at,
    expectedVersion: record.version,
    asRead: record,
  });

  it('a transition from a case read before another transition moved it fails and writes nothing', async () => {
    const record = await caseIn('submitted');
    await withTransaction(db.pool, (tx) =>
      transitionCase(tx, { tenant: record.tenant, caseId: record.id, event: 'pended', actor: testActor, at }),
    );
    const before = await footprint(record.id);
    await expect(
      withTransaction(db.pool, (tx) =>
        transitionCase(tx, {
          ...decidedAsRead(record),
          outbox: [{ topic: 'pa.status.v1', key: record.id, value: { s: 1 } }],
        }),
      ),
    ).rejects.toMatchObject({ code: 'PAGW_CASE_VERSION_CONFLICT' });
    expect(await footprint(record.id)).toEqual(before);
    expect((await getCase(db.pool, record.tenant, record.id))!).toMatchObject({
      state: 'pended',
      version: record.version + 1,
    });
  });

  it('from the case as read, the case and its event are one statement', async () => {
    const record = await caseIn('submitted');
    const client = await db.pool.connect();
    const statements: string[] = [];
    const counting = {
      query: (...args: Parameters<pg.PoolClient['query']>) => {
        statements.push(String(args[0]).trim().split(/\s+/).slice(0, 2).join(' '));
        return (client.query as (...a: unknown[]) => Promise<pg.QueryResult>)(...args);
      },
    } as unknown as pg.PoolClient;
    try {
      await client.query('BEGIN');
      await transitionCase(counting, decidedAsRead(record));
      await client.query('COMMIT');
    } finally {
      client.release();
    }
    // The UPDATE with the event INSERT as a CTE, then the audit row: no locking SELECT, no separate event INSERT.
    expect(statements).toEqual(['WITH moved', 'INSERT INTO']);
    expect((await listCaseEvents(db.pool, record.tenant, record.id)).at(-1)).toMatchObject({
      seq: record.version + 1,
      event: 'decided',
      fromState: 'submitted',
      toState: 'decided',
    });
  });

  describe('onlyOncePublished (delivering a decided case)', () => {
    const deliveredAsRead = (record: CaseRecord) => ({
      tenant: record.tenant,
      caseId: record.id,
      event: 'delivered' as const,
      actor: testActor,
      at,
      expectedVersion: record.version,
      asRead: record,
      onlyOncePublished: true,
    });
    async function decidedWithEvents(): Promise<CaseRecord> {
      const submitted = await caseIn('submitted');
      await withTransaction(db.pool, (tx) =>
        transitionCase(tx, {
          ...decidedAsRead(submitted),
          outbox: [
            { topic: 'pa.status.v1', key: submitted.id, value: { s: 1 } },
            { topic: 'pa.claimresponse.v1', key: submitted.id, value: { s: 2 } },
          ],
        }),
      );
      return (await getCase(db.pool, submitted.tenant, submitted.id))!;
    }
    const markPublished = (sql: Pick<pg.Pool, 'query'>, caseId: string) =>
      sql.query('UPDATE outbox SET published_at = $2 WHERE case_id = $1 AND published_at IS NULL', [
        caseId,
        at,
      ]);

    it('with events unpublished, writes nothing and says how many; once they are published, moves the case', async () => {
      const record = await decidedWithEvents();
      const before = await footprint(record.id);
      const waiting = await withTransaction(db.pool, (tx) =>
        transitionCase(tx, deliveredAsRead(record)).then(
          () => undefined,
          (error: unknown) => error,
        ),
      );
      expect(waiting).toBeInstanceOf(EventsUnpublished);
      expect(waiting).toMatchObject({ caseId: record.id, count: 2 });
      expect(await footprint(record.id)).toEqual(before);
      expect(await getCase(db.pool, record.tenant, record.id)).toMatchObject({
        state: 'decided',
        version: record.version,
      });

      await markPublished(db.pool, record.id);
      const moved = await withTransaction(db.pool, (tx) => transitionCase(tx, deliveredAsRead(record)));
      expect(moved.after).toMatchObject({ state: 'delivered', version: record.version + 1 });
      expect((await listCaseEvents(db.pool, record.tenant, record.id)).at(-1)).toMatchObject({
        event: 'delivered',
        seq: record.version + 1,
      });
    });

    it('a case that moved meanwhile is a version conflict, as without it', async () => {
      const record = await decidedWithEvents();
      await markPublished(db.pool, record.id);
      await withTransaction(db.pool, (tx) => transitionCase(tx, deliveredAsRead(record)));
      await expect(
        withTransaction(db.pool, (tx) => transitionCase(tx, deliveredAsRead(record))),
      ).rejects.toMatchObject({ code: 'PAGW_CASE_VERSION_CONFLICT' });
    });

    itOnPostgres('waits for a relay publishing the events right now, then sees them published', async () => {
      const record = await decidedWithEvents();
      // A relay round: the rows locked, marked, committed a moment later.
      const relay = await db.pool.connect();
      try {
        await relay.query('BEGIN');
        await relay.query('SELECT id FROM outbox WHERE case_id = $1 FOR UPDATE', [record.id]);
        const delivering = withTransaction(db.pool, (tx) => transitionCase(tx, deliveredAsRead(record)));
        // The delivering statement is blocked on the relay's row locks (waited for as an event, not a time).
        await waitFor(
          async () =>
            (
              await db.pool.query(
                `SELECT count(*)::int AS n FROM pg_stat_activity
                  WHERE wait_event_type = 'Lock' AND query LIKE '%pending AS MATERIALIZED%'`,
              )
            ).rows[0].n === 1,
          { what: 'the delivering transition waiting on the relay’s locks' },
        );
        await markPublished(relay, record.id);
        await relay.query('COMMIT');
        const moved = await delivering;
        expect(moved.after.state).toBe('delivered');
      } finally {
        relay.release();
      }
    });
  });

  // Every statement of the transition after BEGIN, up to and including its COMMIT: five reading and locking the
  // case first (the audit rows are one INSERT with no chain head to lock; the case event is written by the UPDATE's
  // statement), four from the case as read (no locking read).
  it.each([
    ...[1, 2, 3, 4, 5].map((n) => [n, 'locking read'] as const),
    ...[1, 2, 3, 4].map((n) => [n, 'as read'] as const),
  ])(
    'a connection broken after query %i of a transition (%s) leaves nothing partial',
    async (breakAfter, how) => {
      const record = await caseIn('submitted');
      const before = await footprint(record.id);
      const auditBefore = await countRows(db.pool, 'audit_log');
      const client = new pg.Client(db.connection);
      client.on('error', () => {});
      await client.connect();
      let queries = 0;
      const breaking = {
        query: async (...args: Parameters<pg.Client['query']>) => {
          if (queries++ === breakAfter) {
            // Cut the TCP connection mid-transaction, as a crash or network fault would.
            (
              client as unknown as { connection: { stream: { destroy(): void } } }
            ).connection.stream.destroy();
          }
          return (client.query as (...a: unknown[]) => Promise<pg.QueryResult>)(...args);
        },
      } as unknown as pg.PoolClient;
      await breaking.query('BEGIN');
      await expect(
        transitionCase(breaking, {
          tenant: record.tenant,
          caseId: record.id,
          event: 'decided',
          actor: testActor,
          at,
          patch: { payerId: 'p' },
          outbox: [{ topic: 'pa.status.v1', key: record.id, value: { s: 1 } }],
          ...(how === 'as read' ? { expectedVersion: record.version, asRead: record } : {}),
        }).then(() => breaking.query('COMMIT')),
      ).rejects.toThrow();
      await client.end().catch(() => {});
      // The server rolls the transaction back when the connection drops; poll until it has.
      const deadline = Date.now() + 10_000;
      while (
        Date.now() < deadline &&
        (await getCase(db.pool, record.tenant, record.id))!.state !== 'submitted'
      ) {
        await new Promise((r) => setTimeout(r, 50));
      }
      const after = (await getCase(db.pool, record.tenant, record.id))!;
      expect(after).toMatchObject({ state: 'submitted', version: record.version, payerId: null });
      expect(await footprint(record.id)).toEqual(before);
      expect(await countRows(db.pool, 'audit_log')).toBe(auditBefore);
      expect((await verifyAuditChain(db.pool)).ok).toBe(true);
    },
  );

  it('two concurrent transitions of one case serialize: one wins, the other sees the new state', async () => {
    const record = await caseIn('received');
    const attempts = await Promise.allSettled(
      [0, 1].map(() =>
        withTransaction(db.pool, (tx) =>
          transitionCase(tx, {
            tenant: record.tenant,
            caseId: record.id,
            event: 'validated',
            actor: testActor,
            at,
          }),
        ),
      ),
    );
    expect(attempts.filter((a) => a.status === 'fulfilled')).toHaveLength(1);
    const refused = attempts.find((a) => a.status === 'rejected') as PromiseRejectedResult;
    expect(refused.reason).toMatchObject({ code: 'PAGW_CASE_ILLEGAL_TRANSITION' });
    expect(await footprint(record.id)).toMatchObject({ events: 2 });
  });

  it('many concurrent updates of one case lose none: versions and event sequence numbers are gap-free', async () => {
    const record = await caseIn('decided');
    const n = 40;
    await Promise.all(
      Array.from({ length: n }, (_, i) =>
        withTransaction(db.pool, (tx) =>
          transitionCase(tx, {
            tenant: record.tenant,
            caseId: record.id,
            event: 'decision_updated',
            actor: testActor,
            at,
            data: { i },
          }),
        ),
      ),
    );
    const after = (await getCase(db.pool, record.tenant, record.id))!;
    expect(after.version).toBe(record.version + n);
    const seqs = (await listCaseEvents(db.pool, record.tenant, record.id)).map((e) => e.seq);
    expect(seqs).toEqual(Array.from({ length: after.version }, (_, i) => i + 1));
    expect((await verifyAuditChain(db.pool)).ok).toBe(true);
  });
});
