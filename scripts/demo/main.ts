/**
 * `npm run demo`: the gateway on the embedded default with the simulated clearinghouse, fed the orders a clinic's
 * EHR sends (over MLLP, HTTP and the order topic), watched from a downstream subscriber's seat, ending with a
 * table of decisions and where each ClaimResponse and status event went; a pharmacy's PA flag (./pharmacy.ts) goes
 * from the signed webhook to draft, pharmacist sign-off, the payer and the write-back. Everything runs in a temp
 * directory.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { pino } from 'pino';
import { OffsetClock } from '../../src/clock.ts';
import { loadConfig } from '../../src/config/load-config.ts';
import { startGateway } from '../../src/gateway.ts';
import { createLogger } from '../../src/log/logger.ts';
import { exchangeMllp } from '../../src/outbound/index.ts';
import { createApiToken, openStore } from '../../src/store/index.ts';
import { openVault } from '../../src/vault/index.ts';
import { startClearinghouseSim } from '../../test/sim/clearinghouse/process.ts';
import { startPortalSim } from '../../test/sim/payer-portal/process.ts';
import { type DemoOrder, demoOrders } from './orders.ts';
import { pasDemoPayers, runPasEhr } from './pas.ts';
import { runPharmacyFlag, startDemoPharmacy } from './pharmacy.ts';

const started = Date.now();
const bold = (s: string) => (process.stdout.isTTY ? `\x1b[1m${s}\x1b[0m` : s);
const dim = (s: string) => (process.stdout.isTTY ? `\x1b[2m${s}\x1b[0m` : s);
const elapsed = () => `${((Date.now() - started) / 1000).toFixed(1).padStart(5)}s`;
const say = (line: string) => console.log(`${dim(elapsed())}  ${line}`);
const short = (id: string) => id.slice(0, 8);

interface Where {
  topic: string;
  partition: number;
  offset: string;
}

async function main(): Promise<void> {
  console.log(bold('\nPA Gateway demo — prior authorization from EHR order to payer decision\n'));
  const dir = mkdtempSync(path.join(tmpdir(), 'pagw-demo-'));
  const logFile = path.join(dir, 'gateway.log');
  const sim = await startClearinghouseSim({ slowMs: 300 });
  say(`simulated clearinghouse (a separate process, CAQH CORE over HTTP) at ${sim.endpoint}`);
  const pas = await pasDemoPayers(dir);
  say(
    `simulated PAS payer (a separate process, Da Vinci PAS with SMART backend services) at ${pas.sim.fhirBase}`,
  );

  // A portal-only payer (Lansing Health Care): its web portal, simulated, worked by the portal robot in headless
  // Chromium with the clinic's login and TOTP seed from the vault.
  const portalLogin = { username: 'goodhealth-pa-desk', password: `demo-${Date.now().toString(36)}!` };
  const portalSeed = 'JZXW6IDTMVRXEZLUEB2GK43UEBZWKZLE';
  const portal = await startPortalSim({ ...portalLogin, totpSeed: portalSeed });
  say(`simulated payer portal (a separate web app: login, TOTP, PA form, status page) at ${portal.url}`);
  const pharmacy = await startDemoPharmacy();
  say(`simulated pharmacy system (a separate process: FHIR API, PA-status callback) at ${pharmacy.sim.url}`);

  const clock = new OffsetClock();
  const config = loadConfig({
    env: {
      DATA_DIR: path.join(dir, 'data'),
      PORT: '0',
      MLLP_PORT: '0',
      MLLP_TENANT: 'clinic-a',
      POLL_INTERVAL_MS: '100',
      CLEARINGHOUSE_ENDPOINTS: `pagw-sim=${sim.endpoint}`,
      PORTAL_URLS: `lansing-health-care=${portal.url}`,
      PHARMACY_ENDPOINTS: pharmacy.endpoints,
      PAYERS_DIR: pas.payersDir,
      LOG_LEVEL: 'info',
    },
  });
  const logger = createLogger({
    level: 'info',
    destination: pino.destination({ dest: logFile, sync: false }),
  });
  // The clinic's portal credentials go into the vault before the gateway starts — as `pagw vault set` would
  // store them (value on stdin): the gateway reads them only inside the robot, audited.
  const setup = await openStore({ databaseUrl: config.databaseUrl, dataDir: config.dataDir });
  const vault = await openVault({ config, db: setup, clock });
  const actor = { id: 'cli:demo', onBehalfOf: 'tenant:clinic-a' };
  await vault.set({
    tenant: 'clinic-a',
    name: 'portal/lansing-health-care/username',
    value: portalLogin.username,
    actor,
  });
  await vault.set({
    tenant: 'clinic-a',
    name: 'portal/lansing-health-care/password',
    value: portalLogin.password,
    actor,
  });
  await vault.set({
    tenant: 'clinic-a',
    name: 'portal/lansing-health-care/totp',
    value: portalSeed,
    kind: 'totp',
    actor,
  });
  // The pharmacy's webhook secret (it signs its PA flags with it; the gateway signs its write-backs with it too).
  await vault.set({
    ...pharmacy.secret,
    actor: { id: 'cli:demo', onBehalfOf: `tenant:${pharmacy.secret.tenant}` },
  });
  await setup.close();
  say(
    `vault: the clinic's portal login and TOTP seed, and the pharmacy's webhook secret, stored (${vault.keys.source}); nobody sees them again`,
  );
  const gateway = await startGateway(config, logger, clock);
  say(
    `gateway on ${gateway.url} (MLLP ${gateway.mllp?.host}:${gateway.mllp?.port}) — ${gateway.db.description}, ${gateway.bus}`,
  );
  const { token } = await createApiToken(gateway.db.pool, {
    tenant: 'clinic-a',
    roles: ['ehr', 'reviewer'],
    label: 'demo-ehr',
    at: new Date(),
  });
  const auth = { authorization: `Bearer ${token}` };

  // A downstream system's seat: the EHR integration and the ERP subscribe to the outbound topics.
  const claimResponses = new Map<string, Where>();
  const statusEvents = new Map<string, Where>();
  const placerOf = new Map<string, string>();
  const downstream = await gateway.eventBus.subscribe({
    group: 'demo-downstream',
    topics: [config.topics.claimResponse, config.topics.status],
    fromBeginning: true,
    handle: async (message) => {
      const where = { topic: message.topic, partition: message.partition, offset: message.offset };
      const caseId = message.key ?? '?';
      if (message.topic === config.topics.claimResponse) {
        claimResponses.set(caseId, where);
        return;
      }
      statusEvents.set(caseId, where);
      const event = JSON.parse(message.value.toString('utf8'));
      placerOf.set(caseId, event.order?.placerOrderNumber ?? '');
      const outcome = event.status.outcome ? ` (${event.status.outcome})` : '';
      say(
        `  ${short(caseId)} ${String(event.order?.placerOrderNumber ?? '').padEnd(9)} ${event.status.previousState ?? '—'} → ${bold(event.status.state)}${outcome}`,
      );
    },
  });

  console.log(bold('\nThe EHR sends its orders\n'));
  const orders = demoOrders();
  for (const order of orders) await send(order);

  async function send(order: DemoOrder): Promise<void> {
    switch (order.transport) {
      case 'mllp': {
        const ack = await exchangeMllp({
          host: gateway.mllp!.host,
          port: gateway.mllp!.port,
          message: order.body,
        });
        // ERR-8 (user message) says why, when the gateway refused the order.
        const why = ack.er7
          .split('\r')
          .find((s) => s.startsWith('ERR|'))
          ?.split('|')[8];
        say(`${order.label.padEnd(36)} via MLLP        → ACK ${ack.code}${why ? ` — ${why}` : ''}`);
        return;
      }
      case 'kafka-topic':
        await gateway.eventBus.publish([
          {
            topic: config.topics.ordersHl7v2,
            key: null,
            value: Buffer.from(order.body),
            headers: { 'pagw-tenant': 'clinic-a' },
          },
        ]);
        say(`${order.label.padEnd(36)} via ${config.topics.ordersHl7v2} topic`);
        return;
      default: {
        const fhir = order.transport === 'http-fhir';
        const res = await fetch(`${gateway.url}/orders/${fhir ? 'fhir' : 'hl7v2'}`, {
          method: 'POST',
          headers: { ...auth, 'content-type': fhir ? 'application/fhir+json' : 'x-application/hl7-v2+er7' },
          body: order.body,
        });
        say(`${order.label.padEnd(36)} via HTTP ${fhir ? 'FHIR ' : 'HL7v2'}  → ${res.status}`);
      }
    }
  }

  console.log(bold('\nCases move (as a downstream subscriber of pa.status.v1 sees them)\n'));
  const settled = new Set(['delivered', 'rejected', 'failed', 'not_required', 'cancelled']);
  const expectedCases = orders.length - 1; // the order with no insurance is refused at the door
  const listCases = async () =>
    (await (await fetch(`${gateway.url}/cases?limit=100`, { headers: auth })).json()).items as Array<{
      id: string;
      state: string;
    }>;
  const waitUntil = async (done: (cases: Array<{ id: string; state: string }>) => boolean) => {
    for (let i = 0; i < 600; i++) {
      const cases = await listCases();
      if (cases.length >= expectedCases && done(cases)) return cases;
      await new Promise((r) => setTimeout(r, 100));
    }
    throw new Error('the demo cases did not settle in time; see the gateway log');
  };
  await waitUntil((cases) =>
    cases.every((c) => settled.has(c.state) || c.state === 'pended' || c.state === 'awaiting_review'),
  );
  await reviewTheBiologic(gateway, say);
  await waitUntil((cases) => cases.every((c) => settled.has(c.state) || c.state === 'pended'));
  // Before the clock is pushed forward: the pharmacy system checks our write-backs' signing time against its own.
  console.log(
    bold(
      '\nA pharmacy flags a prescription PA_REQUIRED (webhook → draft → pharmacist → payer → write-back)\n',
    ),
  );
  await runPharmacyFlag({ gateway, pharmacy, clock, say, bold });
  console.log('');
  say(dim('the payer pended one case and will be asked again at its follow-up time (60 minutes)…'));
  clock.advance(61 * 60_000);
  say(bold('⏩ fast-forward 61 minutes'));
  await waitUntil((cases) => cases.every((c) => settled.has(c.state)));
  await new Promise((r) => setTimeout(r, 500)); // let the last status events reach the subscriber

  console.log(bold('\nDecisions\n'));
  const rows: string[][] = [
    ['order', 'service', 'case', 'state', 'outcome', 'auth #', 'ClaimResponse →', 'status event →'],
  ];
  for (const summary of await listCases()) {
    const detail = await (await fetch(`${gateway.url}/cases/${summary.id}`, { headers: auth })).json();
    const where = (w: Where | undefined) => (w ? `${w.topic} p${w.partition}@${w.offset}` : '—');
    rows.push([
      detail.request.orderReference?.placerOrderNumber ?? placerOf.get(summary.id) ?? '',
      `${detail.request.serviceLines[0].code.code} ${detail.request.serviceLines[0].code.display ?? ''}`.slice(
        0,
        30,
      ),
      short(summary.id),
      detail.state,
      detail.decision?.outcome ?? '—',
      detail.decision?.certificationNumber ?? '—',
      where(claimResponses.get(summary.id)),
      where(statusEvents.get(summary.id)),
    ]);
  }
  const [header, ...body] = rows;
  body.sort((a, b) => (a[0]! < b[0]! ? -1 : 1));
  rows.splice(0, rows.length, header!, ...body);
  const widths = rows[0]!.map((_, i) => Math.max(...rows.map((r) => r[i]!.length)));
  for (const [i, row] of rows.entries()) {
    const line = row.map((cell, c) => cell.padEnd(widths[c]!)).join('  ');
    console.log(i === 0 ? bold(line) : line);
  }
  const deadLetters = await gateway.db.pool.query<{ n: number }>(
    'SELECT count(*)::int AS n FROM outbox WHERE topic = $1',
    [config.topics.deadLetter],
  );
  const received = await sim.received();
  console.log(
    `\n${deadLetters.rows[0]!.n} refused order(s) on ${config.topics.deadLetter} with the original bytes; the payer received ` +
      `${received.filter((r) => r.kind === '278-request').length} 278 request(s), ${received.filter((r) => r.kind === '278-inquiry').length} inquiry(ies) and ${received.filter((r) => r.kind === '270').length} eligibility check(s).`,
  );

  const atPortal = await portal.submissions();
  const screenshots = await gateway.db.pool.query<{ n: number }>(
    'SELECT count(*)::int AS n FROM portal_evidence',
  );
  console.log(
    `the payer portal received ${atPortal.length} request(s) from the portal robot (confirmation ${atPortal.map((s) => s.confirmation).join(', ') || '—'}); ${screenshots.rows[0]!.n} screenshot(s) kept as evidence with the case, credential fields masked, sealed at rest.`,
  );

  console.log(bold("\nAn EHR speaking Da Vinci PAS calls Claim/$submit (the IG's own request Bundles)\n"));
  await runPasEhr({ gatewayUrl: gateway.url, token, say });

  await downstream.stop();
  await openConsole(gateway);
  await gateway.stop();
  await sim.stop();
  await portal.stop();
  await pharmacy.sim.stop();
  await pas.sim.stop();
  rmSync(path.join(dir, 'data'), { recursive: true, force: true });
  console.log(
    dim(
      `\ndone in ${((Date.now() - started) / 1000).toFixed(1)} s; gateway log (JSON, no PHI): ${logFile}\n`,
    ),
  );
}

/**
 * The review gate: the biologic stopped for a medical director (clinic-a's policy biologic-over-1000). A named
 * medical director's token reads the queue and approves through the API, repeating the submission key it saw.
 */
async function reviewTheBiologic(
  gateway: Awaited<ReturnType<typeof startGateway>>,
  say: (line: string) => void,
): Promise<void> {
  console.log(bold('\nA case stops for review\n'));
  const { token } = await createApiToken(gateway.db.pool, {
    tenant: 'clinic-a',
    roles: ['medical_director'],
    userId: 'dr.house@goodhealth.example.org',
    npi: '1245319599',
    at: new Date(),
  });
  const headers = { authorization: `Bearer ${token}`, 'content-type': 'application/json' };
  const queue = await (await fetch(`${gateway.url}/review/queue`, { headers })).json();
  for (const item of queue.items) {
    const gate = item.gate;
    say(
      `${short(item.id)} ${item.serviceCodes.map((s: { code: string; quantity?: { value: number } }) => `${s.code} x${s.quantity?.value ?? 1}`).join(', ')} — needs ${bold(gate.requiredRole)} (policy ${gate.policy?.id}@${gate.policy?.version}, estimated $${gate.facts?.estimatedCost ?? '?'}, ${gate.severity}, expires ${gate.expiresAt ?? 'never'})`,
    );
    say(dim(`  bound to ${item.mustRepeat.submissionKey}`));
    const res = await fetch(`${gateway.url}/cases/${item.id}/review`, {
      method: 'POST',
      headers,
      body: JSON.stringify({ action: 'approve', ...item.mustRepeat }),
    });
    const answer = await res.json();
    say(
      `  POST /cases/${short(item.id)}…/review approve by dr.house (medical_director) → ${res.status} ${answer.state} v${answer.version}`,
    );
  }
}

/**
 * The web console on the demo's gateway: a URL and a token to paste. In a terminal the gateway keeps running
 * until Ctrl+C so the console can be explored; without one (CI, a pipe) the demo ends as before.
 */
async function openConsole(gateway: Awaited<ReturnType<typeof startGateway>>): Promise<void> {
  const { token } = await createApiToken(gateway.db.pool, {
    tenant: 'clinic-a',
    roles: ['admin'],
    label: 'demo-console',
    at: new Date(),
  });
  console.log(bold('\nThe web console\n'));
  console.log(`  open ${bold(`${gateway.url}/console`)} and sign in with this token (clinic-a, admin):`);
  console.log(`  ${token}`);
  if (!process.stdin.isTTY) return;
  console.log(dim('\n  the gateway keeps running for the console; press Ctrl+C to stop it'));
  await new Promise<void>((resolve) => process.once('SIGINT', () => resolve()));
}

main().catch((error) => {
  console.error(error);
  process.exit(1);
});
