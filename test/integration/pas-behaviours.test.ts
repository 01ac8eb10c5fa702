/**
 * The PAS connector against every scripted behaviour of the simulated PAS payer (its own process): decisions,
 * partial approval, pended then decided by $inquire, payer refusals (ClaimResponse error, OperationOutcome),
 * SMART auth (RS384 and ES384, token cache, one refresh on 401, a bad assertion refused), 429 with Retry-After,
 * slow answers and a connection dropped after the payer took the request in (reconciled, never sent twice).
 */
import { randomUUID } from 'node:crypto';
import type { OperationOutcome, ParametersParameter } from '@medplum/fhirtypes';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildPasAttachmentParameters } from '../../connectors/pas/attachment.ts';
import { createPasConnector, pasPayerTarget } from '../../connectors/pas/connector.ts';
import { createSmartAuth } from '../../connectors/pas/smart-auth.ts';
import { createPasTransport } from '../../connectors/pas/transport.ts';
import { createX12Store, type X12Store } from '../../connectors/x12/store.ts';
import type { AuthorizationRequest } from '../../src/canonical/types.generated.ts';
import { systemClock } from '../../src/clock.ts';
import type { Database } from '../../src/store/index.ts';
import { traceNumberFor } from '../../src/workflow/case-workflow.ts';
import type { PayerCallContext } from '../../src/workflow/ports/payer-connector.ts';
import type { PasChannel } from '../../src/workflow/rules/types.generated.ts';
import { openTestDatabase } from '../helpers/database.ts';
import { sampleRequest } from '../helpers/fixtures.ts';
import {
  createPasClientKeys,
  PAS_CLIENT_ID,
  type PasClientKeys,
  pasChannelFor,
  pasPayerFor,
  startPasSimWithClient,
} from '../helpers/pas.ts';
import { testVault } from '../helpers/vault.ts';
import type { PasSimProcess } from '../sim/pas-payer/process.ts';

let db: Database;
let sim: PasSimProcess;
let keys: PasClientKeys;
let store: X12Store;
const sleeps: number[] = [];

beforeAll(async () => {
  keys = await createPasClientKeys('RS384');
  db = await openTestDatabase();
  sim = await startPasSimWithClient(keys, { slowMs: 3000 });
  store = createX12Store(db.pool, { phi: testVault(db).phi });
});
afterAll(async () => {
  await sim?.stop();
  await db?.close();
});

function connector() {
  return createPasConnector({
    store,
    clock: systemClock,
    sleep: async (ms) => {
      sleeps.push(ms);
      await new Promise((r) => setTimeout(r, Math.min(ms, 50)));
    },
  });
}

function context(overrides: Partial<PasChannel> = {}, k: PasClientKeys = keys): PayerCallContext {
  const caseId = randomUUID();
  return {
    tenant: 'clinic-a',
    caseId,
    traceNumber: traceNumberFor(caseId),
    payer: pasPayerTarget(pasPayerFor(pasChannelFor(sim, k, overrides))),
    attempt: 1,
    at: new Date(),
  };
}

function request(memberId: string, quantity = 6): AuthorizationRequest {
  const base = sampleRequest();
  return sampleRequest({
    coverage: { ...base.coverage, memberId },
    serviceLines: [{ ...base.serviceLines[0]!, quantity: { value: quantity, unit: 'UN' } }],
  });
}

const submitsOf = async (trace: string) =>
  (await sim.received()).filter((r) => r.kind === 'submit' && r.key?.endsWith(`|${trace}`));

describe('PAS connector: scripted payer behaviours', () => {
  it('approve: A1 with the authorization number and period', async () => {
    const outcome = await connector().submit(request('W1'), context());
    expect(outcome.kind).toBe('decided');
    if (outcome.kind !== 'decided') return;
    expect(outcome.decision).toMatchObject({ outcome: 'approved', reviewActionCode: 'A1', channel: 'pas' });
    expect(outcome.decision.certificationNumber).toMatch(/^SIMAUTH/);
    expect(outcome.decision.authorizedPeriod?.start).toBeDefined();
  });

  it('deny: A3 with the X12 886 reason', async () => {
    const outcome = await connector().submit(request('DENY1'), context());
    expect(outcome.kind === 'decided' && outcome.decision).toMatchObject({
      outcome: 'denied',
      reviewActionCode: 'A3',
      reasons: [{ system: 'https://codesystem.x12.org/external/886', code: 'AO' }],
    });
  });

  it('partial approval: A6 with fewer units than asked', async () => {
    const outcome = await connector().submit(request('PARTIAL1', 6), context());
    expect(outcome.kind === 'decided' && outcome.decision.outcome).toBe('modified');
    if (outcome.kind !== 'decided') return;
    expect(outcome.decision.lines[0]).toMatchObject({
      reviewActionCode: 'A6',
      authorizedQuantity: { value: 3 },
    });
  });

  it('pend then decide by inquire: A4 with the administration reference, then A1 at $inquire', async () => {
    const ctx = context();
    const c = connector();
    const pended = await c.submit(request('PEND1'), ctx);
    expect(pended.kind).toBe('pended');
    if (pended.kind === 'pended') expect(pended.decision.administrativeReference).toMatch(/^SIMPEND/);
    const later = await c.inquire(request('PEND1'), ctx);
    expect(later.kind === 'decided' && later.decision.outcome).toBe('approved');
    expect((await submitsOf(ctx.traceNumber)).filter((r) => r.accepted)).toHaveLength(1);
  });

  it('a ClaimResponse with outcome error is a rejection with X12 901 codes, element, path and follow-up', async () => {
    const outcome = await connector().submit(request('REJECT1'), context());
    expect(outcome.kind).toBe('rejected');
    if (outcome.kind !== 'rejected') return;
    expect(outcome.reasons).toContainEqual({
      system: 'https://codesystem.x12.org/005010/901',
      code: '72',
      element: '2010C-NM109',
      path: 'Coverage.subscriberId',
    });
    expect(outcome.reasons).toContainEqual({ system: 'https://codesystem.x12.org/005010/889', code: 'C' });
    expect(outcome.resubmitAllowed).toBe(true);
  });

  it('an OperationOutcome (HTTP 422) is a rejection naming each error issue and its expression', async () => {
    const outcome = await connector().submit(request('OO1'), context());
    expect(outcome.kind).toBe('rejected');
    if (outcome.kind !== 'rejected') return;
    expect(outcome.reasons).toEqual([
      expect.objectContaining({ code: 'business-rule', path: 'Coverage.subscriberId' }),
    ]);
  });

  it('429 with Retry-After: waits what the payer asked, then submits once', async () => {
    sleeps.length = 0;
    const ctx = context();
    const outcome = await connector().submit(request('RATE1'), ctx);
    expect(outcome.kind === 'decided' && outcome.decision.outcome).toBe('approved');
    expect(sleeps).toContain(1000);
    const submits = await submitsOf(ctx.traceNumber);
    expect(submits.map((s) => s.disposition)).toEqual(['http-429', 'answered']);
  });

  it('a slow answer past our timeout: reconciled with $inquire, never submitted twice', async () => {
    const ctx = context({ timeoutMs: 500 });
    const outcome = await connector().submit(request('SLOW1'), ctx);
    expect(outcome.kind === 'decided' && outcome.decision.outcome).toBe('approved');
    expect((await submitsOf(ctx.traceNumber)).filter((r) => r.accepted)).toHaveLength(1);
    const inquiries = (await sim.received()).filter(
      (r) => r.kind === 'inquire' && r.key?.endsWith(ctx.traceNumber),
    );
    expect(inquiries.length).toBeGreaterThanOrEqual(1);
  });

  it('a connection dropped after the payer took the request in: reconciled, one live submission', async () => {
    const ctx = context();
    const outcome = await connector().submit(request('DROP1'), ctx);
    expect(outcome.kind === 'decided' && outcome.decision.outcome).toBe('approved');
    expect((await submitsOf(ctx.traceNumber)).filter((r) => r.accepted)).toHaveLength(1);
    const log = await store.forCase(ctx.caseId);
    expect(log.map((r) => `${r.purpose}:${r.status}`)).toEqual(['submit:answered', 'reconcile:answered']);
  });

  it('an unavailable payer (503) is a retriable error after its attempts, nothing taken in', async () => {
    const ctx = context();
    await expect(connector().submit(request('UNAVAIL1'), ctx)).rejects.toMatchObject({
      code: 'PAGW_PAS_PAYER_ERROR',
      retriable: true,
    });
    expect((await submitsOf(ctx.traceNumber)).filter((r) => r.accepted)).toHaveLength(0);
  });
});

describe('PAS connector: SMART Backend Services', () => {
  const tokens = async () => (await sim.received()).filter((r) => r.kind === 'token');

  it('caches the token: two calls, one token request', async () => {
    const c = connector();
    const before = (await tokens()).length;
    await c.submit(request('W2'), context());
    await c.submit(request('W3'), context());
    expect((await tokens()).length - before).toBe(1);
  });

  it('a 401 on an API call gets one fresh token and one retry', async () => {
    const c = connector();
    await c.submit(request('W4'), context());
    await sim.expireTokens();
    const before = (await tokens()).length;
    const outcome = await c.submit(request('W5'), context());
    expect(outcome.kind).toBe('decided');
    expect((await tokens()).length - before).toBe(1);
  });

  it('ES384 keys work the same way', async () => {
    const es = await createPasClientKeys('ES384');
    await sim.registerClient('pagw-es-client', es.jwks);
    const outcome = await connector().submit(request('W6'), context({ clientId: 'pagw-es-client' }, es));
    expect(outcome.kind).toBe('decided');
  });

  it('a client assertion signed with a key the payer does not hold: 401 invalid_client, PAGW_PAS_AUTH_FAILED, nothing sent', async () => {
    const stranger = await createPasClientKeys('RS384');
    const ctx = context({ privateKeyRef: stranger.keyRef });
    await expect(connector().submit(request('W7'), ctx)).rejects.toMatchObject({
      code: 'PAGW_PAS_AUTH_FAILED',
      retriable: false,
    });
    const refused = (await tokens()).filter((t) => t.disposition.startsWith('refused: invalid_client'));
    expect(refused.length).toBeGreaterThan(0);
    expect(await submitsOf(ctx.traceNumber)).toHaveLength(0);
  });

  it('a missing key file is PAGW_PAS_KEY_UNAVAILABLE', async () => {
    await expect(
      connector().submit(request('W8'), context({ privateKeyRef: 'file:/nonexistent/pas.pem' })),
    ).rejects.toMatchObject({ code: 'PAGW_PAS_KEY_UNAVAILABLE' });
  });
});

describe('PAS connector: claim updates and additional information', () => {
  const pdf = Buffer.from('%PDF-1.4\n%%EOF\n', 'latin1');
  const updatesOf = async (trace: string) =>
    (await sim.received()).filter((r) => r.kind === 'update' && r.updates?.endsWith(`|${trace}`));

  it('an update is answered like a submission; the next one relates to it', async () => {
    const ctx = context();
    const c = connector();
    expect((await c.submit(request('PEND1', 2), ctx)).kind).toBe('pended');
    const first = await c.update!(request('PEND1', 4), ctx);
    expect(first.kind).toBe('pended');
    const second = await c.update!(request('W1', 5), ctx);
    expect(second.kind === 'decided' && second.decision.outcome).toBe('approved');
    const received = await sim.received();
    const updates = received.filter((r) => r.kind === 'update' && r.key?.includes(ctx.traceNumber));
    expect(updates.map((u) => [u.key?.split('|')[1], u.updates?.split('|')[1], u.disposition])).toEqual([
      [`${ctx.traceNumber}-U1`, ctx.traceNumber, 'revised'],
      [`${ctx.traceNumber}-U2`, `${ctx.traceNumber}-U1`, 'revised'],
    ]);
    expect(updates[0]!.changes).toEqual([{ sequence: 1, change: 'changed', cancelled: false }]);
  });

  it('the payer refuses an update of a request it no longer holds (cancelled): rejected, not-found', async () => {
    const ctx = context();
    const c = connector();
    await c.submit(request('PEND2'), ctx);
    await c.cancel(request('PEND2'), ctx);
    const outcome = await c.update!(request('PEND2', 9), ctx);
    expect(outcome).toMatchObject({ kind: 'rejected', reasons: [{ code: 'not-found' }] });
    expect(await updatesOf(ctx.traceNumber)).toEqual([
      expect.objectContaining({ accepted: false, disposition: 'update of an unknown request' }),
    ]);
  });

  it('nothing answered to update: PAGW_PAS_NOTHING_TO_UPDATE, nothing sent', async () => {
    const ctx = context();
    await expect(connector().update!(request('W2'), ctx)).rejects.toMatchObject({
      code: 'PAGW_PAS_NOTHING_TO_UPDATE',
      retriable: false,
    });
    expect(await updatesOf(ctx.traceNumber)).toEqual([]);
  });

  it('documents asked for go by $submit-attachment under the tracking number; an unknown one is refused', async () => {
    const ctx = context();
    const c = connector();
    const pended = await c.submit(request('DOCS1'), ctx);
    expect(pended.kind).toBe('pended');
    const asked = pended.kind === 'pended' ? pended.decision.documentsRequested?.[0] : undefined;
    expect(asked).toMatchObject({
      type: { code: '09' },
      attachmentControlNumber: expect.stringMatching(/^ACN/),
    });
    const doc = { documentId: randomUUID(), reportType: '09', contentType: 'application/pdf', content: pdf };
    expect(
      await c.sendAttachments!(
        request('DOCS1'),
        [{ ...doc, controlNumber: asked!.attachmentControlNumber! }],
        ctx,
      ),
    ).toEqual({ sent: 1 });
    const decided = await c.inquire(request('DOCS1'), ctx);
    expect(decided.kind === 'decided' && decided.decision.outcome).toBe('approved');
    await expect(
      c.sendAttachments!(request('DOCS1'), [{ ...doc, controlNumber: 'ACN-UNKNOWN' }], context()),
    ).rejects.toMatchObject({ code: 'PAGW_PAS_ATTACHMENT_REFUSED', retriable: false });
  });

  it("a payer's own attachment endpoint (attachmentUrl) takes the documents; Final is false until the last", async () => {
    const ctx = context({ attachmentUrl: `${sim.fhirBase}/cdex/$submit-attachment` });
    const c = connector();
    const pended = await c.submit(request('DOCS2'), ctx);
    const asked = pended.kind === 'pended' ? pended.decision.documentsRequested?.[0] : undefined;
    const tracking = asked!.attachmentControlNumber!;
    const doc = (n: number) => ({
      documentId: randomUUID(),
      controlNumber: tracking,
      reportType: '09',
      contentType: 'application/pdf',
      content: Buffer.from(`%PDF-1.4 ${n}\n%%EOF\n`, 'latin1'),
    });
    expect(await c.sendAttachments!(request('DOCS2'), [doc(1), doc(2)], ctx)).toEqual({ sent: 2 });
    const taken = (await sim.received()).filter(
      (r) => r.kind === 'attachment' && r.attachment?.trackingId === tracking,
    );
    expect(taken.map((r) => [r.accepted, r.attachment?.path, r.attachment?.final])).toEqual([
      [true, '/fhir/cdex/$submit-attachment', false],
      [true, '/fhir/cdex/$submit-attachment', true],
    ]);
  });

  it('the payer takes only the published CDex 2.1.0 names: the same request in lowerCamelCase is 400, naming TrackingId', async () => {
    const ctx = context();
    const pended = await connector().submit(request('DOCS3'), ctx);
    const asked = pended.kind === 'pended' ? pended.decision.documentsRequested?.[0] : undefined;
    const parameters = buildPasAttachmentParameters(
      request('DOCS3'),
      { tenant: ctx.tenant, caseId: ctx.caseId, at: new Date(), payer: { id: ctx.payer.id } },
      {
        documentId: randomUUID(),
        controlNumber: asked!.attachmentControlNumber!,
        reportType: '09',
        contentType: 'application/pdf',
        content: pdf,
      },
      { lines: [1], final: true },
    );
    const camel = (list: ParametersParameter[]): ParametersParameter[] =>
      list.map((p) => ({
        ...p,
        name: p.name.charAt(0).toLowerCase() + p.name.slice(1),
        ...(p.part ? { part: camel(p.part) } : {}),
      }));
    const transport = createPasTransport({ auth: createSmartAuth({ clock: systemClock }) });
    const client = {
      tokenUrl: sim.tokenUrl,
      clientId: PAS_CLIENT_ID,
      scopes: 'system/Claim.c',
      keyRef: keys.keyRef,
      algorithm: 'RS384' as const,
      keyId: keys.keyId,
      tenant: ctx.tenant,
    };
    const url = `${sim.fhirBase}/$submit-attachment`;
    const refused = await transport.post(
      client,
      url,
      { ...parameters, parameter: camel(parameters.parameter!) },
      5000,
    );
    expect(refused.status).toBe(400);
    const outcome = refused.body as OperationOutcome;
    expect(outcome.resourceType).toBe('OperationOutcome');
    expect(outcome.issue).toContainEqual(
      expect.objectContaining({
        code: 'required',
        details: { text: "parameter 'TrackingId' is missing (1..1)" },
        expression: ["Parameters.parameter.where(name = 'TrackingId')"],
      }),
    );
    expect(outcome.issue.map((i) => i.details?.text)).toEqual(
      expect.arrayContaining([
        expect.stringContaining("unknown parameter 'trackingId'"),
        "parameter 'AttachTo' is missing (1..1)",
        "parameter 'MemberId' is missing (1..1)",
        "parameter 'Attachment' is missing (1..*)",
      ]),
    );
    // The same request with the published names is taken in.
    expect((await transport.post(client, url, parameters, 5000)).status).toBe(200);
  });
});
