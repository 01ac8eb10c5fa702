/**
 * Pharmacy prior authorization end to end (issue #15), with real parts: a real gateway (HTTP, step worker, bus,
 * outbox relay) on this run's database, the simulated pharmacy system and the simulated clearinghouse as separate
 * processes. The seed flag (adalimumab NDC 00074043361, M05.70 / L40.54, BIN 610014, PCN ZZZGROUP, group
 * GRP555123) arrives signed → the draft with its checklist is written back → a pharmacist approves through the API →
 * the 278 goes to the simulated payer → the decision is written back (signed, deduplicated, retried through an
 * outage) and published on pa.status.v1. A bad signature, a replay and a malformed payload each get their own
 * answer and lose nothing.
 */
import { cpSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { defaultPayersDir } from '../../connectors/payer-directory.ts';
import type { IncomingMessage } from '../../src/bus/port.ts';
import { readInboundRaw } from '../../src/inbound/accept.ts';
import { createApiToken, withTransaction } from '../../src/store/index.ts';
import { traceNumberFor } from '../../src/workflow/case-workflow.ts';
import { testDatabaseKind } from '../helpers/database.ts';
import { startTestGateway, type TestGateway } from '../helpers/gateway.ts';
import { readJson } from '../helpers/http.ts';
import {
  SEED_SECRET,
  SEED_SECRET_NAME,
  SEED_SENDER,
  SEED_TENANT,
  seedFlag,
  signedHeaders,
} from '../helpers/pharmacy.ts';
import { countRows, waitFor } from '../helpers/store.ts';
import { type SimProcess, startClearinghouseSim } from '../sim/clearinghouse/process.ts';
import { type PharmacySimProcess, startPharmacySimProcess } from '../sim/pharmacy-system/process.ts';

/** payers/ as shipped, with the pharmacy payer pinned to its X12 channel: the payer this test runs is the
 * simulated clearinghouse, whichever other connectors (PAS, portal) this gateway has. */
function payersDirWithX12Pharmacy(): string {
  const dir = mkdtempSync(path.join(tmpdir(), 'pagw-payers-'));
  cpSync(defaultPayersDir, dir, { recursive: true });
  const file = path.join(dir, 'example-pbm.json');
  const payer = JSON.parse(readFileSync(file, 'utf8')) as { channels: { type: string }[] };
  payer.channels = payer.channels.filter((c) => c.type === 'x12');
  writeFileSync(file, JSON.stringify(payer));
  return dir;
}

describe(`pharmacy PA end to end (${testDatabaseKind()})`, () => {
  let clearinghouse: SimProcess;
  let pharmacy: PharmacySimProcess;
  let gw: TestGateway;
  let pharmacist: string;
  let pharmacySystem: string;
  const statusEvents: Record<string, unknown>[] = [];
  let n = 0;

  beforeAll(async () => {
    [clearinghouse, pharmacy] = await Promise.all([
      startClearinghouseSim({ slowMs: 200 }),
      startPharmacySimProcess({ callbackSecret: SEED_SECRET }),
    ]);
    gw = await startTestGateway({
      env: {
        CLEARINGHOUSE_ENDPOINTS: `pagw-sim=${clearinghouse.endpoint}`,
        PHARMACY_ENDPOINTS: `${SEED_SENDER}=${pharmacy.url}`,
        PAYERS_DIR: payersDirWithX12Pharmacy(),
        STEP_LEASE_MS: '20000',
      },
      secrets: [{ tenant: SEED_TENANT, name: SEED_SECRET_NAME, value: SEED_SECRET }],
    });
    pharmacist = (
      await createApiToken(gw.gateway.db.pool, {
        tenant: SEED_TENANT,
        roles: ['pharmacist'],
        userId: 'rph.jones@mainstreet.example.org',
        at: new Date(),
      })
    ).token;
    pharmacySystem = (
      await createApiToken(gw.gateway.db.pool, {
        tenant: SEED_TENANT,
        roles: ['pharmacy'],
        label: 'pioneerrx-demo',
        at: new Date(),
      })
    ).token;
    await gw.gateway.eventBus.subscribe({
      group: `test-pharmacy-status-${process.pid}`,
      topics: ['pa.status.v1'],
      handle: async (message: IncomingMessage) => {
        statusEvents.push(JSON.parse(message.value.toString('utf8')) as Record<string, unknown>);
      },
    });
  });
  afterAll(async () => {
    await gw?.stop();
    await Promise.all([clearinghouse?.stop(), pharmacy?.stop()]);
  });

  const as = (token: string) => ({ authorization: `Bearer ${token}`, 'content-type': 'application/json' });
  const post = (body: string, headers: Record<string, string>) =>
    fetch(`${gw.gateway.url}/webhooks/pharmacy/pa-flag`, { method: 'POST', headers, body });
  const signedFlag = (overrides: Record<string, unknown>) => {
    const body = JSON.stringify(seedFlag(overrides));
    return post(body, signedHeaders(body));
  };
  // biome-ignore lint/suspicious/noExplicitAny: write-backs as the pharmacy system received them
  const writeBack = (requestId: string, status: string): Promise<any> =>
    waitFor(
      async () =>
        (await pharmacy.callbacks()).find((c) => c.body.requestId === requestId && c.body.status === status),
      { timeoutMs: 90_000, what: `${status} write-back of ${requestId}` },
    );
  async function queueItem(caseId: string) {
    const queue = await readJson(await fetch(`${gw.gateway.url}/review/queue`, { headers: as(pharmacist) }));
    return queue.items.find((item: { id: string }) => item.id === caseId);
  }

  it('seed flag → draft with checklist → pharmacist approves → 278 → decision written back and published', async () => {
    const accepted = await signedFlag({});
    expect(accepted.status).toBe(202);
    const { requestId } = await readJson(accepted);
    const location = accepted.headers.get('location')!;

    // The pharmacy re-sends the same flag (its own retry): the same request, nothing new.
    const again = await signedFlag({});
    expect(again.status).toBe(200);
    expect(await readJson(again)).toMatchObject({ duplicate: true, requestId });

    const draftReady = await writeBack(requestId, 'draft_ready');
    expect(draftReady.verified).toBe(true);
    const caseId: string = draftReady.body.caseId;
    expect(draftReady.body).toMatchObject({
      schema: 'pharmacy-writeback.v1.0',
      sender: SEED_SENDER,
      prescriptionId: 'RX-2026-0001',
      patientId: 'pt-1001',
      checklist: {
        criteriaId: 'adalimumab-rheumatoid-arthritis',
        summary: { met: 4, notMet: 0, unknown: 0 },
      },
    });
    expect(
      draftReady.body.checklist.items.map((i: { id: string; status: string }) => [i.id, i.status]),
    ).toEqual([
      ['diagnosis', 'met'],
      ['prior-conventional-dmard', 'met'],
      ['tb-screening', 'met'],
      ['prescriber-specialty', 'met'],
    ]);

    // The webhook's Location tells the pharmacy system where its flag stands (its own token, role pharmacy).
    expect(
      await readJson(await fetch(`${gw.gateway.url}${location}`, { headers: as(pharmacySystem) })),
    ).toMatchObject({
      requestId,
      status: 'drafted',
      caseId,
      checklist: { criteriaId: 'adalimumab-rheumatoid-arthritis', met: 4, notMet: 0, unknown: 0 },
    });

    // The pharmacist's queue: a pharmacist's gate, the checklist, the binding to repeat.
    const item = await queueItem(caseId);
    expect(item.gate).toMatchObject({
      requiredRole: 'pharmacist',
      policy: { id: 'pharmacy:pharmacist-sign-off' },
    });
    expect(item.checklist.summary).toEqual({ met: 4, notMet: 0, unknown: 0 });
    expect(item.canDecide).toBe(true);
    const request = (
      await readJson(await fetch(`${gw.gateway.url}/cases/${caseId}`, { headers: as(pharmacist) }))
    ).request;
    expect(request.coverage).toMatchObject({
      payerId: '610014',
      memberId: 'ZZC123456701',
      groupNumber: 'GRP555123',
      pharmacyBenefit: { bin: '610014', pcn: 'ZZZGROUP', group: 'GRP555123', cardholderId: 'ZZC123456701' },
    });
    expect(request.serviceLines[0]).toMatchObject({
      code: { code: '00074043361' },
      quantity: { value: 2 },
      prescription: { id: 'RX-2026-0001', daysSupply: 28, refills: 5 },
    });
    expect(request.diagnoses.map((d: { code: { code: string } }) => d.code.code)).toEqual([
      'M05.70',
      'L40.54',
    ]);

    // The pharmacy system's callback is down for the next two deliveries: the write-back is retried, not lost.
    await pharmacy.failCallbacks(2, 503);
    const decided = await fetch(`${gw.gateway.url}/cases/${caseId}/review`, {
      method: 'POST',
      headers: as(pharmacist),
      body: JSON.stringify({ action: 'approve', ...item.mustRepeat }),
    });
    expect(decided.status).toBe(200);

    const submitted = await writeBack(requestId, 'submitted');
    expect(submitted.body.transactionId).toBe(traceNumberFor(caseId));
    const approved = await writeBack(requestId, 'approved');
    expect(approved.body).toMatchObject({
      caseId,
      transactionId: traceNumberFor(caseId),
      payer: { id: 'example-pbm', channel: 'x12' },
      certificationNumber: expect.stringMatching(/^SIMCERT/),
    });
    expect(approved.verified).toBe(true);

    // The payer received exactly one 278 for the case, for the NDC and the cardholder.
    const sent = (await clearinghouse.received()).filter(
      (r) => r.kind === '278-request' && r.traceNumber === traceNumberFor(caseId),
    );
    expect(sent).toHaveLength(1);
    expect(sent[0]).toMatchObject({ memberId: 'ZZC123456701', serviceCodes: ['00074043361'] });

    // Published on pa.status.v1 too, as status.v1.1 with the pharmacy part (no patient identifier).
    const published = await waitFor(
      () =>
        statusEvents.find(
          (e) =>
            e.caseId === caseId &&
            (e.pharmacy as { writeBack?: string } | undefined)?.writeBack === 'approved',
        ),
      { timeoutMs: 60_000, what: 'approved status event' },
    );
    expect(published).toMatchObject({
      schema: 'status.v1.1',
      status: { state: 'decided', outcome: 'approved' },
      pharmacy: {
        sender: SEED_SENDER,
        prescriptionId: 'RX-2026-0001',
        requestId,
        transactionId: traceNumberFor(caseId),
      },
    });
    expect(published).not.toHaveProperty('patient');
    // Every write-back of the case once, in case-version order.
    const forCase = (await pharmacy.callbacks()).filter((c) => c.body.caseId === caseId);
    expect(forCase.map((c) => c.body.status)).toEqual(['draft_ready', 'submitted', 'approved']);
    expect(forCase.map((c) => c.body.caseVersion)).toEqual(
      [...forCase.map((c) => c.body.caseVersion as number)].sort((a, b) => a - b),
    );
    const audit = await gw.gateway.db.pool.query<{ actor: string }>(
      "SELECT actor FROM audit_log WHERE case_id = $1 AND action = 'case.submitted'",
      [caseId],
    );
    expect(audit.rows[0]?.actor).toBe('user:rph.jones@mainstreet.example.org');
  });

  it('a bad signature (401), a replay (403) and a malformed flag (422) each get their answer and lose nothing', async () => {
    const pool = gw.gateway.db.pool;
    const before = await countRows(pool, 'inbound_messages', "format = 'pharmacy' AND outcome = 'rejected'");
    const requestsBefore = await countRows(pool, 'pharmacy_requests');

    const forged = JSON.stringify(seedFlag({ prescription_id: 'RX-E2E-FORGED' }));
    const bad = await post(forged, signedHeaders(forged, { secret: 'wrong-secret' }));
    expect(bad.status).toBe(401);

    const old = JSON.stringify(seedFlag({ prescription_id: 'RX-E2E-OLD' }, new Date(Date.now() - 3_600_000)));
    const replay = await post(old, signedHeaders(old));
    expect(replay.status).toBe(403);

    const malformed = JSON.stringify(seedFlag({ prescription_id: 'RX-E2E-BAD', drug_ndc: 'not-an-ndc' }));
    const refused = await post(malformed, signedHeaders(malformed));
    expect(refused.status).toBe(422);
    expect((await readJson(refused)).issue[0].expression).toEqual(['$.drug_ndc']);

    expect(await countRows(pool, 'inbound_messages', "format = 'pharmacy' AND outcome = 'rejected'")).toBe(
      before + 3,
    );
    const kept = await pool.query<{ message_key: string; tenant_id: string }>(
      "SELECT message_key, tenant_id FROM inbound_messages WHERE format = 'pharmacy' AND outcome = 'rejected' ORDER BY received_at DESC LIMIT 3",
    );
    // Sealed at rest; the audited read gives each refused flag's exact bytes back.
    const opened = await withTransaction(pool, async (tx) => {
      const out: string[] = [];
      for (const r of kept.rows)
        out.push(
          (await readInboundRaw(
            tx,
            gw.gateway.vault.phi,
            { tenant: r.tenant_id, reader: 'system:test' },
            r.message_key,
          ))!.toString('utf8'),
        );
      return out;
    });
    expect(opened.sort()).toEqual([forged, old, malformed].sort());
    expect(await countRows(pool, 'pharmacy_requests')).toBe(requestsBefore);
    for (const action of ['webhook.signature_invalid', 'webhook.replay_refused', 'inbound.rejected'])
      expect(
        await countRows(pool, 'audit_log', 'action = $1 AND tenant_id = $2', [action, SEED_TENANT]),
      ).toBeGreaterThan(0);
  });

  it('a flag the pharmacy record cannot complete is written back as needs_info, no case made up', async () => {
    n++;
    const res = await signedFlag({ prescription_id: `RX-E2E-NOCARD-${n}`, patient_id: 'pt-1003' });
    expect(res.status).toBe(202);
    const { requestId } = await readJson(res);
    const needsInfo = await writeBack(requestId, 'needs_info');
    expect(needsInfo.body.missing).toEqual([
      { location: 'coverage.cardholderId', message: expect.any(String) },
    ]);
    const { rows } = await gw.gateway.db.pool.query<{ status: string; case_id: string | null }>(
      'SELECT status, case_id FROM pharmacy_requests WHERE id = $1',
      [requestId],
    );
    expect(rows[0]).toEqual({ status: 'needs_info', case_id: null });
    const status = await readJson(
      await fetch(`${gw.gateway.url}${res.headers.get('location')}`, { headers: as(pharmacySystem) }),
    );
    expect(status).toMatchObject({
      status: 'needs_info',
      caseId: null,
      missing: [{ location: 'coverage.cardholderId' }],
    });
  });

  it('unknown criteria become a pharmacist task that blocks sign-off until evidence is supplied or they are overridden', async () => {
    const pool = gw.gateway.db.pool;
    const review = (caseId: string, body: Record<string, unknown>) =>
      fetch(`${gw.gateway.url}/cases/${caseId}/review`, {
        method: 'POST',
        headers: as(pharmacist),
        body: JSON.stringify(body),
      });
    const taskOf = async (caseId: string) =>
      (
        await readJson(
          await fetch(`${gw.gateway.url}/tasks?caseId=${caseId}&kind=criteria_unknown`, {
            headers: as(pharmacist),
          }),
        )
      ).items[0];
    const resolve = (task: { id: string; version: number }, body: Record<string, unknown>) =>
      fetch(`${gw.gateway.url}/tasks/${task.id}/resolve`, {
        method: 'POST',
        headers: as(pharmacist),
        body: JSON.stringify({ taskVersion: task.version, ...body }),
      });
    // pt-1002: plaque psoriasis, no conventional systemic drug and no TB screening on file, a rheumatologist.
    const draft = async (rx: string) => {
      const res = await signedFlag({
        prescription_id: rx,
        patient_id: 'pt-1002',
        diagnosis_codes: ['L40.0'],
      });
      expect(res.status).toBe(202);
      const { requestId } = await readJson(res);
      const ready = await writeBack(requestId, 'draft_ready');
      expect(ready.body.checklist.summary).toEqual({ met: 1, notMet: 1, unknown: 2 });
      const caseId: string = ready.body.caseId;
      const task = await waitFor(() => taskOf(caseId), { what: 'criteria_unknown task' });
      return { requestId, caseId, task };
    };

    const first = await draft('RX-E2E-UNKNOWN-1');
    expect(first.task).toMatchObject({
      kind: 'criteria_unknown',
      ownerRole: 'pharmacist',
      state: 'open',
      reasonCodes: ['CRITERIA_UNKNOWN', 'CRITERION:prior-conventional-systemic', 'CRITERION:tb-screening'],
    });
    expect(first.task.needed).toEqual([
      {
        type: 'criterion',
        code: 'prior-conventional-systemic',
        system: 'criteria:adalimumab-plaque-psoriasis',
        label: expect.stringMatching(/conventional systemic therapy/),
        source: expect.any(String),
      },
      {
        type: 'criterion',
        code: 'tb-screening',
        system: 'criteria:adalimumab-plaque-psoriasis',
        label: expect.stringMatching(/tuberculosis screening/),
        source: expect.any(String),
      },
    ]);
    // No approval over unknown criteria: refused, nothing sent.
    const item = await queueItem(first.caseId);
    const blocked = await review(first.caseId, { action: 'approve', ...item.mustRepeat });
    expect(blocked.status).toBe(409);
    expect((await readJson(blocked)).issue[0].details.coding[0].code).toBe('PAGW_REVIEW_CRITERIA_UNRESOLVED');

    // Evidence for one criterion only is not an answer; for both, the checklist records it and the task closes.
    const partial = await resolve(first.task, {
      action: 'supply_evidence',
      evidence: [{ criterionId: 'tb-screening', status: 'met', source: 'DocumentReference/outside-qft-1' }],
    });
    expect(partial.status).toBe(422);
    const answered = await resolve(first.task, {
      action: 'supply_evidence',
      evidence: [
        {
          criterionId: 'prior-conventional-systemic',
          status: 'met',
          source: 'DocumentReference/outside-mtx-1',
          date: '2026-06-01',
        },
        {
          criterionId: 'tb-screening',
          status: 'met',
          source: 'DocumentReference/outside-qft-1',
          value: 'negative',
        },
      ],
    });
    expect(answered.status).toBe(200);
    expect((await readJson(answered)).task).toMatchObject({ state: 'resolved' });
    const request = (
      await readJson(await fetch(`${gw.gateway.url}/cases/${first.caseId}`, { headers: as(pharmacist) }))
    ).request;
    expect(request.clinicalCriteria.summary).toEqual({ met: 3, notMet: 1, unknown: 0 });
    expect(
      request.clinicalCriteria.items.find((i: { id: string }) => i.id === 'tb-screening').evidence,
    ).toContainEqual({ source: 'DocumentReference/outside-qft-1', value: 'negative' });
    const approved = await review(first.caseId, {
      action: 'approve',
      ...(await queueItem(first.caseId)).mustRepeat,
    });
    expect(approved.status).toBe(200);
    await writeBack(first.requestId, 'submitted');

    // The other way out: the pharmacist overrides, giving a reason (kept in the audit, not on the task event).
    const second = await draft('RX-E2E-UNKNOWN-2');
    const overridden = await resolve(second.task, {
      action: 'override_criteria',
      note: 'trial and TB screening confirmed by phone with the prescriber',
    });
    expect(overridden.status).toBe(200);
    expect(
      await countRows(pool, 'audit_log', "action = 'case.criteria_overridden' AND case_id = $1", [
        second.caseId,
      ]),
    ).toBe(1);
    const signed = await review(second.caseId, {
      action: 'approve',
      ...(await queueItem(second.caseId)).mustRepeat,
    });
    expect(signed.status).toBe(200);
    await writeBack(second.requestId, 'submitted');
  });

  it('an unmet criterion is shown to the pharmacist; approved anyway, the payer denies and the denial is written back', async () => {
    const res = await signedFlag({
      prescription_id: 'RX-E2E-DENY',
      patient_id: 'pt-1004',
      diagnosis_codes: ['M05.79'],
    });
    expect(res.status).toBe(202);
    const { requestId } = await readJson(res);
    const draftReady = await writeBack(requestId, 'draft_ready');
    expect(draftReady.body.checklist.summary).toEqual({ met: 3, notMet: 1, unknown: 0 });
    const caseId: string = draftReady.body.caseId;
    const item = await queueItem(caseId);
    expect(item.gate).toMatchObject({
      severity: 'high',
      facts: { draft: { notMet: ['tb-screening'], unknown: [] } },
    });
    const decided = await fetch(`${gw.gateway.url}/cases/${caseId}/review`, {
      method: 'POST',
      headers: as(pharmacist),
      body: JSON.stringify({ action: 'approve', ...item.mustRepeat }),
    });
    expect(decided.status).toBe(200);
    const denied = await writeBack(requestId, 'denied');
    expect(denied.body.reasons.length).toBeGreaterThan(0);
    expect(denied.body).not.toHaveProperty('certificationNumber');
  });
});
