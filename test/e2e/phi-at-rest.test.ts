/**
 * PHI at rest: an order runs through the whole gateway (simulated clearinghouse, real 270/278 exchanges), then the
 * rows that keep evidence are read DIRECTLY from the database — inbound_messages.raw and payer_submissions'
 * request/response — and hold neither the patient's name nor the member id. The same evidence still opens for a
 * reviewer through the audited path (GET /cases/:id/exchanges/:n/evidence), which records phi.read rows.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createApiToken } from '../../src/store/index.ts';
import { testDatabaseKind } from '../helpers/database.ts';
import { startTestGateway, type TestGateway } from '../helpers/gateway.ts';
import { buildOrmOrder } from '../helpers/hl7-orders.ts';
import { readJson } from '../helpers/http.ts';
import { waitFor } from '../helpers/store.ts';
import { type SimProcess, startClearinghouseSim } from '../sim/clearinghouse/process.ts';

const family = 'ZZPHIFAMILY';
const given = 'QQGIVEN';
const memberId = 'W77PHI4242';

/** Every way the value could sit in a column: as text, in latin1 bytes, upper-cased. */
function leaks(haystack: Buffer | string | null, needle: string): boolean {
  if (haystack === null) return false;
  const text = typeof haystack === 'string' ? haystack : haystack.toString('latin1');
  return text.toUpperCase().includes(needle.toUpperCase());
}

describe(`PHI at rest (${testDatabaseKind()})`, () => {
  let sim: SimProcess;
  let gw: TestGateway;
  let caseId: string;

  beforeAll(async () => {
    sim = await startClearinghouseSim({ slowMs: 200 });
    gw = await startTestGateway({ env: { CLEARINGHOUSE_ENDPOINTS: `pagw-sim=${sim.endpoint}` } });
    const res = await gw.postHl7(
      buildOrmOrder({
        messageId: 'PHI-AT-REST-1',
        memberId,
        cpt: '70553',
        patient: { family, given, birthDate: '19620304', sex: 'F' },
      }),
    );
    caseId = (await readJson(res)).caseIds[0];
    await waitFor(async () => (await readJson(await gw.get(`/cases/${caseId}`))).state === 'delivered', {
      timeoutMs: 120_000,
      what: 'the case to be delivered',
    });
  });
  afterAll(async () => {
    await gw?.stop();
    await sim?.stop();
  });

  it('inbound_messages and payer_submissions hold no patient name or member id', async () => {
    const pool = gw.gateway.db.pool;
    const inbound = await pool.query<{ raw: Buffer }>('SELECT raw FROM inbound_messages');
    const submissions = await pool.query<{ request: string | null; response: string | null }>(
      'SELECT request, response FROM payer_submissions',
    );
    expect(inbound.rows.length).toBeGreaterThan(0);
    expect(submissions.rows.length).toBeGreaterThanOrEqual(2); // 270 eligibility and 278 submit
    for (const value of [family, given, memberId]) {
      for (const row of inbound.rows)
        expect(leaks(row.raw, value), `inbound_messages.raw holds ${value}`).toBe(false);
      for (const row of submissions.rows) {
        expect(leaks(row.request, value), `payer_submissions.request holds ${value}`).toBe(false);
        expect(leaks(row.response, value), `payer_submissions.response holds ${value}`).toBe(false);
      }
    }
  });

  it('a reviewer still opens the evidence, through the audited path', async () => {
    const { token } = await createApiToken(gw.gateway.db.pool, {
      tenant: 'clinic-a',
      roles: ['reviewer'],
      label: 'phi-reviewer',
      at: new Date(),
    });
    const headers = { authorization: `Bearer ${token}` };
    const timeline = await readJson(await fetch(`${gw.gateway.url}/cases/${caseId}/timeline`, { headers }));
    const submit = timeline.exchanges.find((e: { purpose: string }) => e.purpose === 'submit');
    const evidence = await readJson(
      await fetch(`${gw.gateway.url}/cases/${caseId}/exchanges/${submit.id}/evidence`, { headers }),
    );
    expect(evidence.request).toContain(memberId);
    expect(evidence.request).toContain(family);
    expect(evidence.response).toMatch(/^ISA\*/);
    const audit = await gw.gateway.db.pool.query<{ actor: string; details: { what: string } }>(
      `SELECT actor, details FROM audit_log WHERE action = 'phi.read' AND case_id = $1 ORDER BY seq`,
      [caseId],
    );
    expect(audit.rows.map((r) => r.details.what)).toEqual([
      'payer_submissions.request',
      'payer_submissions.response',
    ]);
    expect(audit.rows[0]!.actor).toMatch(/^token:.*\(phi-reviewer\)$/);
  });
});
