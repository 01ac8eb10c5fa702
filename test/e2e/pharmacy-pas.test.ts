/**
 * A pharmacy PA submitted over Da Vinci PAS (issue #15 item 5), with real parts: the seed flag (adalimumab NDC
 * 00074043361) arrives signed from the simulated pharmacy system, is drafted, signed off by a pharmacist, and goes to
 * the simulated PAS payer (its own process, SMART backend-services auth) as a PAS request Bundle whose requested
 * service is a MedicationRequest for the NDC — the Bundle passes the PAS 2.2.1 profiles before it is sent — and the
 * payer's decision is written back to the pharmacy system.
 */
import { cpSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { defaultPayersDir } from '../../connectors/payer-directory.ts';
import { createApiToken } from '../../src/store/index.ts';
import { traceNumberFor } from '../../src/workflow/case-workflow.ts';
import type { PasChannel } from '../../src/workflow/rules/types.generated.ts';
import { testDatabaseKind } from '../helpers/database.ts';
import { startTestGateway, type TestGateway } from '../helpers/gateway.ts';
import { readJson } from '../helpers/http.ts';
import { createPasClientKeys, pasChannelFor, startPasSimWithClient } from '../helpers/pas.ts';
import {
  SEED_SECRET,
  SEED_SECRET_NAME,
  SEED_SENDER,
  SEED_TENANT,
  seedFlag,
  signedHeaders,
} from '../helpers/pharmacy.ts';
import { waitFor } from '../helpers/store.ts';
import type { PasSimProcess } from '../sim/pas-payer/process.ts';
import { type PharmacySimProcess, startPharmacySimProcess } from '../sim/pharmacy-system/process.ts';

/** payers/ as shipped, with the pharmacy payer's only channel PAS on the simulated PAS payer. */
function payersDirWithPasPharmacy(channel: PasChannel): string {
  const dir = mkdtempSync(path.join(tmpdir(), 'pagw-payers-'));
  cpSync(defaultPayersDir, dir, { recursive: true });
  const file = path.join(dir, 'example-pbm.json');
  const payer = JSON.parse(readFileSync(file, 'utf8')) as { channels: unknown[] };
  payer.channels = [channel];
  writeFileSync(file, JSON.stringify(payer));
  return dir;
}

describe(`pharmacy PA over Da Vinci PAS (${testDatabaseKind()})`, () => {
  let pas: PasSimProcess;
  let pharmacy: PharmacySimProcess;
  let gw: TestGateway;
  let pharmacist: string;

  beforeAll(async () => {
    const keys = await createPasClientKeys('RS384');
    [pas, pharmacy] = await Promise.all([
      startPasSimWithClient(keys, { slowMs: 200 }),
      startPharmacySimProcess({ callbackSecret: SEED_SECRET }),
    ]);
    gw = await startTestGateway({
      env: {
        PHARMACY_ENDPOINTS: `${SEED_SENDER}=${pharmacy.url}`,
        PAYERS_DIR: payersDirWithPasPharmacy(
          pasChannelFor(pas, keys, { credentialsRef: 'vault:pas/example-pbm' }),
        ),
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
  });
  afterAll(async () => {
    await gw?.stop();
    await Promise.all([pas?.stop(), pharmacy?.stop()]);
  });

  const as = (token: string) => ({ authorization: `Bearer ${token}`, 'content-type': 'application/json' });
  // biome-ignore lint/suspicious/noExplicitAny: write-backs as the pharmacy system received them
  const writeBack = (requestId: string, status: string): Promise<any> =>
    waitFor(
      async () =>
        (await pharmacy.callbacks()).find((c) => c.body.requestId === requestId && c.body.status === status),
      { timeoutMs: 90_000, what: `${status} write-back of ${requestId}` },
    );

  it('seed flag → draft → pharmacist → PAS $submit with a MedicationRequest for the NDC → approval written back', async () => {
    const body = JSON.stringify(seedFlag({ prescription_id: 'RX-PAS-0001' }));
    const accepted = await fetch(`${gw.gateway.url}/webhooks/pharmacy/pa-flag`, {
      method: 'POST',
      headers: signedHeaders(body),
      body,
    });
    expect(accepted.status).toBe(202);
    const { requestId } = await readJson(accepted);
    const draftReady = await writeBack(requestId, 'draft_ready');
    const caseId: string = draftReady.body.caseId;

    const queue = await readJson(await fetch(`${gw.gateway.url}/review/queue`, { headers: as(pharmacist) }));
    const item = queue.items.find((i: { id: string }) => i.id === caseId);
    expect(item.gate.requiredRole).toBe('pharmacist');
    const decided = await fetch(`${gw.gateway.url}/cases/${caseId}/review`, {
      method: 'POST',
      headers: as(pharmacist),
      body: JSON.stringify({ action: 'approve', ...item.mustRepeat }),
    });
    expect(decided.status).toBe(200);

    const submitted = await writeBack(requestId, 'submitted');
    expect(submitted.body.transactionId).toBe(traceNumberFor(caseId));
    const approved = await writeBack(requestId, 'approved');
    expect(approved.verified).toBe(true);
    expect(approved.body).toMatchObject({ caseId, payer: { id: 'example-pbm', channel: 'pas' } });

    // The payer took in exactly one live $submit: the cardholder, the NDC, a MedicationRequest.
    const submits = (await pas.received()).filter(
      (r) => r.kind === 'submit' && r.key?.endsWith(`|${traceNumberFor(caseId)}`),
    );
    expect(submits.filter((r) => r.accepted)).toHaveLength(1);
    expect(submits[0]).toMatchObject({ memberId: 'ZZC123456701', serviceCodes: ['00074043361'] });
    expect(submits[0]!.resourceTypes).toEqual(
      expect.arrayContaining(['Claim', 'MedicationRequest', 'Coverage']),
    );
    expect(submits[0]!.resourceTypes).not.toContain('ServiceRequest');

    const final = await waitFor(
      async () => {
        const c = await readJson(
          await fetch(`${gw.gateway.url}/cases/${caseId}`, { headers: as(pharmacist) }),
        );
        return c.state === 'delivered' ? c : undefined;
      },
      { timeoutMs: 60_000, what: 'delivered case' },
    );
    expect(final).toMatchObject({ channel: 'pas', decision: { outcome: 'approved', channel: 'pas' } });
  });
});
