/**
 * bench/inbound: how long acceptInboundMessage takes, and holds the database, as a message grows, on the
 * embedded PGlite (and on PostgreSQL with --postgres or DATABASE_URL). Each size is reported as a ratio to a
 * one-order-group message measured in the same run: a message of N groups should cost about its mapping
 * (linear in N) plus a fixed number of statements, never N round trips per case (issue #10 item 7).
 *
 *   npm run bench:inbound -- [--rounds 5] [--postgres postgres://postgres@127.0.0.1:5432/test]
 *
 * Also times the refusals of the two messages from the issue (5,000 HL7 order groups, a FHIR Bundle of
 * 10,000 ServiceRequests), which are refused by inbound.maxOrderGroups before any group is mapped.
 */
import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { parseArgs } from 'node:util';
import pg from 'pg';
import { systemClock } from '../src/clock.ts';
import { acceptInboundMessage, type InboundDeps } from '../src/inbound/index.ts';
import { createLogger } from '../src/log/logger.ts';
import { type Database, migrate, openDatabase } from '../src/store/index.ts';
import { createVault, masterKeyRingOf } from '../src/vault/index.ts';
import { buildOrmOrder } from '../test/helpers/hl7-orders.ts';

const { values } = parseArgs({
  options: {
    rounds: { type: 'string', default: '5' },
    postgres: { type: 'string', default: process.env.DATABASE_URL },
  },
});
const rounds = Number(values.rounds);

function ormWithGroups(groups: number, messageId: string): Buffer {
  const [msh, pid, in1, , , dg1] = buildOrmOrder({ messageId, memberId: 'BENCH-1', cpt: '70553' }).split(
    '\r',
  );
  const body: string[] = [];
  for (let i = 0; i < groups; i++) {
    const provider = '1234567893^WELBY^MARCUS^^^^^^^^^^NPI';
    body.push(`ORC|NW|P-${i}|||||^^^20261201^^R|||20261123101500|||${provider}`);
    body.push(`OBR|${i + 1}|P-${i}||70553^MRI brain^C4||||||||||||${provider}`);
  }
  return Buffer.from([msh, pid, in1, ...body, dg1].join('\r'));
}

function bundleWithOrders(orders: number): Buffer {
  const file = path.join(
    import.meta.dirname,
    '..',
    'test',
    'fixtures',
    'fhir',
    'synthetic_bundle-transaction-two-orders.json',
  );
  const bundle = JSON.parse(readFileSync(file, 'utf8'));
  const entries = bundle.entry as Array<{ resource: Record<string, unknown> & { resourceType: string } }>;
  const template = entries.find((e) => e.resource.resourceType === 'ServiceRequest')!;
  const others = entries.filter((e) => e.resource.resourceType !== 'ServiceRequest');
  const { resourceType, status, intent, subject, requester, insurance } = template.resource;
  const requests = Array.from({ length: orders }, (_, i) => ({
    fullUrl: `urn:uuid:10000000-0000-4000-8000-${String(i).padStart(12, '0')}`,
    resource: {
      resourceType,
      status,
      intent,
      code: { coding: [{ code: '27447' }] },
      subject,
      requester,
      insurance,
    },
  }));
  return Buffer.from(JSON.stringify({ ...bundle, entry: [...others, ...requests] }));
}

/** Median milliseconds of `rounds` runs of one accept (a fresh message id each run, so nothing is a duplicate). */
async function median(deps: InboundDeps, make: (round: number) => Buffer, format?: 'fhir'): Promise<number> {
  const times: number[] = [];
  for (let round = 0; round < rounds; round++) {
    const raw = make(round);
    const start = process.hrtime.bigint();
    await acceptInboundMessage(deps, { tenant: 'bench', raw, sender: 'bench', transport: 'http', format });
    times.push(Number(process.hrtime.bigint() - start) / 1e6);
  }
  times.sort((a, b) => a - b);
  return times[Math.floor(times.length / 2)]!;
}

async function benchOne(label: string, db: Database): Promise<void> {
  await migrate(db.pool);
  const deps: InboundDeps = {
    db,
    clock: systemClock,
    logger: createLogger({ level: 'silent' }),
    deadLetterTopic: 'pa.deadletter.v1',
    phi: createVault({ pool: db.pool, keys: masterKeyRingOf([randomBytes(32)]), clock: systemClock }).phi,
  };
  const run = Date.now().toString(36);
  // Warm up (JIT, the mapping registry, the connection).
  await median(deps, (r) => ormWithGroups(1, `WARM-${run}-${r}`));
  console.log(`\n${label}`);
  const base = await median(deps, (r) => ormWithGroups(1, `ONE-${run}-${r}`));
  console.log(`  ${'1 order group (baseline)'.padEnd(44)} ${base.toFixed(1).padStart(8)} ms   1.0x`);
  for (const groups of [10, 50, 100]) {
    const ms = await median(deps, (r) => ormWithGroups(groups, `G${groups}-${run}-${r}`));
    const perGroup = ((ms - base) / (groups - 1)).toFixed(2);
    console.log(
      `  ${`${groups} order groups`.padEnd(44)} ${ms.toFixed(1).padStart(8)} ms ${(ms / base).toFixed(1).padStart(5)}x  (+${perGroup} ms per extra group)`,
    );
  }
  const hl7 = await median(deps, (r) => ormWithGroups(5_000, `G5000-${run}-${r}`));
  console.log(
    `  ${'5,000 order groups (refused)'.padEnd(44)} ${hl7.toFixed(1).padStart(8)} ms ${(hl7 / base).toFixed(1).padStart(5)}x`,
  );
  const bundle = bundleWithOrders(10_000);
  const fhir = await median(
    deps,
    (r) => Buffer.from(bundle.toString('utf8').replace('"id":"txn-1"', `"id":"big-${run}-${r}"`)),
    'fhir',
  );
  console.log(
    `  ${`FHIR Bundle, 10,000 ServiceRequests (refused, ${(bundle.length / 1e6).toFixed(1)} MB)`.padEnd(44)} ${fhir.toFixed(1).padStart(8)} ms ${(fhir / base).toFixed(1).padStart(5)}x`,
  );
}

const embedded = await openDatabase({ dataDir: 'memory://' });
try {
  await benchOne('embedded PGlite', embedded);
} finally {
  await embedded.close();
}
if (values.postgres) {
  // A schema of its own, dropped afterwards: the database may be shared (tests, other benches).
  const schema = `bench_inbound_${randomBytes(4).toString('hex')}`;
  const admin = new pg.Client({ connectionString: values.postgres });
  await admin.connect();
  await admin.query(`CREATE SCHEMA ${schema}`);
  const postgres = await openDatabase({
    databaseUrl: values.postgres,
    poolOptions: { options: `-c search_path=${schema}` },
  });
  try {
    await benchOne(`PostgreSQL (${values.postgres.replace(/\/\/[^@]*@/, '//')})`, postgres);
  } finally {
    await postgres.close();
    await admin.query(`DROP SCHEMA ${schema} CASCADE`);
    await admin.end();
  }
}
