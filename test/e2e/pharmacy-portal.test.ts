/**
 * A pharmacy PA submitted through a payer's web portal (issue #15 item 5), in real headless Chromium: the seed flag
 * (adalimumab NDC 00074043361, BIN 610014 / PCN ZZZGROUP / group GRP555123) arrives signed from the simulated pharmacy
 * system, is drafted and signed off by a pharmacist, and the portal robot fills the simulated portal's prescription
 * drug PA form (CoverMyMeds-style: recipe connectors/portal/recipes/sim-rx.json) — login, TOTP, benefit, medication,
 * the clinical questions from the checklist, confirmation — then polls the status page to the decision, which is
 * written back to the pharmacy system.
 */
import { cpSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { defaultPayersDir } from '../../connectors/payer-directory.ts';
import { OffsetClock } from '../../src/clock.ts';
import { createApiToken } from '../../src/store/index.ts';
import { traceNumberFor } from '../../src/workflow/case-workflow.ts';
import { browserMissing } from '../helpers/browser.ts';
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
import { portalLogin, portalSecrets, portalSeed } from '../helpers/portal.ts';
import { waitFor } from '../helpers/store.ts';
import { type PortalSimProcess, startPortalSim } from '../sim/payer-portal/process.ts';
import { type PharmacySimProcess, startPharmacySimProcess } from '../sim/pharmacy-system/process.ts';

/** payers/ as shipped, with the pharmacy payer's only channel the simulated portal's drug PA form. */
function payersDirWithPortalPharmacy(portalUrl: string): string {
  const dir = mkdtempSync(path.join(tmpdir(), 'pagw-payers-'));
  cpSync(defaultPayersDir, dir, { recursive: true });
  const file = path.join(dir, 'example-pbm.json');
  const payer = JSON.parse(readFileSync(file, 'utf8')) as { channels: unknown[] };
  payer.channels = [
    {
      type: 'portal',
      url: portalUrl,
      recipe: 'sim-rx',
      credentialsRef: 'vault:portal/sim-health',
      totpRef: 'vault:portal/sim-health/totp',
      statusCheckMinutes: 1,
    },
  ];
  writeFileSync(file, JSON.stringify(payer));
  return dir;
}

describe.skipIf(browserMissing())(
  `pharmacy PA through a payer portal (${testDatabaseKind()}, real Chromium)`,
  () => {
    let portal: PortalSimProcess;
    let pharmacy: PharmacySimProcess;
    let gw: TestGateway;
    let pharmacist: string;
    const clock = new OffsetClock();

    beforeAll(async () => {
      [portal, pharmacy] = await Promise.all([
        startPortalSim({ ...portalLogin, totpSeed: portalSeed }),
        startPharmacySimProcess({ callbackSecret: SEED_SECRET }),
      ]);
      gw = await startTestGateway({
        clock,
        env: {
          PHARMACY_ENDPOINTS: `${SEED_SENDER}=${pharmacy.url}`,
          PAYERS_DIR: payersDirWithPortalPharmacy(portal.url),
          STEP_LEASE_MS: '120000',
        },
        secrets: [
          { tenant: SEED_TENANT, name: SEED_SECRET_NAME, value: SEED_SECRET },
          ...portalSecrets(SEED_TENANT),
        ],
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
      await Promise.all([portal?.stop(), pharmacy?.stop()]);
    });

    const as = (token: string) => ({ authorization: `Bearer ${token}`, 'content-type': 'application/json' });
    const get = async (p: string) =>
      readJson(await fetch(`${gw.gateway.url}${p}`, { headers: as(pharmacist) }));
    // biome-ignore lint/suspicious/noExplicitAny: write-backs as the pharmacy system received them
    const writeBack = (requestId: string, status: string): Promise<any> =>
      waitFor(
        async () =>
          (await pharmacy.callbacks()).find(
            (c) => c.body.requestId === requestId && c.body.status === status,
          ),
        { timeoutMs: 120_000, what: `${status} write-back of ${requestId}` },
      );

    it('seed flag → draft → pharmacist → the portal robot fills the drug PA form → status polled → approval written back', async () => {
      const body = JSON.stringify(seedFlag({ prescription_id: 'RX-PORTAL-0001' }));
      const accepted = await fetch(`${gw.gateway.url}/webhooks/pharmacy/pa-flag`, {
        method: 'POST',
        headers: signedHeaders(body),
        body,
      });
      expect(accepted.status).toBe(202);
      const { requestId } = await readJson(accepted);
      const caseId: string = (await writeBack(requestId, 'draft_ready')).body.caseId;

      const item = (await get('/review/queue')).items.find((i: { id: string }) => i.id === caseId);
      const decided = await fetch(`${gw.gateway.url}/cases/${caseId}/review`, {
        method: 'POST',
        headers: as(pharmacist),
        body: JSON.stringify({ action: 'approve', ...item.mustRepeat }),
      });
      expect(decided.status).toBe(200);
      await writeBack(requestId, 'submitted');

      // The portal took one drug PA request: the benefit, the NDC line, the checklist's answers, our reference.
      const held = await waitFor(
        async () => {
          const mine = (await portal.submissions()).filter((s) => s.reference === traceNumberFor(caseId));
          return mine.length > 0 ? mine : undefined;
        },
        { timeoutMs: 120_000, what: 'the portal submission' },
      );
      expect(held).toHaveLength(1);
      expect(held[0]).toMatchObject({
        family: 'Rivera',
        member: 'ZZC123456701',
        services: '00074043361',
        diagnoses: 'M05.70, L40.54',
        npi: '1487654323',
        drug: {
          bin: '610014',
          pcn: 'ZZZGROUP',
          rxgroup: 'GRP555123',
          ndc: '00074043361',
          quantity: '2',
          daysSupply: '28',
          refills: '5',
          rx: 'RX-PORTAL-0001',
        },
      });
      expect(held[0]!.drug!.criteria).toMatch(/tuberculosis screening .*: met/);
      expect(held[0]!.attachment.size).toBeGreaterThan(0);

      // Pended at the confirmation; the status page is looked at on the payer's schedule (pushed by the clock).
      const approved = await waitFor(
        async () => {
          const found = (await pharmacy.callbacks()).find(
            (c) => c.body.requestId === requestId && c.body.status === 'approved',
          );
          if (found) return found;
          const c = await get(`/cases/${caseId}`);
          const timeline = await get(`/cases/${caseId}/timeline`);
          const open = (timeline.exchanges as { completedAt: string | null }[]).some(
            (e) => e.completedAt === null,
          );
          if (c.state === 'pended' && !open) clock.advance(61_000);
          return undefined;
        },
        { timeoutMs: 240_000, intervalMs: 500, what: 'approved write-back' },
      );
      expect(approved.body).toMatchObject({
        caseId,
        payer: { id: 'example-pbm', channel: 'portal' },
        certificationNumber: expect.stringMatching(/^SIMAUTH\d+$/),
      });
      // The robot's evidence is kept with the case: the filled drug form and the confirmation page.
      const names = (await get(`/cases/${caseId}/timeline`)).evidence.map((e: { name: string }) => e.name);
      expect(names.slice(0, 2)).toEqual(['form-filled', 'confirmation']);
    });
  },
);
