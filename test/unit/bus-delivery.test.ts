import { describe, expect, it } from 'vitest';
import { DeadLetterHeader, deadLetterMessage, describeFailure } from '../../src/bus/dead-letter.ts';
import { backoffDelay, deliver, isRetriableError } from '../../src/bus/delivery.ts';
import { kafkaClientConfig, toKafkaBusError } from '../../src/bus/kafka/kafka-bus.ts';
import { partitionForKey } from '../../src/bus/partitioner.ts';
import { assertTopicNames } from '../../src/bus/topics.ts';
import { GatewayError } from '../../src/errors/index.ts';
import { createLogger } from '../../src/log/logger.ts';

const message = {
  topic: 'pa.orders.hl7v2',
  partition: 2,
  offset: '41',
  key: 'ord-1',
  value: Buffer.from('MSH|'),
  headers: { 'pagw-tenant': 'clinic-a' },
};
const fast = { initialMs: 1, maxMs: 2 };

describe('isRetriableError', () => {
  it.each([
    ['a retriable GatewayError', new GatewayError('PAGW_STORE_UNAVAILABLE', 'down'), true],
    ['a non-retriable GatewayError', new GatewayError('PAGW_VALIDATION_FAILED', 'bad'), false],
    ['a lost PostgreSQL connection (SQLSTATE 08006)', Object.assign(new Error('x'), { code: '08006' }), true],
    ['a serialization failure (40001)', Object.assign(new Error('x'), { code: '40001' }), true],
    ['an admin shutdown (57P01)', Object.assign(new Error('x'), { code: '57P01' }), true],
    ['a unique violation (23505)', Object.assign(new Error('x'), { code: '23505' }), false],
    ['ECONNREFUSED', Object.assign(new Error('connect'), { code: 'ECONNREFUSED' }), true],
    ['pg "Connection terminated unexpectedly"', new Error('Connection terminated unexpectedly'), true],
    [
      'a kafkajs retriable error',
      Object.assign(new Error('x'), { name: 'KafkaJSConnectionError', retriable: true }),
      true,
    ],
    ['a TypeError (a bug)', new TypeError('cannot read x of undefined'), false],
    ['a thrown string', 'oops', false],
  ])('%s → %s', (_label, error, expected) => {
    expect(isRetriableError(error)).toBe(expected);
  });
});

describe('backoffDelay', () => {
  it('doubles from the initial delay, within ±20% jitter, up to the cap', () => {
    for (const [attempt, base] of [
      [1, 200],
      [2, 400],
      [3, 800],
      [10, 30_000],
      [50, 30_000],
    ] as const) {
      const delay = backoffDelay(attempt);
      expect(delay).toBeGreaterThanOrEqual(base * 0.8);
      expect(delay).toBeLessThanOrEqual(base * 1.2);
    }
  });
});

describe('deliver', () => {
  const signal = new AbortController().signal;

  it('dead-letters a non-retriable failure after maxAttempts, counting attempts from 1', async () => {
    const attempts: number[] = [];
    const outcome = await deliver(message, {
      handle: async (m) => {
        attempts.push(m.attempt);
        throw new GatewayError('PAGW_VALIDATION_FAILED', 'bad');
      },
      maxAttempts: 3,
      signal,
      backoff: fast,
    });
    expect(attempts).toEqual([1, 2, 3]);
    expect(outcome).toMatchObject({ kind: 'dead-letter', attempts: 3 });
  });

  it('keeps retrying a retriable failure past maxAttempts until it succeeds', async () => {
    let calls = 0;
    const outcome = await deliver(message, {
      handle: async () => {
        if (++calls < 7) throw new GatewayError('PAGW_BUS_UNAVAILABLE', 'down');
      },
      maxAttempts: 2,
      signal,
      backoff: fast,
    });
    expect(outcome).toEqual({ kind: 'handled', attempts: 7 });
  });

  it('abandons the message (not committed, not dead-lettered) when stopped while waiting to retry', async () => {
    const stop = new AbortController();
    const outcome = await deliver(message, {
      handle: async () => {
        stop.abort();
        throw new GatewayError('PAGW_STORE_UNAVAILABLE', 'down');
      },
      maxAttempts: 5,
      signal: stop.signal,
      backoff: { initialMs: 60_000, maxMs: 60_000 },
    });
    expect(outcome).toEqual({ kind: 'abandoned', attempts: 1 });
  });

  it('does not call the handler for a partition this instance no longer owns', async () => {
    let calls = 0;
    const outcome = await deliver(message, {
      handle: async () => void calls++,
      maxAttempts: 5,
      signal,
      isStale: () => true,
    });
    expect([outcome.kind, calls]).toEqual(['abandoned', 0]);
  });
});

describe('dead-letter record', () => {
  it('keeps the original key, bytes and headers and adds reason and source coordinates', () => {
    const error = new GatewayError('PAGW_VALIDATION_FAILED', 'The order cannot be mapped', {
      problems: [{ location: 'PID-3', message: 'missing' }],
    });
    const record = deadLetterMessage(message, {
      deadLetterTopic: 'pa.deadletter.v1',
      sourceTopic: 'prod.pa.orders.hl7v2',
      group: 'pa-gateway-orders',
      attempts: 5,
      error,
      at: new Date('2026-03-01T10:00:00Z'),
    });
    expect(record).toEqual({
      topic: 'pa.deadletter.v1',
      key: 'ord-1',
      value: message.value,
      headers: {
        'pagw-tenant': 'clinic-a',
        [DeadLetterHeader.reason]: 'The order cannot be mapped (PID-3: missing)',
        [DeadLetterHeader.errorCode]: 'PAGW_VALIDATION_FAILED',
        [DeadLetterHeader.sourceTopic]: 'prod.pa.orders.hl7v2',
        [DeadLetterHeader.sourcePartition]: '2',
        [DeadLetterHeader.sourceOffset]: '41',
        [DeadLetterHeader.group]: 'pa-gateway-orders',
        [DeadLetterHeader.attempts]: '5',
        [DeadLetterHeader.at]: '2026-03-01T10:00:00.000Z',
      },
    });
  });

  it('names a foreign error by class and caps the reason length', () => {
    expect(describeFailure(new RangeError('x'.repeat(5000)))).toEqual({
      code: 'PAGW_BUS_HANDLER_FAILED',
      reason: `RangeError: ${'x'.repeat(2000 - 'RangeError: '.length)}`,
    });
  });
});

describe('topic names and partitions', () => {
  it('refuses names Kafka would refuse, counting the prefix', () => {
    expect(() =>
      assertTopicNames([{ topic: 'pa.status.v1', key: null, value: Buffer.alloc(0) }], 'prod.'),
    ).not.toThrow();
    for (const bad of ['has space', 'slash/topic', '', 'x'.repeat(250)]) {
      expect(() => assertTopicNames([{ topic: bad, key: null, value: Buffer.alloc(0) }])).toThrow(
        expect.objectContaining({ code: 'PAGW_BUS_PUBLISH_REJECTED', retriable: false }),
      );
    }
  });

  it('puts one key on one partition, and spreads keys over all of them', () => {
    expect(partitionForKey('case-1', 4)).toBe(partitionForKey('case-1', 4));
    const used = new Set(Array.from({ length: 200 }, (_, i) => partitionForKey(`case-${i}`, 4)));
    expect([...used].sort()).toEqual([0, 1, 2, 3]);
  });
});

describe('Kafka adapter settings and errors', () => {
  it('maps SSL and SASL from the config, never logging through console', () => {
    const config = kafkaClientConfig(
      {
        brokers: ['k1:9093'],
        clientId: 'pa-gateway',
        topicPrefix: '',
        ssl: true,
        sasl: { mechanism: 'scram-sha-512', username: 'gw', password: 's3cret' },
      },
      createLogger({ level: 'silent' }),
    );
    expect(config).toMatchObject({
      brokers: ['k1:9093'],
      clientId: 'pa-gateway',
      ssl: true,
      sasl: { mechanism: 'scram-sha-512', username: 'gw', password: 's3cret' },
    });
    expect(typeof config.logCreator).toBe('function');
  });

  it('treats a protocol refusal as rejected for good and everything else as an outage', () => {
    const refusal = Object.assign(new Error('too large'), {
      name: 'KafkaJSProtocolError',
      retriable: false,
      type: 'MESSAGE_TOO_LARGE',
    });
    const wrapped = Object.assign(new Error('retries exceeded'), {
      name: 'KafkaJSNumberOfRetriesExceeded',
      cause: refusal,
    });
    expect(toKafkaBusError(wrapped, 'publish')).toMatchObject({
      code: 'PAGW_BUS_PUBLISH_REJECTED',
      retriable: false,
    });
    const outage = Object.assign(new Error('Connection error'), {
      name: 'KafkaJSConnectionError',
      retriable: true,
    });
    expect(toKafkaBusError(outage, 'publish')).toMatchObject({
      code: 'PAGW_BUS_UNAVAILABLE',
      retriable: true,
    });
  });
});
