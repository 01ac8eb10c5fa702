/**
 * The X12 store on a real database (PGlite, or PostgreSQL when DATABASE_URL is set): control numbers stay
 * unique under concurrent allocation, and the submissions log refuses a second live submission for a case.
 */
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createX12Store, type X12Store } from '../../connectors/x12/store.ts';
import { HeldWrites } from '../../src/store/held-writes.ts';
import { type Database, runTogether, withTransaction } from '../../src/store/index.ts';
import { openTestDatabase } from '../helpers/database.ts';
import { testVault } from '../helpers/vault.ts';

let db: Database;
let store: X12Store;
const at = new Date('2026-01-15T09:30:00Z');

beforeAll(async () => {
  db = await openTestDatabase({ poolSize: 8 });
  store = createX12Store(db.pool, { phi: testVault(db).phi });
});
afterAll(async () => {
  await db?.close();
});

const attempt = (caseId: string, purpose: 'submit' | 'inquire' | 'eligibility' = 'submit') => ({
  tenant: 'clinic-a',
  caseId,
  payerId: 'example-health-plan',
  channel: 'x12' as const,
  purpose,
  traceNumber: `T-${caseId.slice(0, 8)}`,
  request: 'ISA*…',
  at,
});

describe('x12 control numbers', () => {
  it('allocates increasing interchange and group numbers per sender/receiver pair', async () => {
    const first = await store.allocateControlNumbers('PAGATEWAY', 'RCV-A', at);
    const second = await store.allocateControlNumbers('PAGATEWAY', 'RCV-A', at);
    const other = await store.allocateControlNumbers('PAGATEWAY', 'RCV-B', at);
    expect(first).toMatchObject({ interchange: 1, group: 1 });
    expect(second).toMatchObject({ interchange: 2, group: 2 });
    expect(other).toMatchObject({ interchange: 1, group: 1 });
    // With the numbers, a new submission id each time (taken in the same statement).
    expect(new Set([first, second, other].map((c) => c.submissionId)).size).toBe(3);
  });

  it('never hands out the same number twice under concurrent allocation', async () => {
    const results = await Promise.all(
      Array.from({ length: 60 }, () => store.allocateControlNumbers('PAGATEWAY', 'RCV-C', at)),
    );
    const interchanges = results.map((r) => r.interchange);
    expect(new Set(interchanges).size).toBe(60);
    expect(Math.max(...interchanges)).toBe(60);
    expect(new Set(results.map((r) => r.group)).size).toBe(60);
  });

  it('wraps after 999999999 (ISA13 is nine digits)', async () => {
    await store.allocateControlNumbers('PAGATEWAY', 'RCV-W', at);
    await db.pool.query(`UPDATE x12_control_numbers SET last_value = 999999995 WHERE receiver_id = 'RCV-W'`);
    // A process started now (this one still holds the rest of its block): a block of 8 would pass the limit.
    const next = createX12Store(db.pool, { phi: testVault(db).phi, controlNumberBlock: 8 });
    const numbers = [];
    for (let i = 0; i < 3; i++) numbers.push(await next.allocateControlNumbers('PAGATEWAY', 'RCV-W', at));
    expect(numbers.map((n) => [n.interchange, n.group])).toEqual([
      [1, 1],
      [2, 2],
      [3, 3],
    ]);
  });

  it('reserves numbers in blocks: one statement per block, unique across processes, in order within each', async () => {
    const blockSize = 5;
    let statements = 0;
    const counting = {
      query: (...args: Parameters<typeof db.pool.query>) => {
        statements++;
        return (db.pool.query as (...a: unknown[]) => unknown)(...args);
      },
    } as unknown as typeof db.pool;
    // Two gateway processes, each with its own store, sharing the database.
    const one = createX12Store(counting, { phi: testVault(db).phi, controlNumberBlock: blockSize });
    const two = createX12Store(counting, { phi: testVault(db).phi, controlNumberBlock: blockSize });
    const [fromOne, fromTwo] = await Promise.all(
      [one, two].map((s) =>
        Promise.all(Array.from({ length: 12 }, () => s.allocateControlNumbers('PAGATEWAY', 'RCV-P', at))),
      ),
    );
    const all = [...fromOne!, ...fromTwo!];
    expect(new Set(all.map((n) => n.interchange)).size).toBe(24);
    expect(new Set(all.map((n) => n.group)).size).toBe(24);
    expect(new Set(all.map((n) => n.submissionId)).size).toBe(24);
    expect(statements).toBe(2 * Math.ceil(12 / blockSize)); // 3 blocks each, not 12 statements each
    for (const numbers of [fromOne!, fromTwo!]) {
      const interchanges = numbers.map((n) => n.interchange);
      expect(interchanges).toEqual([...interchanges].sort((a, b) => a - b));
      const ids = numbers.map((n) => n.submissionId);
      expect(ids).toEqual([...ids].sort((a, b) => a - b));
    }
    // Nothing handed out lies beyond what the pair's row says was reserved.
    const { rows } = await db.pool.query<{ last_value: string }>(
      `SELECT last_value FROM x12_control_numbers WHERE receiver_id = 'RCV-P' AND kind = 'interchange'`,
    );
    expect(Math.max(...all.map((n) => n.interchange))).toBeLessThanOrEqual(Number(rows[0]!.last_value));
  });
});

describe('payer submissions log', () => {
  it('records an attempt under the id allocated with its control numbers', async () => {
    const { submissionId } = await store.allocateControlNumbers('PAGATEWAY', 'RCV-ID', at);
    const recorded = await store.recordAttempt({ ...attempt(randomUUID()), id: submissionId });
    expect(recorded.id).toBe(submissionId);
    const next = await store.recordAttempt(attempt(randomUUID())); // no id given: a new one
    expect(next.id).toBeGreaterThan(submissionId);
  });

  it('numbers attempts per case and purpose, and records each before completion', async () => {
    const caseId = randomUUID();
    const a1 = await store.recordAttempt(attempt(caseId));
    expect(a1).toMatchObject({ attempt: 1, status: 'sending', purpose: 'submit', completedAt: null });
    await store.complete(a1.id, { status: 'failed', errorCode: 'PAGW_X12_TRANSPORT_UNAVAILABLE', at });
    const a2 = await store.recordAttempt(attempt(caseId));
    const i1 = await store.recordAttempt(attempt(caseId, 'inquire'));
    expect([a2.attempt, i1.attempt]).toEqual([2, 1]);
    await store.complete(a2.id, {
      status: 'answered',
      response: 'ISA*resp',
      outcome: { kind: 'decided' },
      at,
    });
    const latest = await store.latest(caseId, 'submit');
    expect(latest).toMatchObject({ id: a2.id, status: 'answered', outcome: { kind: 'decided' } });
    // Payloads are sealed at rest, bound to their row: opened only through the audited read.
    expect(latest?.response).toMatch(/^pgv1:/);
    expect(await store.openPayloads(a2.id, { reader: 'system:test' })).toEqual({
      request: 'ISA*…',
      response: 'ISA*resp',
    });
    const audited = await db.pool.query(
      `SELECT details FROM audit_log WHERE action = 'phi.read' AND details->>'ref' = $1 ORDER BY seq`,
      [String(a2.id)],
    );
    expect(audited.rows.map((r) => r.details.what)).toEqual([
      'payer_submissions.request',
      'payer_submissions.response',
    ]);
    // A sealed payload moved to another row does not open.
    await db.pool.query('UPDATE payer_submissions SET response = $2 WHERE id = $1', [
      a1.id,
      latest?.response,
    ]);
    expect((await store.openPayloads(a1.id, { reader: 'system:test' }).catch((e) => e)).code).toBe(
      'PAGW_VAULT_TAMPERED',
    );
    expect((await store.byTrace('x12', a1.traceNumber)).map((r) => r.id)).toEqual([a1.id, a2.id, i1.id]);
  });

  it('refuses a second live submission for the same case (PAGW_X12_LIVE_SUBMISSION_EXISTS)', async () => {
    const caseId = randomUUID();
    const live = await store.recordAttempt(attempt(caseId));
    await expect(store.recordAttempt(attempt(caseId))).rejects.toMatchObject({
      code: 'PAGW_X12_LIVE_SUBMISSION_EXISTS',
    });
    await store.complete(live.id, { status: 'unknown', at });
    await expect(store.recordAttempt(attempt(caseId))).rejects.toMatchObject({
      code: 'PAGW_X12_LIVE_SUBMISSION_EXISTS',
    });
    await store.complete(live.id, { status: 'not_received', at });
    expect((await store.recordAttempt(attempt(caseId))).attempt).toBe(2);
  });

  it('lets only one of many concurrent first submissions through', async () => {
    const caseId = randomUUID();
    const results = await Promise.allSettled(
      Array.from({ length: 8 }, () => store.recordAttempt(attempt(caseId))),
    );
    expect(results.filter((r) => r.status === 'fulfilled')).toHaveLength(1);
    expect((await store.forCase(caseId)).filter((r) => r.purpose === 'submit')).toHaveLength(1);
  });

  it('leaves the record of a payer answer to the running step of its case: with its transaction, or alone at its end', async () => {
    const held = new HeldWrites();
    const holding = createX12Store(db.pool, { phi: testVault(db).phi, held });
    const status = async (id: number) =>
      (await db.pool.query('SELECT status FROM payer_submissions WHERE id = $1', [id])).rows[0].status;

    // No step of the case is running: written at once.
    const alone = await holding.recordAttempt(attempt(randomUUID(), 'inquire'));
    await holding.complete(alone, { status: 'answered', at }, { withStep: true });
    expect(await status(alone.id)).toBe('answered');

    // A step is running: held, then committed with the step's transaction.
    const caseId = randomUUID();
    held.begin(caseId);
    const first = await holding.recordAttempt(attempt(caseId, 'eligibility'));
    await holding.complete(first, { status: 'answered', response: 'ISA*271', at }, { withStep: true });
    expect(await status(first.id)).toBe('sending');
    await withTransaction(db.pool, (tx) => runTogether(tx, held.take(caseId), { thenCommit: true }));
    expect(await status(first.id)).toBe('answered');
    expect(await holding.openPayloads(first.id, { reader: 'system:test' })).toMatchObject({
      response: 'ISA*271',
    });

    // The step fails after the payer answered: what it held is handed back at its end, to be written alone.
    const second = await holding.recordAttempt(attempt(caseId));
    await holding.complete(second, { status: 'rejected', at }, { withStep: true });
    const taken = held.take(caseId);
    held.giveBack(caseId, taken); // its transaction rolled back
    const rest = held.end(caseId);
    expect(rest).toHaveLength(1);
    expect(await status(second.id)).toBe('sending');
    await runTogether(db.pool, rest);
    expect(await status(second.id)).toBe('rejected');
    // After the step's end nothing is held for the case.
    const third = await holding.recordAttempt(attempt(caseId, 'inquire'));
    await holding.complete(third, { status: 'answered', at }, { withStep: true });
    expect(await status(third.id)).toBe('answered');
  });
});
