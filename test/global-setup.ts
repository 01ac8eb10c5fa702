/**
 * Says once, at the top of the run AND again at its end, which real services the suites will use and which
 * suites skip for lack of one (each suite also warns where it skips: test/helpers/services.ts). Under CI=true a
 * missing service fails the run here, before any test starts.
 *
 * What `npm test` needs (README "Development"): Debian's librdkafka-dev and gcc (the Kafka mock broker is built
 * from test/kafka/mock-broker.c), chromium (the console's browser tests), and for the PostgreSQL pass a server
 * named by DATABASE_URL (*.pg.test.ts run only then).
 */
import { existsSync } from 'node:fs';
import pg from 'pg';
import { chromiumPath } from './helpers/browser.ts';
import { kafkaUnavailableReason } from './helpers/kafka.ts';
import { inCi } from './helpers/services.ts';

interface Check {
  readonly service: string;
  readonly suites: string;
  readonly missing?: string;
}

async function postgresProblem(url: string): Promise<string | undefined> {
  const client = new pg.Client({ connectionString: url, connectionTimeoutMillis: 10_000 });
  try {
    await client.connect();
    return undefined;
  } catch (error) {
    return `cannot connect (${(error as Error).message})`;
  } finally {
    await client.end().catch(() => {});
  }
}

export default async function setup(): Promise<() => void> {
  const url = process.env.DATABASE_URL;
  const database = url ? `PostgreSQL (${url.replace(/:[^:@/]*@/, ':***@')})` : 'embedded PGlite';
  const checks: Check[] = [
    {
      service: 'Kafka (librdkafka mock cluster, or KAFKA_BROKERS)',
      suites: 'test/integration/bus-kafka, test/fault/bus-kafka-outage, the Kafka cases of test/e2e',
      missing: kafkaUnavailableReason(),
    },
    {
      service: `Chromium (${chromiumPath})`,
      suites: 'test/browser (the web console)',
      missing: existsSync(chromiumPath) ? undefined : 'not found: apt-get install chromium',
    },
    ...(url
      ? [
          {
            service: 'PostgreSQL',
            suites: 'every suite (DATABASE_URL is set)',
            missing: await postgresProblem(url),
          },
        ]
      : []),
  ];
  const skipped = checks.filter((c) => c.missing);
  console.log(
    `[pagw tests] database: ${database}; CI=${process.env.CI ?? 'unset'} (in CI a missing service fails the run)`,
  );
  // Not a missing service: how CI's first pass runs (its second pass sets DATABASE_URL).
  if (!url)
    console.log('[pagw tests] *.pg.test.ts not collected: they need DATABASE_URL (a PostgreSQL server)');
  const banner = () =>
    skipped.length === 0
      ? '[pagw tests] every service found: no suite skips'
      : [
          '',
          '!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!',
          '[pagw tests] SKIPPING suites whose service is missing:',
          ...skipped.map((c) => `  - ${c.service}: ${c.missing}\n      skipped: ${c.suites}`),
          '!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!',
          '',
        ].join('\n');
  if (inCi() && skipped.length > 0) {
    throw new Error(
      `[pagw tests] required services unavailable in CI:\n${skipped.map((c) => `  - ${c.service}: ${c.missing}`).join('\n')}`,
    );
  }
  console.warn(banner());
  // Repeated at the end, where it is seen after thousands of lines of test output.
  return () => {
    if (skipped.length > 0) console.warn(banner());
  };
}
