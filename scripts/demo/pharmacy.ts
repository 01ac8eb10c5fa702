/**
 * The demo's pharmacy: the simulated pharmacy system (PioneerRx-like: FHIR API and a callback URL, its own process)
 * flags the issue #15 seed prescription (adalimumab, NDC 00074043361, BIN 610014 / PCN ZZZGROUP / group GRP555123)
 * PA_REQUIRED; the gateway drafts it with its criteria checklist, a pharmacist signs off through the API, the request
 * goes to the payer's channel, and every status is written back to the pharmacy system, signed.
 */
import { randomBytes } from 'node:crypto';
import type { Clock } from '../../src/clock.ts';
import type { startGateway } from '../../src/gateway.ts';
import { createApiToken } from '../../src/store/index.ts';
import {
  SEED_SECRET_NAME,
  SEED_SENDER,
  SEED_TENANT,
  seedFlag,
  signedHeaders,
} from '../../test/helpers/pharmacy.ts';
import { type PharmacySimProcess, startPharmacySimProcess } from '../../test/sim/pharmacy-system/process.ts';
import type { SimCallback } from '../../test/sim/pharmacy-system/server.ts';

export interface DemoPharmacy {
  readonly sim: PharmacySimProcess;
  /** The sender's webhook (and callback) secret, for the vault: tenant, name, value. */
  readonly secret: { readonly tenant: string; readonly name: string; readonly value: string };
  /** PHARMACY_ENDPOINTS: the sender's FHIR and callback URLs pointed at the simulator. */
  readonly endpoints: string;
}

export async function startDemoPharmacy(): Promise<DemoPharmacy> {
  const value = `whsec-demo-${randomBytes(12).toString('hex')}`;
  const sim = await startPharmacySimProcess({ callbackSecret: value });
  return {
    sim,
    secret: { tenant: SEED_TENANT, name: SEED_SECRET_NAME, value },
    endpoints: `${SEED_SENDER}=${sim.url}`,
  };
}

export async function runPharmacyFlag(input: {
  gateway: Awaited<ReturnType<typeof startGateway>>;
  pharmacy: DemoPharmacy;
  clock: Clock;
  say: (line: string) => void;
  bold: (s: string) => string;
}): Promise<void> {
  const { gateway, pharmacy, clock, say, bold } = input;
  const startedAt = Date.now();
  // Signed as the pharmacy system signs it, stamped with the gateway's time (the demo's clock was pushed forward).
  const body = JSON.stringify(seedFlag({ prescription_id: 'RX-DEMO-0001' }, clock.now()));
  const res = await fetch(`${gateway.url}/webhooks/pharmacy/pa-flag`, {
    method: 'POST',
    headers: signedHeaders(body, { secret: pharmacy.secret.value }),
    body,
  });
  const { requestId } = (await res.json()) as { requestId: string };
  say(`PA_FLAGGED RX-DEMO-0001 (Humira 40 mg pen, BIN 610014 / PCN ZZZGROUP), HMAC-signed → ${res.status}`);

  const writeBack = async (statuses: string[]): Promise<SimCallback> => {
    for (let i = 0; i < 600; i++) {
      const found = (await pharmacy.sim.callbacks()).find(
        (c) => c.body.requestId === requestId && statuses.includes(String(c.body.status)),
      );
      if (found) return found;
      await new Promise((r) => setTimeout(r, 100));
    }
    throw new Error(`no ${statuses.join('/')} write-back for the pharmacy flag; see the gateway log`);
  };
  const draft = await writeBack(['draft_ready', 'needs_info', 'failed']);
  const checklist = draft.body.checklist as
    | { criteriaId: string; summary: { met: number; notMet: number; unknown: number } }
    | undefined;
  const caseId = String(draft.body.caseId);
  say(
    `drafted from the pharmacy's record (FHIR): ${checklist?.criteriaId ?? '—'} — ${checklist?.summary.met ?? 0} met, ${checklist?.summary.notMet ?? 0} not met, ${checklist?.summary.unknown ?? 0} unknown → write-back ${bold(String(draft.body.status))}`,
  );

  const { token } = await createApiToken(gateway.db.pool, {
    tenant: SEED_TENANT,
    roles: ['pharmacist'],
    userId: 'rph.jones@mainstreet.example.org',
    at: new Date(),
  });
  const headers = { authorization: `Bearer ${token}`, 'content-type': 'application/json' };
  const queue = (await (await fetch(`${gateway.url}/review/queue`, { headers })).json()) as {
    items: Array<{ id: string; mustRepeat: Record<string, unknown> }>;
  };
  const item = queue.items.find((i) => i.id === caseId);
  if (!item) throw new Error('the pharmacy case is not in the pharmacist’s queue');
  const signed = await fetch(`${gateway.url}/cases/${caseId}/review`, {
    method: 'POST',
    headers,
    body: JSON.stringify({ action: 'approve', ...item.mustRepeat }),
  });
  say(`pharmacist rph.jones signs off: POST /cases/${caseId.slice(0, 8)}…/review approve → ${signed.status}`);

  const submitted = await writeBack(['submitted']);
  const decided = await writeBack(['approved', 'denied', 'pended', 'more_info_needed', 'rejected', 'failed']);
  const payer = decided.body.payer as { id?: string; channel?: string } | undefined;
  const all = (await pharmacy.sim.callbacks()).filter((c) => c.body.requestId === requestId);
  say(
    `${bold('pharmacy PA')}: flag → draft → pharmacist sign-off → submitted to ${payer?.id ?? '?'} over ${payer?.channel ?? '?'} (transaction ${String(submitted.body.transactionId)}) → ${bold(String(decided.body.status))}${decided.body.certificationNumber ? ` ${String(decided.body.certificationNumber)}` : ''}; ${all.length} signed write-backs to the pharmacy system (${all.map((c) => c.body.status).join(', ')}; ${all.every((c) => c.verified) ? 'all signatures verified' : 'a signature FAILED'}) in ${((Date.now() - startedAt) / 1000).toFixed(1)} s`,
  );
}
