/**
 * PAS claim updates from an EHR, end to end with real parts (issue #14 remainder): the EHR posts the IG's Homecare
 * request to our Claim/$submit (the payer, the simulated PAS payer in its own process, pends it), then a PAS Claim
 * Update relating to it (the IG's own update example, re-identified). The update is matched to the open case — never a
 * new case — as an HL7 ORC CA / XO would be: (c) every item withdrawn → cancelled at the payer, the case `cancelled`;
 * (d) an item withdrawn and one added → `resubmitted`, the change sent to the payer as a claim update, then decided.
 * An update relating to a Claim we do not hold is refused (404).
 */
import { readFileSync } from 'node:fs';
import type { Bundle, Claim, ClaimResponse, Coverage } from '@medplum/fhirtypes';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { OffsetClock } from '../../src/clock.ts';
import { PasExtension } from '../../src/outbound/index.ts';
import { createApiToken } from '../../src/store/index.ts';
import { traceNumberFor } from '../../src/workflow/case-workflow.ts';
import { testDatabaseKind } from '../helpers/database.ts';
import { fixturePath } from '../helpers/fixtures.ts';
import { startTestGateway, type TestGateway } from '../helpers/gateway.ts';
import { readJson } from '../helpers/http.ts';
import {
  createPasClientKeys,
  pasChannelFor,
  pasTestPayersDir,
  startPasSimWithClient,
} from '../helpers/pas.ts';
import { waitFor } from '../helpers/store.ts';
import type { PasSimProcess } from '../sim/pas-payer/process.ts';

const EHR_TENANT = 'ehr-pas-updates';
const SYSTEM = 'urn:ehr:test:claim';
const corpus = (file: string) => JSON.parse(readFileSync(fixturePath('pas', file), 'utf8')) as Bundle;
const X12_1322 = 'https://codesystem.x12.org/005010/1322';

/** The IG's Homecare request with our identifier and member id. */
function original(identifier: string, memberId: string): Bundle {
  const bundle = corpus('Bundle-HomecareAuthorizationBundleExample.json');
  (bundle.entry![0]!.resource as Claim).identifier = [{ system: SYSTEM, value: identifier }];
  (bundle.entry!.find((e) => e.resource?.resourceType === 'Coverage')!.resource as Coverage).subscriberId =
    memberId;
  return bundle;
}

/**
 * The IG's update example (G0154 kept, B4184 withdrawn, B4185 added) relating to `identifier`; with `cancelAll`,
 * every item withdrawn and the Claim's certification type 3.
 */
function updateOf(identifier: string, memberId: string, cancelAll = false): Bundle {
  const bundle = corpus('Bundle-HomecareAuthorizationUpdateBundleExample.json');
  const [update, ...rest] = bundle.entry!;
  const claim = update!.resource as Claim;
  claim.identifier = [{ system: SYSTEM, value: `${identifier}-UPDATE` }];
  const prior = rest.find((e) => e.resource?.resourceType === 'Claim')!.resource as Claim;
  prior.identifier = [{ system: SYSTEM, value: identifier }];
  (bundle.entry!.find((e) => e.resource?.resourceType === 'Coverage')!.resource as Coverage).subscriberId =
    memberId;
  if (cancelAll) {
    claim.extension = [
      {
        url: PasExtension.certificationType,
        valueCodeableConcept: { coding: [{ system: X12_1322, code: '3' }] },
      },
    ];
    for (const item of claim.item!) {
      item.extension = item.extension!.map((e) =>
        e.url === PasExtension.certificationType
          ? { ...e, valueCodeableConcept: { coding: [{ system: X12_1322, code: '3' }] } }
          : e,
      );
      item.modifierExtension = [{ url: PasExtension.infoCancelled, valueBoolean: true }];
    }
  }
  return bundle;
}

describe(`PAS claim updates from an EHR (${testDatabaseKind()})`, () => {
  let sim: PasSimProcess;
  let gw: TestGateway;
  const clock = new OffsetClock();
  let token = '';

  beforeAll(async () => {
    const keys = await createPasClientKeys('RS384');
    sim = await startPasSimWithClient(keys, { slowMs: 500, notifyAfterMs: 600_000 });
    const channel = pasChannelFor(sim, keys, { followUp: { inquiryIntervalMinutes: 60, maxInquiries: 5 } });
    gw = await startTestGateway({
      clock,
      env: { PAYERS_DIR: pasTestPayersDir(channel), STEP_LEASE_MS: '20000', PAS_SUBMIT_WAIT_MS: '20000' },
    });
    // A tenant of its own, as in pas-ehr-server.test.ts: no review policy holds these home-health requests.
    token = (
      await createApiToken(gw.gateway.db.pool, {
        tenant: EHR_TENANT,
        roles: ['ehr'],
        label: 'pas-ehr-updates',
        at: new Date(),
      })
    ).token;
  });
  afterAll(async () => {
    await gw?.stop();
    await sim?.stop();
  });

  const submit = async (bundle: Bundle) => {
    const res = await fetch(`${gw.gateway.url}/fhir/Claim/$submit`, {
      method: 'POST',
      headers: { authorization: `Bearer ${token}`, 'content-type': 'application/fhir+json' },
      body: JSON.stringify(bundle),
    });
    return { res, body: await readJson(res), caseId: res.headers.get('location')?.split('/').pop() };
  };
  const caseWhen = (id: string, done: (c: { state: string; events: { event: string }[] }) => boolean) =>
    waitFor(
      async () => {
        const { rows } = await gw.gateway.db.pool.query<{ state: string }>(
          'SELECT state FROM cases WHERE id = $1',
          [id],
        );
        const events = (
          await gw.gateway.db.pool.query<{ event: string; data: Record<string, unknown> }>(
            'SELECT event, data FROM case_events WHERE case_id = $1 ORDER BY seq',
            [id],
          )
        ).rows;
        const c = { state: rows[0]!.state, events };
        return done(c) ? c : undefined;
      },
      { timeoutMs: 60_000, what: `case ${id}` },
    );
  const traceKey = (caseId: string) => `urn:pagw:${EHR_TENANT}:trace|${traceNumberFor(caseId)}`;
  const casesOf = async () =>
    (
      await gw.gateway.db.pool.query<{ n: number }>(
        'SELECT count(*)::int AS n FROM cases WHERE tenant_id = $1',
        [EHR_TENANT],
      )
    ).rows[0]!.n;

  it('(c) an update withdrawing every item cancels the request at the payer: the case ends cancelled', async () => {
    const id = `HC-C-${Date.now()}`;
    const first = await submit(original(id, 'PEND400001'));
    expect(first.res.status).toBe(200);
    const caseId = first.caseId!;
    await caseWhen(caseId, (c) => c.state === 'pended');
    const before = await casesOf();
    const update = await submit(updateOf(id, 'PEND400001', true));
    expect(update.res.status).toBe(200);
    expect(update.caseId).toBe(caseId);
    expect(await casesOf()).toBe(before);
    const final = await caseWhen(caseId, (c) => c.state === 'cancelled');
    expect(final.events.at(-1)).toMatchObject({
      event: 'cancelled',
      data: { reason: 'ORDER_CANCELLED', atPayer: true },
    });
    const cancels = (await sim.received()).filter(
      (r) => r.kind === 'submit' && r.key === `${traceKey(caseId)}-C`,
    );
    expect(cancels).toEqual([expect.objectContaining({ disposition: 'cancelled' })]);
    // The EHR's answer is the case's: cancelled (review action C).
    const cr = (update.body as Bundle).entry![0]!.resource as ClaimResponse;
    expect(cr.resourceType).toBe('ClaimResponse');
  });

  it('(d) an update withdrawing one item and adding another: resubmitted, sent as a claim update, decided', async () => {
    const id = `HC-D-${Date.now()}`;
    const first = await submit(original(id, 'PEND400002'));
    const caseId = first.caseId!;
    await caseWhen(caseId, (c) => c.state === 'pended');
    const before = await casesOf();
    const update = await submit(updateOf(id, 'PEND400002'));
    expect(update.res.status).toBe(200);
    expect(update.caseId).toBe(caseId);
    expect(await casesOf()).toBe(before);
    await caseWhen(caseId, (c) => c.state === 'pended' && c.events.at(-2)?.event === 'resubmitted');
    const sent = (await sim.received()).filter((r) => r.kind === 'update' && r.updates === traceKey(caseId));
    expect(sent).toEqual([
      expect.objectContaining({ accepted: true, disposition: 'revised', serviceCodes: ['G0154', 'B4185'] }),
    ]);
    expect(sent[0]!.changes).toContainEqual(expect.objectContaining({ cancelled: true, change: 'changed' }));
    // The same update again names the same case and sends nothing new.
    expect((await submit(updateOf(id, 'PEND400002'))).caseId).toBe(caseId);
    clock.advance(61 * 60_000);
    const final = await caseWhen(caseId, (c) => c.state === 'delivered');
    const events = final.events.map((e) => e.event);
    expect(events.filter((e) => e === 'resubmitted')).toHaveLength(1);
    expect(events.slice(-2)).toEqual(['decided', 'delivered']);
    expect(
      (await sim.received()).filter((r) => r.kind === 'update' && r.updates === traceKey(caseId)),
    ).toHaveLength(1);
  });

  it('an update relating to a Claim we hold no request for is refused (404)', async () => {
    const { res, body } = await submit(updateOf(`HC-X-${Date.now()}`, 'W400003'));
    expect(res.status).toBe(404);
    expect(body.issue[0].details.coding[0].code).toBe('PAGW_PAS_UPDATE_NOT_MATCHED');
  });
});
