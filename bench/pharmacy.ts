/**
 * bench/pharmacy: webhook → draft-ready for pharmacy PA flags (issue #15: "well under a second of gateway time").
 * A real gateway in-process on the embedded database (or PostgreSQL with DATABASE_URL), the simulated pharmacy
 * system as its own process. Signed seed flags (patient pt-1001, unique prescription ids) are posted one at a time
 * (latency without queueing) and then in a burst; for each flag it reports p50/p90/p99 of:
 *
 *   accepted     POST sent → 202 (signature, mapping, one transaction)
 *   drafted      webhook received → case created (drafting: patient context from the pharmacy system + criteria)
 *   draft-ready  webhook received → case at the pharmacist's gate (`review_requested` committed): gateway time
 *   written back POST sent → the pharmacy system received the `draft_ready` write-back (its own clock, same machine)
 *
 * and, measured in the same run as floors: the patient-context fetch alone (six FHIR requests to the simulator) and
 * a bare BEGIN/INSERT/COMMIT on the same database — with the ratios of draft-ready to them.
 *
 *   npm run bench:pharmacy -- [--flags 40] [--burst 40]     (DATABASE_URL=postgres://… for PostgreSQL)
 */
import { loadavg } from 'node:os';
import { parseArgs } from 'node:util';
import { createPharmacyFhirClient } from '../connectors/pharmacy-fhir/client.ts';
import { startTestGateway } from '../test/helpers/gateway.ts';
import {
  SEED_SECRET,
  SEED_SECRET_NAME,
  SEED_SENDER,
  SEED_TENANT,
  seedFlag,
  signedHeaders,
} from '../test/helpers/pharmacy.ts';
import { startPharmacySimProcess } from '../test/sim/pharmacy-system/process.ts';

const { values } = parseArgs({
  options: {
    flags: { type: 'string', default: '40' },
    burst: { type: 'string', default: '40' },
    floors: { type: 'string', default: '40' },
  },
});

const percentile = (sorted: number[], p: number) =>
  sorted.length === 0
    ? Number.NaN
    : sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)]!;
function stats(samples: number[]) {
  const s = [...samples].sort((a, b) => a - b);
  return {
    n: s.length,
    p50: percentile(s, 50),
    p90: percentile(s, 90),
    p99: percentile(s, 99),
    max: s.at(-1) ?? NaN,
  };
}
const fmt = (x: number) => `${x.toFixed(1).padStart(7)} ms`;
function row(name: string, samples: number[]) {
  const t = stats(samples);
  console.log(
    `  ${name.padEnd(13)} n=${String(t.n).padStart(3)}  p50 ${fmt(t.p50)}  p90 ${fmt(t.p90)}  p99 ${fmt(t.p99)}  max ${fmt(t.max)}`,
  );
  return t;
}

const pharmacy = await startPharmacySimProcess({ callbackSecret: SEED_SECRET, pageSize: 100 });
const gw = await startTestGateway({
  env: {
    PHARMACY_ENDPOINTS: `${SEED_SENDER}=${pharmacy.url}`,
    LOG_LEVEL: 'silent',
    POLL_INTERVAL_MS: '200',
  },
  secrets: [{ tenant: SEED_TENANT, name: SEED_SECRET_NAME, value: SEED_SECRET }],
});
const pool = gw.gateway.db.pool;

const run = `B${Date.now().toString(36).toUpperCase()}`;

interface Sent {
  readonly rx: string;
  readonly sentAt: number;
  requestId?: string;
  acceptedMs?: number;
}

async function send(rx: string): Promise<Sent> {
  const sent: Sent = { rx, sentAt: Date.now() };
  const body = JSON.stringify(seedFlag({ prescription_id: rx }));
  const res = await fetch(`${gw.gateway.url}/webhooks/pharmacy/pa-flag`, {
    method: 'POST',
    headers: signedHeaders(body),
    body,
  });
  if (res.status !== 202) throw new Error(`flag ${rx} answered ${res.status}: ${await res.text()}`);
  sent.acceptedMs = Date.now() - sent.sentAt;
  sent.requestId = ((await res.json()) as { requestId: string }).requestId;
  return sent;
}

/** Waits until every flag's draft_ready write-back reached the pharmacy system; when each did. */
async function writtenBackAt(sent: Sent[]): Promise<Map<string, number>> {
  const ids = new Set(sent.map((s) => s.requestId!));
  const deadline = Date.now() + 600_000;
  for (;;) {
    const ready = (await pharmacy.callbacks()).filter(
      (c) => c.body.status === 'draft_ready' && ids.has(c.body.requestId as string),
    );
    if (ready.length === ids.size)
      return new Map(ready.map((c) => [c.body.requestId as string, Date.parse(c.firstAt)]));
    if (Date.now() > deadline) throw new Error(`only ${ready.length}/${ids.size} drafts ready`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

async function measure(label: string, sent: Sent[]) {
  const ids = new Set(sent.map((s) => s.requestId!));
  const writtenBack = await writtenBackAt(sent);
  const { rows } = await pool.query<{ id: string; received: Date; drafted: Date; ready: Date }>(
    `SELECT p.id, p.received_at AS received, p.drafted_at AS drafted, e.at AS ready
       FROM pharmacy_requests p
       JOIN case_events e ON e.case_id = p.case_id AND e.event = 'review_requested'
      WHERE p.id = ANY($1)`,
    [[...ids]],
  );
  const byId = new Map(rows.map((r) => [r.id, r]));
  console.log(`\n${label}: ${sent.length} flags`);
  row(
    'accepted',
    sent.map((s) => s.acceptedMs!),
  );
  row(
    'drafted',
    sent.map((s) => byId.get(s.requestId!)!.drafted.getTime() - byId.get(s.requestId!)!.received.getTime()),
  );
  const draftReady = row(
    'draft-ready',
    sent.map((s) => byId.get(s.requestId!)!.ready.getTime() - byId.get(s.requestId!)!.received.getTime()),
  );
  row(
    'written back',
    sent.map((s) => writtenBack.get(s.requestId!)! - s.sentAt),
  );
  return draftReady;
}

// Whatever happens, the simulator process and the gateway's database go away with this script.
try {
  console.log(
    `bench/pharmacy on ${process.env.DATABASE_URL ? 'PostgreSQL' : 'embedded PGlite'}, load average ${loadavg()
      .map((l) => l.toFixed(2))
      .join(' ')}`,
  );

  // Floors, same run: the patient-context fetch alone, and one BEGIN/INSERT/COMMIT on the same database.
  const client = createPharmacyFhirClient({
    endpointFor: () => ({
      fhirBaseUrl: pharmacy.fhirBase,
      timeoutMs: 10_000,
      patientIdentifierSystem: 'urn:pagw:bench:patient',
    }),
  });
  const fetchTimes: number[] = [];
  const commitTimes: number[] = [];
  await pool.query('CREATE TABLE IF NOT EXISTS bench_floor (id serial PRIMARY KEY, v text)');
  for (let i = 0; i < Number(values.floors); i++) {
    let t = performance.now();
    await client.fetch({
      tenant: SEED_TENANT,
      sender: SEED_SENDER,
      patientId: 'pt-1001',
      prescriberNpi: '1487654323',
      observationCodes: [{ system: 'http://loinc.org', code: '71773-6' }],
    });
    fetchTimes.push(performance.now() - t);
    const c = await pool.connect();
    t = performance.now();
    try {
      await c.query('BEGIN');
      await c.query('INSERT INTO bench_floor (v) VALUES ($1)', [String(i)]);
      await c.query('COMMIT');
    } finally {
      c.release();
    }
    commitTimes.push(performance.now() - t);
  }
  console.log('\nfloors:');
  const fetchFloor = row('context fetch', fetchTimes);
  const commitFloor = row('insert+commit', commitTimes);

  const sequential: Sent[] = [];
  for (let i = 0; i < Number(values.flags); i++) {
    const s = await send(`${run}-SEQ-${i}`);
    sequential.push(s);
    // Each flag's write-back before the next flag: latency without queueing.
    await writtenBackAt([s]);
  }
  const one = await measure('one at a time', sequential);

  const burstSent = await Promise.all(
    Array.from({ length: Number(values.burst) }, (_, i) => send(`${run}-BURST-${i}`)),
  );
  const many = await measure(`burst of ${values.burst} at once`, burstSent);

  console.log('\nratios (draft-ready p50 / floor p50):');
  console.log(
    `  one at a time: ${(one.p50 / fetchFloor.p50).toFixed(1)}x the context fetch, ${(one.p50 / commitFloor.p50).toFixed(1)}x an insert+commit`,
  );
  console.log(
    `  burst:         ${(many.p50 / fetchFloor.p50).toFixed(1)}x the context fetch, ${(many.p50 / commitFloor.p50).toFixed(1)}x an insert+commit`,
  );
} finally {
  await Promise.allSettled([gw.stop(), pharmacy.stop()]);
}
