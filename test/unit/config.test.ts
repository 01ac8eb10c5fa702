import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config/load-config.ts';
import { ConfigError } from '../../src/errors/index.ts';

const dir = mkdtempSync(path.join(tmpdir(), 'pagw-config-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function problemsOf(fn: () => unknown): string[] {
  try {
    fn();
  } catch (error) {
    expect(error).toBeInstanceOf(ConfigError);
    return (error as ConfigError).problems.map((p) => `${p.location}: ${p.message}`);
  }
  throw new Error('expected a ConfigError');
}

describe('configuration', () => {
  it('has guessable defaults: port 8080, ./data, embedded database and bus', () => {
    const config = loadConfig({ env: {} });
    expect(config).toMatchObject({
      port: 8080,
      dataDir: './data',
      logLevel: 'info',
      topics: { ordersHl7v2: 'pa.orders.hl7v2', deadLetter: 'pa.deadletter.v1' },
    });
    expect(config.databaseUrl).toBeUndefined();
    expect(config.databasePreparedStatements).toBe(true);
    expect(config.kafka).toBeUndefined();
  });

  it('reads env vars with the names a user would guess', () => {
    const config = loadConfig({
      env: {
        PORT: '9090',
        DATA_DIR: '/var/lib/pagw',
        DATABASE_URL: 'postgres://u@db:5432/pagw',
        KAFKA_BROKERS: 'k1:9092, k2:9092',
        LOG_LEVEL: 'DEBUG',
        KAFKA_SSL: 'true',
        DATABASE_PREPARED_STATEMENTS: 'false',
      },
    });
    expect(config).toMatchObject({
      port: 9090,
      dataDir: '/var/lib/pagw',
      databaseUrl: 'postgres://u@db:5432/pagw',
      databasePreparedStatements: false,
      logLevel: 'debug',
    });
    expect(config.kafka).toMatchObject({
      brokers: ['k1:9092', 'k2:9092'],
      ssl: true,
      clientId: 'pa-gateway',
    });
  });

  it('lets env override the config file, which overrides defaults', () => {
    const file = path.join(dir, 'pagw.json');
    writeFileSync(
      file,
      JSON.stringify({ port: 7000, logLevel: 'warn', topics: { status: 'erp.pa.status' } }),
    );
    const config = loadConfig({ env: { PORT: '7001' }, file });
    expect(config).toMatchObject({
      port: 7001,
      logLevel: 'warn',
      topics: { status: 'erp.pa.status', claimResponse: 'pa.claimresponse.v1' },
    });
  });

  it('gives one clear message per bad value, naming where it came from', () => {
    const file = path.join(dir, 'bad.json');
    writeFileSync(file, JSON.stringify({ port: 70000, colour: 'blue', topics: { status: '' } }));
    expect(
      problemsOf(() => loadConfig({ env: { LOG_LEVEL: 'loud', KAFKA_BROKERS: 'no-port' }, file })),
    ).toEqual(
      expect.arrayContaining([
        `$.port (in ${file}): must be <= 65535`,
        `$.colour (in ${file}): is not a known property`,
        `$.topics.status (in ${file}): must NOT have fewer than 1 characters`,
        'LOG_LEVEL (env): must be one of "fatal", "error", "warn", "info", "debug", "trace", "silent"',
        expect.stringMatching(/^KAFKA_BROKERS \(env\): does not match/),
      ]),
    );
  });

  it('reports an unreadable config file', () => {
    expect(problemsOf(() => loadConfig({ env: {}, file: path.join(dir, 'missing.json') }))[0]).toMatch(
      /cannot read the config file/,
    );
    const file = path.join(dir, 'array.json');
    writeFileSync(file, '[]');
    expect(problemsOf(() => loadConfig({ env: {}, file }))).toEqual([
      `${file}: the config file must hold a JSON object`,
    ]);
  });

  it('freezes the result', () => {
    const config = loadConfig({ env: {} });
    expect(Object.isFrozen(config)).toBe(true);
    expect(Object.isFrozen(config.topics)).toBe(true);
  });
});
