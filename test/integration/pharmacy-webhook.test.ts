/**
 * POST /webhooks/pharmacy/pa-flag through buildApp on a real listening port and a real database, with the sender's
 * secret in a real vault: accepted, duplicate, bad signature, replay, malformed payload, unknown sender, wrong
 * media type, a missing secret — each with its own answer, and nothing a registered sender posted lost.
 */
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildApp } from '../../src/api/app.ts';
import { ManualClock } from '../../src/clock.ts';
import { readInboundRaw } from '../../src/inbound/accept.ts';
import { PHARMACY_DRAFT } from '../../src/inbound/pharmacy/intake.ts';
import { pharmacyWebhookRouter } from '../../src/inbound/pharmacy/routes.ts';
import { signatureHeader } from '../../src/inbound/pharmacy/signature.ts';
import { createLogger } from '../../src/log/logger.ts';
import { defaultPharmacyMappings } from '../../src/mapping/pharmacy/registry.ts';
import { type Database, withTransaction } from '../../src/store/index.ts';
import type { Vault } from '../../src/vault/index.ts';
import { openTestDatabase, testDatabaseKind } from '../helpers/database.ts';
import {
  SEED_SECRET,
  SEED_SECRET_NAME,
  SEED_SENDER,
  SEED_TENANT,
  seedFlag,
  signedHeaders,
  testPharmacySenders,
} from '../helpers/pharmacy.ts';
import { countRows } from '../helpers/store.ts';
import { testVault, testVaultActor } from '../helpers/vault.ts';

describe(`pharmacy PA-flag webhook on ${testDatabaseKind()}`, () => {
  let db: Database;
  let server: Server;
  let base: string;
  const clock = new ManualClock('2026-03-02T14:05:00Z');
  let phi: Vault['phi'];
  /** A recorded flag's bytes, opened through the audited path (they are sealed at rest). */
  const openRaw = async (tenant: string, messageKey: string) =>
    (await withTransaction(db.pool, (tx) =>
      readInboundRaw(tx, phi, { tenant, reader: 'system:test' }, messageKey),
    ))!.toString('utf8');

  beforeAll(async () => {
    db = await openTestDatabase();
    const vault = testVault(db, { clock });
    phi = vault.phi;
    await vault.set({
      tenant: SEED_TENANT,
      name: SEED_SECRET_NAME,
      value: SEED_SECRET,
      actor: testVaultActor,
    });
    await vault.set({
      tenant: SEED_TENANT,
      name: 'pharmacy/nested-rx/webhook',
      value: 'nested-secret-0123456789',
      actor: testVaultActor,
    });
    const logger = createLogger({ level: 'silent' });
    const app = buildApp({
      db,
      clock,
      logger,
      publicRouters: [
        pharmacyWebhookRouter(
          {
            db,
            clock,
            logger,
            senders: testPharmacySenders(),
            secrets: vault,
            phi: vault.phi,
            deadLetterTopic: 'pa.deadletter.v1',
          },
          { limit: '64kb' },
        ),
      ],
    });
    server = await new Promise<Server>((resolve) => {
      const s = app.listen(0, '127.0.0.1', () => resolve(s));
    });
    base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  afterAll(async () => {
    await new Promise((resolve) => server?.close(resolve));
    await db?.close();
  });

  const post = (body: string | Buffer, headers: Record<string, string>) =>
    fetch(`${base}/webhooks/pharmacy/pa-flag`, {
      method: 'POST',
      headers,
      body: typeof body === 'string' ? body : new Uint8Array(body),
    });
  const issues = async (res: Response) =>
    ((await res.json()) as { issue: { details: { coding: { code: string }[] }; expression?: string[] }[] })
      .issue;
  const codeOf = async (res: Response) => (await issues(res))[0]!.details.coding[0]!.code;
  const audits = (action: string) => countRows(db.pool, 'audit_log', 'action = $1', [action]);
  const recorded = (outcome: string) =>
    countRows(db.pool, 'inbound_messages', "format = 'pharmacy' AND outcome = $1", [outcome]);
  const deadLetters = () => countRows(db.pool, 'outbox', "topic = 'pa.deadletter.v1'");

  it('accepts a signed seed flag: 202, the bytes, the flag and a drafting step recorded in one go', async () => {
    const body = JSON.stringify(seedFlag({}, clock.now()));
    const res = await post(body, signedHeaders(body));
    expect(res.status).toBe(202);
    const answer = (await res.json()) as { requestId: string; duplicate: boolean; status: string };
    expect(answer).toMatchObject({ duplicate: false, status: 'received' });
    expect(res.headers.get('location')).toBe(`/pharmacy/requests/${answer.requestId}`);
    const { rows } = await db.pool.query<{ raw: Buffer; message_key: string; tenant_id: string }>(
      "SELECT raw, message_key, tenant_id FROM inbound_messages WHERE format = 'pharmacy' AND outcome = 'accepted'",
    );
    expect(rows).toHaveLength(1);
    // Sealed at rest: the row holds no patient id; the audited read gives the exact bytes back.
    expect(rows[0]!.raw.toString('latin1')).not.toContain('RX-2026-0001');
    expect(await openRaw(rows[0]!.tenant_id, rows[0]!.message_key)).toBe(body);
    expect(rows[0]!.message_key).toBe(`pharmacy:${SEED_SENDER}:RX-2026-0001:PA_FLAGGED`);
    const flag = await db.pool.query<{ flag: Record<string, unknown>; status: string; tenant_id: string }>(
      'SELECT flag, status, tenant_id FROM pharmacy_requests WHERE id = $1',
      [answer.requestId],
    );
    expect(flag.rows[0]).toMatchObject({
      tenant_id: SEED_TENANT,
      status: 'received',
      flag: {
        event: 'pa_flagged',
        ndc: '00074043361',
        diagnosisCodes: ['M05.70', 'L40.54'],
        bin: '610014',
        pcn: 'ZZZGROUP',
        group: 'GRP555123',
        daysSupply: 28,
        refills: 5,
      },
    });
    expect(await countRows(db.pool, 'timers', 'kind = $1', [PHARMACY_DRAFT])).toBe(1);
    expect(await audits('inbound.accepted')).toBe(1);
  });

  it('answers a duplicate (same sender, prescription and event, re-signed later) 200 with the same request', async () => {
    clock.advance(60_000);
    const body = JSON.stringify(seedFlag({}, clock.now()));
    const res = await post(body, signedHeaders(body));
    expect(res.status).toBe(200);
    expect(await res.json()).toMatchObject({ duplicate: true, status: 'received' });
    expect(await recorded('accepted')).toBe(1);
    expect(await countRows(db.pool, 'pharmacy_requests')).toBe(1);
    expect(await countRows(db.pool, 'timers', 'kind = $1', [PHARMACY_DRAFT])).toBe(1);
  });

  it('refuses a bad signature 401, audits every attempt, records and dead-letters the bytes once', async () => {
    const body = JSON.stringify(seedFlag({ prescription_id: 'RX-FORGED' }, clock.now()));
    const forged = signedHeaders(body, { secret: 'not-the-secret' });
    const first = await post(body, forged);
    expect(first.status).toBe(401);
    expect(await codeOf(first)).toBe('PAGW_WEBHOOK_SIGNATURE_INVALID');
    const again = await post(body, forged);
    expect(again.status).toBe(401);
    const missing = await post(body, { 'content-type': 'application/json', 'x-pagw-sender': SEED_SENDER });
    expect(missing.status).toBe(401);
    expect(await audits('webhook.signature_invalid')).toBe(3);
    // Two distinct (bytes, signature) pairs: the forged one and the unsigned one.
    expect(await recorded('rejected')).toBe(2);
    expect(await deadLetters()).toBe(2);
    const { rows } = await db.pool.query<{
      message_key: string;
      tenant_id: string;
      problems: { code: string };
    }>(
      "SELECT message_key, tenant_id, problems FROM inbound_messages WHERE message_key LIKE 'pharmacy:%:unauthenticated:%'",
    );
    expect(await Promise.all(rows.map((r) => openRaw(r.tenant_id, r.message_key)))).toEqual([body, body]);
    expect(rows[0]!.problems.code).toBe('PAGW_WEBHOOK_SIGNATURE_INVALID');
    expect(await countRows(db.pool, 'pharmacy_requests', 'prescription_id = $1', ['RX-FORGED'])).toBe(0);
  });

  it('refuses a replay (signed, timestamp outside the window) 403, recorded and audited', async () => {
    const body = JSON.stringify(
      seedFlag({ prescription_id: 'RX-OLD' }, new Date(clock.now().getTime() - 600_000)),
    );
    const res = await post(body, signedHeaders(body));
    expect(res.status).toBe(403);
    expect(await codeOf(res)).toBe('PAGW_WEBHOOK_REPLAY_REFUSED');
    expect(await audits('webhook.replay_refused')).toBe(1);
    expect(
      await countRows(
        db.pool,
        'inbound_messages',
        "message_key LIKE 'pharmacy:%:stale:%' AND outcome = 'rejected'",
      ),
    ).toBe(1);
    expect(await countRows(db.pool, 'pharmacy_requests', 'prescription_id = $1', ['RX-OLD'])).toBe(0);
    // A flag from the future beyond the window is refused the same way (a clock ahead).
    const ahead = JSON.stringify(
      seedFlag({ prescription_id: 'RX-AHEAD' }, new Date(clock.now().getTime() + 600_000)),
    );
    expect((await post(ahead, signedHeaders(ahead))).status).toBe(403);
  });

  it('refuses a malformed flag 422 naming each problem by its path in the sender payload', async () => {
    const body = JSON.stringify(
      seedFlag(
        {
          prescription_id: 'RX-BAD',
          drug_ndc: '0074043361',
          prescriber_npi: '1487654321',
          diagnosis_codes: ['M05.70', 'not-a-code'],
          payer_bin: undefined,
          days_supply: 0,
        },
        clock.now(),
      ),
    );
    const res = await post(body, signedHeaders(body));
    expect(res.status).toBe(422);
    const found = (await issues(res)).map((i) => i.expression?.[0]).sort();
    expect(found).toEqual([
      '$.days_supply',
      '$.diagnosis_codes[1]',
      '$.drug_ndc',
      '$.payer_bin',
      '$.prescriber_npi',
    ]);
    expect(
      await countRows(
        db.pool,
        'inbound_messages',
        "message_key LIKE 'pharmacy:%:invalid:%' AND outcome = 'rejected'",
      ),
    ).toBe(1);
    const notJson = await post('{"event_type": "PA_FLAGGED",', signedHeaders('{"event_type": "PA_FLAGGED",'));
    expect(notJson.status).toBe(422);
    expect((await issues(notJson))[0]!.expression).toEqual(['$']);
    expect(await recorded('rejected')).toBe(6);
  });

  it('refuses an unknown sender 401 without reading or storing the body, and audits it', async () => {
    const body = JSON.stringify(seedFlag({}, clock.now()));
    const before = await countRows(db.pool, 'inbound_messages');
    const res = await post(body, signedHeaders(body, { sender: 'someone-else' }));
    expect(res.status).toBe(401);
    expect(await codeOf(res)).toBe('PAGW_WEBHOOK_SENDER_UNKNOWN');
    const none = await post(body, { 'content-type': 'application/json' });
    expect(none.status).toBe(401);
    expect(await countRows(db.pool, 'inbound_messages')).toBe(before);
    expect(await countRows(db.pool, 'audit_log', "action = 'webhook.refused' AND tenant_id = '-'")).toBe(2);
  });

  it('refuses a body that is not JSON by media type (415) and one over the limit (413)', async () => {
    const body = JSON.stringify(seedFlag({}, clock.now()));
    const res = await post(body, { ...signedHeaders(body), 'content-type': 'text/plain' });
    expect(res.status).toBe(415);
    const big = JSON.stringify(seedFlag({ drug_name: 'x'.repeat(70_000) }, clock.now()));
    expect((await post(big, signedHeaders(big))).status).toBe(413);
  });

  it('reads another sender’s shape through its own mapping (nested fields, base64 signature)', async () => {
    const mapping = defaultPharmacyMappings().get('pharmacy/nested-example')!;
    const body = JSON.stringify({
      type: 'rx.pa_required',
      sent_at: clock.now().toISOString(),
      rx: {
        number: 'N-77',
        drug: { ndc11: '00074-0433-61' },
        diagnoses: ['M0570'],
        prescriber: { npi: '1487654323' },
      },
      patient: { id: 'pt-2002' },
      insurance: [{ bin: '610014', pcn: 'ZZZGROUP', cardholder_id: 'ZZC1' }],
    });
    const res = await post(body, {
      'content-type': 'application/json',
      'x-pagw-sender': 'nested-rx',
      'x-webhook-signature': signatureHeader(body, 'nested-secret-0123456789', mapping.signature),
    });
    expect(res.status).toBe(202);
    const { rows } = await db.pool.query<{ flag: Record<string, unknown> }>(
      "SELECT flag FROM pharmacy_requests WHERE sender = 'nested-rx'",
    );
    expect(rows[0]!.flag).toMatchObject({
      eventType: 'rx.pa_required',
      ndc: '00074043361',
      diagnosisCodes: ['M05.70'],
      cardholderId: 'ZZC1',
      patientId: 'pt-2002',
    });
  });
});

describe(`pharmacy webhook without the sender's secret on ${testDatabaseKind()}`, () => {
  it('answers 503 (resend later) and records nothing it could not authenticate', async () => {
    const db = await openTestDatabase();
    try {
      const clock = new ManualClock('2026-03-02T14:05:00Z');
      const logger = createLogger({ level: 'silent' });
      const vault = testVault(db, { clock });
      const app = buildApp({
        db,
        clock,
        logger,
        publicRouters: [
          pharmacyWebhookRouter({
            db,
            clock,
            logger,
            senders: testPharmacySenders(),
            secrets: vault,
            phi: vault.phi,
            deadLetterTopic: 'pa.deadletter.v1',
          }),
        ],
      });
      const server = await new Promise<Server>((resolve) => {
        const s = app.listen(0, '127.0.0.1', () => resolve(s));
      });
      try {
        const body = JSON.stringify(seedFlag({}, clock.now()));
        const res = await fetch(
          `http://127.0.0.1:${(server.address() as AddressInfo).port}/webhooks/pharmacy/pa-flag`,
          {
            method: 'POST',
            headers: signedHeaders(body),
            body,
          },
        );
        expect(res.status).toBe(503);
        expect(await countRows(db.pool, 'inbound_messages')).toBe(0);
      } finally {
        await new Promise((resolve) => server.close(resolve));
      }
    } finally {
      await db.close();
    }
  });
});
