/**
 * Migration 0016 (issue #10, console bug): 0013's `human_touched` counted the intake as a person's touch, because
 * the inbound transport's actor (`token:…`, `mllp:…`, `bus:…`) writes a case's `received` and `validated` events.
 * A database that ran 0013 has every inbound case marked; 0016 recomputes them and keeps later cases right.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Actor } from '../../src/audit/audit-log.ts';
import {
  createCase,
  type Database,
  migrate,
  readMigrations,
  transitionCase,
  withTransaction,
} from '../../src/store/index.ts';
import { openTestDatabase, testDatabaseKind } from '../helpers/database.ts';
import { sampleRequest } from '../helpers/fixtures.ts';

const system: Actor = { id: 'system:workflow' };
const ehr: Actor = { id: 'token:ehr-integration', onBehalfOf: 'sender:EPIC@GOODHEALTH' };
const reviewer: Actor = { id: 'token:reviewer(ann)', onBehalfOf: 'tenant:clinic-a' };
const at = new Date('2026-03-02T10:00:00Z');

describe(`human_touched after migration 0016 (${testDatabaseKind()})`, () => {
  let db: Database;
  const all = readMigrations();
  // With 0019 too: the cases below are written by today's code, which appends audit rows the 0019 way.
  const before0016 = all.filter((m) => m.version < '0016' || m.version.startsWith('0019_'));

  beforeAll(async () => {
    db = await openTestDatabase({ migrate: false });
    await migrate(db.pool, before0016);
  });
  afterAll(() => db?.close());

  /** A case as the intake writes it (the transport's actor for `received` and `validated`), then `steps`. */
  async function inboundCase(
    name: string,
    steps: Array<[Parameters<typeof transitionCase>[1]['event'], Actor]>,
  ) {
    const request = sampleRequest({ tenant: 'clinic-a', idempotencyKey: `human-touched:${name}` });
    const caseId = (await withTransaction(db.pool, (tx) => createCase(tx, { request, actor: ehr, at }))).case
      .id;
    for (const [event, actor] of [['validated', ehr], ...steps] as const) {
      await withTransaction(db.pool, (tx) =>
        transitionCase(tx, {
          tenant: 'clinic-a',
          caseId,
          event,
          actor,
          at,
          data: event === 'decided' ? { outcome: 'approved' } : {},
        }),
      );
    }
    return caseId;
  }

  const touched = async (id: string) =>
    (await db.pool.query<{ human_touched: boolean }>('SELECT human_touched FROM cases WHERE id = $1', [id]))
      .rows[0]!.human_touched;

  const straightThroughSteps: Array<[Parameters<typeof transitionCase>[1]['event'], Actor]> = [
    ['eligibility_checked', system],
    ['submitted', system],
    ['decided', system],
  ];
  const reviewedSteps: Array<[Parameters<typeof transitionCase>[1]['event'], Actor]> = [
    ['eligibility_checked', system],
    ['review_requested', system],
    ['submitted', reviewer],
    ['decided', system],
  ];

  it('0013 alone marks a straight-through inbound case as touched (the bug); 0016 recomputes it', async () => {
    const straight = await inboundCase('old-straight', straightThroughSteps);
    const reviewed = await inboundCase('old-reviewed', reviewedSteps);
    expect(await touched(straight)).toBe(true);
    expect(await touched(reviewed)).toBe(true);

    expect((await migrate(db.pool, all)).applied).toContain('0016_human_touched_actor');
    expect(await touched(straight)).toBe(false);
    expect(await touched(reviewed)).toBe(true);
  });

  it('after 0016: the intake is not a touch, a reviewer decision is', async () => {
    expect(await touched(await inboundCase('new-straight', straightThroughSteps))).toBe(false);
    expect(await touched(await inboundCase('new-reviewed', reviewedSteps))).toBe(true);
    expect(await touched(await inboundCase('new-open', [['eligibility_checked', system]]))).toBe(false);
  });
});
