/**
 * POST /orders/hl7v2 and /orders/fhir through buildApp on a real listening port, with real API tokens, on a
 * real database: 201 with case ids, 200 with the same ids for a duplicate, an OperationOutcome naming each
 * problem for a refused order, and the usual auth answers.
 */
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildApp } from '../../src/api/app.ts';
import { ManualClock } from '../../src/clock.ts';
import { inboundOrdersRouter } from '../../src/inbound/index.ts';
import { createLogger } from '../../src/log/logger.ts';
import { createApiToken, type Database } from '../../src/store/index.ts';
import { readFixture } from '../conformance/mapping-cases.ts';
import { openTestDatabase, testDatabaseKind } from '../helpers/database.ts';
import { readJson } from '../helpers/http.ts';
import { countRows } from '../helpers/store.ts';
import { openedInboundMessages, testVault } from '../helpers/vault.ts';

describe(`HTTP order intake on ${testDatabaseKind()}`, () => {
  let db: Database;
  let server: Server;
  let base: string;
  let ehr: string;
  let reviewer: string;
  const clock = new ManualClock('2026-03-03T08:00:00Z');

  beforeAll(async () => {
    db = await openTestDatabase();
    const logger = createLogger({ level: 'silent' });
    const app = buildApp({
      db,
      clock,
      logger,
      routers: [
        inboundOrdersRouter(
          { db, clock, logger, deadLetterTopic: 'pa.deadletter.v1', phi: testVault(db).phi },
          { limit: '64kb' },
        ),
      ],
    });
    server = await new Promise<Server>((resolve) => {
      const s = app.listen(0, '127.0.0.1', () => resolve(s));
    });
    base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    ehr = (
      await createApiToken(db.pool, {
        tenant: 'clinic-h',
        roles: ['ehr'],
        label: 'epic-prod',
        at: clock.now(),
      })
    ).token;
    reviewer = (await createApiToken(db.pool, { tenant: 'clinic-h', roles: ['reviewer'], at: clock.now() }))
      .token;
  });
  afterAll(async () => {
    await new Promise((resolve) => server?.close(resolve));
    await db?.close();
  });

  const post = (path: string, body: Buffer | string, contentType: string, token: string | null = ehr) =>
    fetch(`${base}${path}`, {
      method: 'POST',
      body: typeof body === 'string' ? body : new Uint8Array(body),
      headers: { 'content-type': contentType, ...(token ? { authorization: `Bearer ${token}` } : {}) },
    });

  it('accepts an HL7 v2 order: 201 with its case ids and a Location; the same again: 200 with the same ids', async () => {
    const message = readFixture('hl7v2/fhirconverter_MDHHS-OML-O21-2.hl7');
    const first = await post('/orders/hl7v2', message, 'x-application/hl7-v2+er7');
    expect(first.status).toBe(201);
    const body = await readJson(first);
    expect(body).toMatchObject({
      outcome: 'accepted',
      duplicate: false,
      format: 'hl7v2',
      messageId: 'TC14IG030107AA',
    });
    expect(body.caseIds).toHaveLength(2);
    expect(body.warnings).toEqual([
      {
        location: 'ORC-12',
        message: 'the identifier is marked NPI but fails the NPI check digit: kept as an identifier only',
      },
    ]);
    expect(first.headers.get('location')).toBe(`/cases/${body.caseIds[0]}`);
    const again = await post('/orders/hl7v2', message, 'text/plain');
    expect(again.status).toBe(200);
    expect(await readJson(again)).toMatchObject({ duplicate: true, caseIds: body.caseIds });
    const read = await fetch(`${base}/cases/${body.caseIds[1]}`, {
      headers: { authorization: `Bearer ${ehr}` },
    });
    expect((await readJson(read)).state).toBe('validated');
  });

  it('refuses an unmappable order with 422 and an OperationOutcome listing each problem', async () => {
    const res = await post(
      '/orders/hl7v2',
      readFixture('hl7v2/fhirconverter_ORM-O01-06.hl7'),
      'x-application/hl7-v2+er7',
    );
    expect(res.status).toBe(422);
    expect(res.headers.get('content-type')).toContain('application/fhir+json');
    const outcome = await readJson(res);
    expect(outcome.resourceType).toBe('OperationOutcome');
    expect(outcome.issue).toEqual([
      expect.objectContaining({
        severity: 'error',
        code: 'invalid',
        expression: ['IN1'],
        details: expect.objectContaining({ text: 'IN1: no coverage (no IN1 segment)' }),
      }),
    ]);
    expect(await countRows(db.pool, 'outbox', `tenant_id = 'clinic-h' AND topic = 'pa.deadletter.v1'`)).toBe(
      1,
    );
    const again = await post(
      '/orders/hl7v2',
      readFixture('hl7v2/fhirconverter_ORM-O01-06.hl7'),
      'text/plain',
    );
    expect(again.status).toBe(422);
    expect(await countRows(db.pool, 'outbox', `tenant_id = 'clinic-h' AND topic = 'pa.deadletter.v1'`)).toBe(
      1,
    );
  });

  it('accepts FHIR JSON (a PAS request bundle): 201; a PAS response bundle: 422 naming the wrong payload', async () => {
    const ok = await post(
      '/orders/fhir',
      readFixture('pas/Bundle-SurgicalRequestBundleExample.json'),
      'application/fhir+json',
    );
    expect(ok.status).toBe(201);
    expect((await readJson(ok)).caseIds).toHaveLength(1);
    const refused = await post(
      '/orders/fhir',
      readFixture('pas/Bundle-ReferralAuthorizationResponseBundleExample.json'),
      'application/fhir+json',
    );
    expect(refused.status).toBe(422);
    const outcome = await readJson(refused);
    expect(outcome.issue[0].details.coding[0].code).toBe('PAGW_MAP_UNSUPPORTED_MESSAGE');
    expect(outcome.issue[0].details.text).toContain('a PAS response bundle');
  });

  it('names FHIR paths in the problems of a refused FHIR order', async () => {
    const res = await post(
      '/orders/fhir',
      readFixture('fhir/crd-DeviceRequest-example.json'),
      'application/fhir+json',
    );
    expect(res.status).toBe(422);
    const texts = (await readJson(res)).issue.map((i: { details: { text: string } }) => i.details.text);
    expect(texts).toContain(
      'DeviceRequest.code: no coding (neither codeCodeableConcept nor the type of the Device that codeReference points to)',
    );
  });

  it('answers 400 to bytes that are no message, 415 to JSON on the HL7 endpoint, 413 over the size limit', async () => {
    expect((await post('/orders/hl7v2', 'just some text', 'text/plain')).status).toBe(400);
    expect((await post('/orders/hl7v2', '{"resourceType":"Patient"}', 'application/json')).status).toBe(415);
    const huge = await post('/orders/hl7v2', Buffer.alloc(100 * 1024, 'A'), 'text/plain');
    expect(huge.status).toBe(413);
    expect((await readJson(huge)).issue[0].details.coding[0].code).toBe('PAGW_INBOUND_TOO_LARGE');
  });

  it('keeps the exact bytes of a FHIR order and dead-letters malformed JSON instead of dropping it', async () => {
    const broken = '{"resourceType": "Bundle", "entry": [';
    const res = await post('/orders/fhir', broken, 'application/fhir+json');
    expect(res.status).toBeGreaterThanOrEqual(400);
    expect(res.status).toBeLessThan(500);
    expect((await readJson(res)).resourceType).toBe('OperationOutcome');
    const stored = (await openedInboundMessages(db, 'clinic-h')).filter(
      (m) => Buffer.compare(m.raw, Buffer.from(broken)) === 0,
    );
    expect(stored).toHaveLength(1);
    expect(stored[0]!.outcome).not.toBe('accepted');
    expect(
      await countRows(db.pool, 'outbox', `topic = 'pa.deadletter.v1' AND value = $1`, [Buffer.from(broken)]),
    ).toBe(1);
  });

  it('needs a token with the ehr role', async () => {
    const message = readFixture('hl7v2/synthetic_ORM-O01_rxo-ndc.hl7');
    expect((await post('/orders/hl7v2', message, 'text/plain', null)).status).toBe(401);
    expect((await post('/orders/hl7v2', message, 'text/plain', 'pagw_not-a-token')).status).toBe(401);
    expect((await post('/orders/hl7v2', message, 'text/plain', reviewer)).status).toBe(403);
  });
});
