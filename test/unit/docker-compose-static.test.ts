/**
 * There is no Docker engine in CI, so docker-compose.yml is checked statically: the services a user needs,
 * wired with env vars the gateway actually reads, and a Dockerfile that runs the `pagw` bin.
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { loadConfig } from '../../src/config/load-config.ts';

const root = path.join(import.meta.dirname, '..', '..');
const compose = parse(readFileSync(path.join(root, 'docker-compose.yml'), 'utf8')) as {
  services: Record<
    string,
    {
      image?: string;
      build?: unknown;
      environment?: Record<string, string>;
      depends_on?: Record<string, unknown>;
    }
  >;
};

describe('docker-compose.yml', () => {
  it('runs PostgreSQL, single-node KRaft Kafka and the gateway', () => {
    expect(Object.keys(compose.services).sort()).toEqual([
      'clearinghouse-sim',
      'gateway',
      'kafka',
      'postgres',
    ]);
    expect(compose.services.postgres!.image).toMatch(/^postgres:\d+/);
    const kafka = compose.services.kafka!.environment!;
    expect(kafka.KAFKA_PROCESS_ROLES).toBe('broker,controller');
    expect(kafka.KAFKA_CONTROLLER_QUORUM_VOTERS).toMatch(/^1@kafka:\d+$/);
    expect(compose.services.gateway!.build).toBe('.');
    expect(Object.keys(compose.services.gateway!.depends_on!).sort()).toEqual([
      'clearinghouse-sim',
      'kafka',
      'postgres',
    ]);
  });

  it('configures the gateway through env vars the config loader accepts and points them at the services', () => {
    const env = compose.services.gateway!.environment!;
    const config = loadConfig({ env });
    const pg = compose.services.postgres!.environment!;
    expect(config.databaseUrl).toBe(
      `postgres://${pg.POSTGRES_USER}:${pg.POSTGRES_PASSWORD}@postgres:5432/${pg.POSTGRES_DB}`,
    );
    expect(config.kafka?.brokers).toEqual([
      compose.services.kafka!.environment!.KAFKA_ADVERTISED_LISTENERS!.replace('PLAINTEXT://', ''),
    ]);
    expect(config.host).toBe('0.0.0.0');
  });

  it('builds from a Dockerfile that starts `pagw start` with production dependencies only', () => {
    const dockerfile = readFileSync(path.join(root, 'Dockerfile'), 'utf8');
    expect(dockerfile).toMatch(/npm ci --omit=dev/);
    expect(dockerfile).toMatch(/ENTRYPOINT \["node", "--max-semi-space-size=8", "bin\/pagw\.js"\]/);
    // The same memory settings as `npm start` (bench/memory.ts).
    expect(dockerfile).toMatch(/ENV MALLOC_MMAP_THRESHOLD_=65536/);
    const start = (
      JSON.parse(readFileSync(path.join(root, 'package.json'), 'utf8')) as { scripts: { start: string } }
    ).scripts.start;
    expect(start).toBe('MALLOC_MMAP_THRESHOLD_=65536 node --max-semi-space-size=8 bin/pagw.js start');
    expect(dockerfile).toMatch(/CMD \["start"\]/);
    const pkg = JSON.parse(readFileSync(path.join(root, 'package.json'), 'utf8')) as {
      dependencies: Record<string, string>;
    };
    expect(pkg.dependencies).toHaveProperty('tsx'); // bin/pagw.js loads TypeScript through tsx at run time
  });
});
