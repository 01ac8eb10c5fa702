/**
 * What the HTTP API does with requests before any handler runs (issue #10 item 9): a cursor that is not
 * one the API returned is a 400 and its text is never logged; authentication comes before any body is
 * parsed (401 first, whatever the body); HL7 v2 intake reads only HL7 or text media types, FHIR intake only
 * JSON ones (415 otherwise).
 */
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Writable } from 'node:stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildApp } from '../../src/api/app.ts';
import { reviewRouter } from '../../src/api/review-routes.ts';
import { ManualClock } from '../../src/clock.ts';
import { inboundOrdersRouter } from '../../src/inbound/index.ts';
import { createLogger } from '../../src/log/logger.ts';
import { createApiToken, type Database } from '../../src/store/index.ts';
import { readFixture } from '../conformance/mapping-cases.ts';
import { openTestDatabase, testDatabaseKind } from '../helpers/database.ts';
import { readJson } from '../helpers/http.ts';
import { countRows } from '../helpers/store.ts';
import { testVault } from '../helpers/vault.ts';

describe(`HTTP request hygiene on ${testDatabaseKind()}`, () => {
  let db: Database;
  let server: Server;
  let base: string;
  let ehr: string;
  const logLines: string[] = [];
  const clock = new ManualClock('2026-03-03T08:00:00Z');

  beforeAll(async () => {
    db = await openTestDatabase();
    const destination = new Writable({
      write(chunk, _encoding, done) {
        logLines.push(String(chunk));
        done();
      },
    });
    const logger = createLogger({ level: 'debug', destination });
    const app = buildApp({
      db,
      clock,
      logger,
      routers: [
        inboundOrdersRouter({
          db,
          clock,
          logger,
          deadLetterTopic: 'pa.deadletter.v1',
          phi: testVault(db).phi,
        }),
        reviewRouter({ db, clock }),
      ],
    });
    server = await new Promise<Server>((resolve) => {
      const s = app.listen(0, '127.0.0.1', () => resolve(s));
    });
    base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    ehr = (
      await createApiToken(db.pool, { tenant: 'clinic-q', roles: ['ehr'], label: 'ehr', at: clock.now() })
    ).token;
  });
  afterAll(async () => {
    await new Promise((resolve) => server?.close(resolve));
    await db?.close();
  });

  const cursorOf = (value: unknown) => Buffer.from(JSON.stringify(value)).toString('base64url');

  it('answers 400 to a cursor whose id is not a uuid, and never logs the text it was given', async () => {
    const marker = 'NOT-A-UUID-marker-7d1f';
    for (const cursor of [
      cursorOf(['2026-03-01T10:00:00.000Z', marker]),
      cursorOf(['2026-03-01T10:00:00.000Z', `${marker}'; --`]),
      cursorOf(['not a date', '00000000-0000-4000-8000-000000000000']),
      cursorOf({ updatedAt: '2026-03-01T10:00:00.000Z' }),
      marker,
    ]) {
      const res = await fetch(`${base}/cases?cursor=${encodeURIComponent(cursor)}`, {
        headers: { authorization: `Bearer ${ehr}` },
      });
      expect(res.status, cursor).toBe(400);
      const body = await readJson(res);
      expect(body.issue[0].details.coding[0].code).toBe('PAGW_HTTP_BAD_REQUEST');
      expect(JSON.stringify(body)).not.toContain(marker);
    }
    expect(logLines.join('')).not.toContain(marker);
    // A cursor the API itself returned still works.
    const page = await fetch(`${base}/cases?limit=1`, { headers: { authorization: `Bearer ${ehr}` } });
    expect(page.status).toBe(200);
  });

  it('authenticates before it reads a body: 401 for a request without a token whatever its body', async () => {
    const bad = await fetch(`${base}/cases/00000000-0000-4000-8000-000000000000/review`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: '{ this is not json',
    });
    expect(bad.status).toBe(401);
    // A body over the JSON limit is not read either: the token is checked first.
    const huge = await fetch(`${base}/cases/00000000-0000-4000-8000-000000000000/review`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: 'Bearer unknown-token' },
      body: `{"x":"${'a'.repeat(6 * 1024 * 1024)}"}`,
    });
    expect(huge.status).toBe(401);
    // With a token, the same unreadable body is a 400.
    const authenticated = await fetch(`${base}/cases/00000000-0000-4000-8000-000000000000/review`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${ehr}` },
      body: '{ this is not json',
    });
    expect(authenticated.status).toBe(400);
  });

  it('reads HL7 v2 only as an HL7 or plain-text media type, FHIR only as JSON: 415 otherwise, nothing recorded', async () => {
    const message = readFixture('hl7v2/synthetic_ORM-O01_rxo-ndc.hl7');
    const post = (path: string, body: Buffer | string, type: string | undefined) =>
      fetch(`${base}${path}`, {
        method: 'POST',
        body: typeof body === 'string' ? body : new Uint8Array(body),
        headers: { authorization: `Bearer ${ehr}`, ...(type ? { 'content-type': type } : {}) },
      });
    for (const type of [
      'image/png',
      'application/x-www-form-urlencoded',
      'application/octet-stream',
      'multipart/form-data; boundary=x',
      'application/hl7-v2+xml',
      'application/json',
    ]) {
      const res = await post('/orders/hl7v2', message, type);
      expect(res.status, type).toBe(415);
      const issue = (await readJson(res)).issue[0];
      expect(issue.details.coding[0].code).toBe('PAGW_INBOUND_UNSUPPORTED_MEDIA');
      expect(issue.code).toBe('not-supported');
    }
    const fhir = JSON.stringify({ resourceType: 'ServiceRequest', status: 'active' });
    for (const type of ['text/plain', 'x-application/hl7-v2+er7', 'application/xml', 'image/png']) {
      const res = await post('/orders/fhir', fhir, type);
      expect(res.status, type).toBe(415);
    }
    expect(await countRows(db.pool, 'inbound_messages', `tenant_id = 'clinic-q'`)).toBe(0);
    for (const type of [
      'x-application/hl7-v2+er7',
      'application/hl7-v2',
      'application/hl7-v2+er7',
      'text/plain; charset=utf-8',
      'text/hl7v2',
    ]) {
      const res = await post('/orders/hl7v2', message, type);
      expect([200, 201], type).toContain(res.status);
    }
  });
});
