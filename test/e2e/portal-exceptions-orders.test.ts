/**
 * The portal robot for an order that changes while the payer holds its request (issue #14), in real headless
 * Chromium through the whole gateway (embedded default unless DATABASE_URL), against the simulated payer portal (a
 * separate process; shared setup in portal-exceptions-harness.ts):
 * - the EHR changes the order (ORC-1 XO, more units) while the portal holds it: the robot opens the request, types
 *   the changed fields and saves; the case is resubmitted, pended on the change and decided at the next status check;
 * - the EHR cancels the order (ORC-1 CA) while the portal holds it: the robot opens the request, withdraws it and
 *   confirms; the portal shows it cancelled and the case ends `cancelled`;
 * - a payer with channels [x12, portal] whose portal took the request: the cancel goes to the portal;
 * - this file's gateway logs hold no secret and no document content (the same check runs in
 *   portal-exceptions-documents.test.ts over that file's own gateway).
 * Documents asked for by the portal: portal-exceptions-documents.test.ts.
 */
import { describe, expect, it } from 'vitest';
import { testDatabaseKind } from '../helpers/database.ts';
import { buildOrmOrder } from '../helpers/hl7-orders.ts';
import { readJson } from '../helpers/http.ts';
import { portalLogin as login, portalSeed as seed } from '../helpers/portal.ts';
import {
  api,
  gw,
  logs,
  missing,
  order,
  sim,
  startPortalGateway,
  until,
  untilStateOrFailed,
} from './portal-exceptions-harness.ts';

describe.skipIf(missing)(
  `portal robot: changed and cancelled orders (${testDatabaseKind()}, real Chromium)`,
  () => {
    startPortalGateway();

    it('a changed order (ORC XO) on a portal payer: the robot changes the request on the portal, then a decision', async () => {
      const placer = `ORD-CHG-PORTAL-${Date.now()}`;
      const caseId = await order({ memberId: 'PEND5811', placerOrderNumber: placer, quantity: 1 });
      await untilStateOrFailed(caseId, 'pended');
      const change = await gw.postHl7(
        buildOrmOrder({
          messageId: `PORTAL-EXC-XO-${Date.now()}`,
          cpt: '70553',
          payerId: 'PORTALONLY',
          payerName: 'PORTALONLY',
          memberId: 'PEND5811',
          placerOrderNumber: placer,
          quantity: 3,
          orderControl: 'XO',
        }),
      );
      expect(change.status).toBe(201);
      expect((await readJson(change)).caseIds).toEqual([caseId]);
      const changed = await until(
        caseId,
        (c) =>
          c.state === 'failed' ||
          c.events.some((e: { data?: { update?: string } }) => e.data?.update === 'portal'),
        'the change to reach the portal',
        false,
      );
      expect(changed.state).not.toBe('failed');
      // The changed request is reviewed afresh: decided at the next status check.
      const final = await until(caseId, (c) => c.state === 'delivered' || c.state === 'failed', 'delivered');
      expect(final.state).toBe('delivered');
      expect(final.decision).toMatchObject({ outcome: 'approved', channel: 'portal' });
      const events = final.events.slice(
        final.events.findLastIndex((e: { event: string }) => e.event === 'resubmitted'),
      );
      expect(events.map((e: { event: string }) => e.event)).toEqual([
        'resubmitted',
        'pended',
        'decided',
        'delivered',
      ]);
      expect(events[0]).toMatchObject({
        fromState: 'pended',
        data: { reason: 'ORDER_CHANGED', atPayer: true },
      });
      expect(events[1]).toMatchObject({ fromState: 'submitted', data: { update: 'portal' } });
      // One request at the portal, changed in place: never a second submission.
      const held = (await sim.submissions()).filter((s) => s.member === 'PEND5811');
      expect(held).toHaveLength(1);
      expect(held[0]!.revisions).toEqual([expect.objectContaining({ services: '70553', units: '3' })]);
      expect(held[0]!.units).toBe('3');
      const { rows } = await gw.gateway.db.pool.query(
        `SELECT purpose, status FROM payer_submissions WHERE case_id = $1 AND purpose IN ('submit', 'update') ORDER BY id`,
        [caseId],
      );
      expect(rows).toEqual([
        { purpose: 'submit', status: 'answered' },
        { purpose: 'update', status: 'answered' },
      ]);
      const timeline = (await api('GET', `/cases/${caseId}/timeline`)).json;
      expect(timeline.evidence.map((e: { name: string }) => e.name)).toEqual(
        expect.arrayContaining(['changes-filled', 'changes-saved']),
      );
    });

    it('a cancelled order (ORC CA) on a portal payer: the robot withdraws the request on the portal; the case ends cancelled', async () => {
      const placer = `ORD-CAN-PORTAL-${Date.now()}`;
      const caseId = await order({ memberId: 'PEND6911', placerOrderNumber: placer });
      await untilStateOrFailed(caseId, 'pended');
      await order({ memberId: 'PEND6911', placerOrderNumber: placer, orderControl: 'CA' });
      const final = await untilStateOrFailed(caseId, 'cancelled');
      expect(final.state).toBe('cancelled');
      expect(final.events.at(-1)).toMatchObject({
        event: 'cancelled',
        fromState: 'pended',
        data: { reason: 'ORDER_CANCELLED', atPayer: true, payerAnswer: 'decided', reviewActionCode: 'C' },
      });
      expect(final.decision).toMatchObject({ outcome: 'cancelled', channel: 'portal' });
      // The portal holds the one request, withdrawn once.
      const held = (await sim.submissions()).filter((s) => s.member === 'PEND6911');
      expect(held).toHaveLength(1);
      expect(held[0]!.withdrawals).toBe(1);
      expect(held[0]!.cancelledAt).toEqual(expect.any(String));
      const { rows } = await gw.gateway.db.pool.query(
        `SELECT status FROM payer_submissions WHERE case_id = $1 AND purpose = 'cancel'`,
        [caseId],
      );
      expect(rows).toEqual([{ status: 'answered' }]);
      const names = (await api('GET', `/cases/${caseId}/timeline`)).json.evidence.map(
        (e: { name: string }) => e.name,
      );
      expect(names).toEqual(expect.arrayContaining(['withdraw-confirm', 'withdrawn']));
    });

    it('[x12, portal] whose portal took the request: the cancel follows it to the portal, not to the x12 channel', async () => {
      const placer = `ORD-CAN-DUAL-${Date.now()}`;
      const caseId = await order({ memberId: 'PEND6912', placerOrderNumber: placer, payerId: 'DUALCHAN' });
      const pended = await untilStateOrFailed(caseId, 'pended');
      expect(pended).toMatchObject({ state: 'pended', channel: 'portal' });
      await order({
        memberId: 'PEND6912',
        placerOrderNumber: placer,
        payerId: 'DUALCHAN',
        orderControl: 'CA',
      });
      const final = await untilStateOrFailed(caseId, 'cancelled');
      expect(final.state).toBe('cancelled');
      expect(final.decision).toMatchObject({ outcome: 'cancelled', channel: 'portal' });
      expect((await sim.submissions()).find((s) => s.member === 'PEND6912')!.withdrawals).toBe(1);
      const { rows } = await gw.gateway.db.pool.query(
        `SELECT channel, status FROM payer_submissions WHERE case_id = $1 AND purpose = 'cancel'`,
        [caseId],
      );
      expect(rows).toEqual([{ channel: 'portal', status: 'answered' }]);
    });

    it('the logs hold no secret and no document content', () => {
      const text = logs.join('');
      expect(text).toContain('portal step');
      for (const secret of [login.password, login.username, seed, '%PDF']) expect(text).not.toContain(secret);
    });
  },
);
