/**
 * The Kafka adapter (kafkajs). Topic names on the wire are the gateway's names with `kafka.topicPrefix` in
 * front; handlers and the outbox see the names without it.
 *
 * - publish: one producer, acks=all, at most one request in flight (a retried request cannot overtake the next),
 *   murmur2 partitioning by key (Java-client compatible), so one case stays on one partition.
 * - subscribe: a consumer group per subscription; each partition's messages go to the handler one at a time in
 *   offset order; an offset is resolved only after its handler resolved (or its dead-letter record was stored),
 *   and resolved offsets are committed after each batch and on shutdown. Rebalance: the message in hand
 *   finishes, the rest of the batch is left for the new owner, which redelivers it (handlers dedupe).
 * - Broker outages: kafkajs retries, restarts a crashed consumer, and when it gives up this adapter recreates
 *   the consumer with backoff, so the gateway recovers by itself.
 * - Topics are created at start when the cluster lets us (missing ones only); failure is logged, not fatal.
 */
import {
  type Consumer,
  type EachBatchPayload,
  type IHeaders,
  Kafka,
  type KafkaConfig,
  type logCreator,
  logLevel,
  Partitioners,
  type Producer,
} from 'kafkajs';
import { type Clock, systemClock } from '../../clock.ts';
import type { GatewayConfig } from '../../config/load-config.ts';
import { GatewayError } from '../../errors/index.ts';
import { describeError, type Logger } from '../../log/logger.ts';
import type { BusMetrics } from '../../metrics/metrics.ts';
import { consumeOne } from '../consume-one.ts';
import { type BackoffPolicy, backoffDelay, pause } from '../delivery.ts';
import type { Bus, BusHeaders, OutgoingMessage, SubscribeOptions, Subscription } from '../port.ts';
import { assertTopicNames } from '../topics.ts';

export type KafkaSettings = NonNullable<GatewayConfig['kafka']>;

export interface KafkaTopicSpec {
  readonly name: string;
  readonly partitions?: number;
}

export interface KafkaBusOptions {
  readonly kafka: KafkaSettings;
  readonly logger: Logger;
  /** The dead-letter topic (without prefix). */
  readonly deadLetterTopic: string;
  /** Topics (without prefix) to create at start when missing and the cluster allows it. */
  readonly topics?: readonly KafkaTopicSpec[];
  readonly metrics?: BusMetrics;
  readonly clock?: Clock;
  /** Partitions of a topic this adapter creates without a count (default 6). */
  readonly defaultPartitions?: number;
  /** A consumer that misses heartbeats this long leaves the group and its partitions move (default 30 s, kafkajs's). */
  readonly sessionTimeoutMs?: number;
  readonly heartbeatIntervalMs?: number;
  /** Partitions one subscription handles at the same time (default 4). */
  readonly partitionsConsumedConcurrently?: number;
  readonly backoff?: BackoffPolicy;
  /** Longest wait of a fetch for new data (default 500 ms). */
  readonly maxWaitTimeMs?: number;
}

const kafkaLevels: Record<number, 'error' | 'warn' | 'info' | 'debug'> = {
  [logLevel.ERROR]: 'error',
  [logLevel.WARN]: 'warn',
  [logLevel.INFO]: 'info',
  [logLevel.DEBUG]: 'debug',
};

/** kafkajs log lines into pino: namespace, message and coordinates; never message payloads (kafkajs logs none). */
function pinoLogCreator(logger: Logger): logCreator {
  return () =>
    ({ namespace, level, log }) => {
      const { message, broker, groupId, topic, partition, retryCount, retryTime, error } = log as Record<
        string,
        unknown
      >;
      logger[kafkaLevels[level] ?? 'info'](
        { kafkajs: namespace, broker, groupId, topic, partition, retryCount, retryTime, error },
        String(message),
      );
    };
}

function kafkaLogLevel(logger: Logger): logLevel {
  switch (logger.level) {
    case 'trace':
    case 'debug':
      return logLevel.INFO;
    case 'info':
    case 'warn':
      return logLevel.WARN;
    case 'silent':
      return logLevel.NOTHING;
    default:
      return logLevel.ERROR;
  }
}

/** kafkajs client settings from the gateway config, including TLS and SASL for real clusters. */
export function kafkaClientConfig(settings: KafkaSettings, logger: Logger): KafkaConfig {
  const config: KafkaConfig = {
    clientId: settings.clientId,
    brokers: [...settings.brokers],
    ssl: settings.ssl,
    connectionTimeout: 3000,
    requestTimeout: 30_000,
    retry: { initialRetryTime: 300, maxRetryTime: 5000, retries: 8 },
    logLevel: kafkaLogLevel(logger),
    logCreator: pinoLogCreator(logger),
  };
  if (settings.sasl) {
    const { mechanism, username, password } = settings.sasl;
    // kafkajs types SASL as a union keyed by mechanism; the config schema allows exactly these three.
    config.sasl = { mechanism, username, password } as KafkaConfig['sasl'];
  }
  return config;
}

/** Walks an error's causes: kafkajs wraps the real reason in `cause`/`originalError`. */
function causes(error: unknown): unknown[] {
  const chain: unknown[] = [];
  let current: unknown = error;
  while (current && typeof current === 'object' && chain.length < 10) {
    chain.push(current);
    const next =
      (current as { cause?: unknown; originalError?: unknown }).cause ??
      (current as { originalError?: unknown }).originalError;
    current = next;
  }
  return chain;
}

/** A broker that said no for good (a protocol error kafkajs marks non-retriable) rejects; all else is an outage. */
export function toKafkaBusError(error: unknown, what: string): GatewayError {
  if (error instanceof GatewayError) return error;
  const refusal = causes(error).find(
    (e) =>
      (e as { name?: string }).name === 'KafkaJSProtocolError' &&
      (e as { retriable?: boolean }).retriable === false,
  ) as { type?: string } | undefined;
  return refusal
    ? new GatewayError(
        'PAGW_BUS_PUBLISH_REJECTED',
        `Kafka refused to ${what} (${refusal.type ?? 'protocol error'})`,
        {
          cause: error,
        },
      )
    : new GatewayError('PAGW_BUS_UNAVAILABLE', `Cannot ${what}: Kafka is unavailable`, { cause: error });
}

function headersToStrings(headers: IHeaders | undefined): BusHeaders {
  const out: BusHeaders = {};
  for (const [name, value] of Object.entries(headers ?? {})) {
    const first = Array.isArray(value) ? value[0] : value;
    if (first !== undefined) out[name] = Buffer.isBuffer(first) ? first.toString('utf8') : String(first);
  }
  return out;
}

export async function createKafkaBus(options: KafkaBusOptions): Promise<KafkaBus> {
  const bus = new KafkaBus(options);
  await bus.ensureTopics([...(options.topics ?? []), { name: options.deadLetterTopic }]);
  return bus;
}

export class KafkaBus implements Bus {
  readonly kind = 'kafka' as const;
  readonly kafka: Kafka;
  readonly logger: Logger;
  readonly clock: Clock;
  private readonly producer: Producer;
  private producerConnected: Promise<void> | undefined;
  private readonly subscriptions = new Set<KafkaSubscription>();
  private closed = false;

  constructor(readonly options: KafkaBusOptions) {
    this.logger = options.logger.child({ component: 'kafka-bus' });
    this.clock = options.clock ?? systemClock;
    this.kafka = new Kafka(kafkaClientConfig(options.kafka, this.logger));
    this.producer = this.kafka.producer({
      createPartitioner: Partitioners.DefaultPartitioner,
      maxInFlightRequests: 1,
      idempotent: false,
    });
  }

  /** The topic's name on the wire. */
  wireTopic(topic: string): string {
    return `${this.options.kafka.topicPrefix}${topic}`;
  }

  /** The gateway's name of a wire topic. */
  gatewayTopic(wire: string): string {
    const prefix = this.options.kafka.topicPrefix;
    return prefix && wire.startsWith(prefix) ? wire.slice(prefix.length) : wire;
  }

  /**
   * Creates the missing topics. A cluster that forbids it (ACLs, or librdkafka's mock, which reports no usable
   * controller) leaves them to its operators: logged, not fatal. Returns the topics it created.
   */
  async ensureTopics(specs: readonly KafkaTopicSpec[]): Promise<string[]> {
    const admin = this.kafka.admin({ retry: { retries: 2, initialRetryTime: 200, maxRetryTime: 1000 } });
    try {
      await admin.connect();
      const existing = new Set(await admin.listTopics());
      const missing = [...new Map(specs.map((s) => [this.wireTopic(s.name), s])).entries()].filter(
        ([wire]) => !existing.has(wire),
      );
      if (missing.length === 0) return [];
      await admin.createTopics({
        waitForLeaders: true,
        timeout: 10_000,
        topics: missing.map(([topic, spec]) => ({
          topic,
          numPartitions: spec.partitions ?? this.options.defaultPartitions ?? 6,
        })),
      });
      const created = missing.map(([topic]) => topic);
      this.logger.info({ topics: created }, 'created Kafka topics');
      return created;
    } catch (error) {
      this.logger.warn(
        describeError(error),
        'could not check or create Kafka topics; using them as they are',
      );
      return [];
    } finally {
      await admin.disconnect().catch(() => {});
    }
  }

  private connectProducer(): Promise<void> {
    this.producerConnected ??= this.producer.connect().catch((error) => {
      this.producerConnected = undefined;
      throw error;
    });
    return this.producerConnected;
  }

  async publish(messages: readonly OutgoingMessage[]): Promise<void> {
    if (this.closed) throw new GatewayError('PAGW_BUS_CLOSED', 'The Kafka bus is closed');
    if (messages.length === 0) return;
    assertTopicNames(messages, this.options.kafka.topicPrefix);
    const byTopic = new Map<string, OutgoingMessage[]>();
    for (const message of messages) {
      const list = byTopic.get(message.topic) ?? [];
      list.push(message);
      byTopic.set(message.topic, list);
    }
    try {
      await this.connectProducer();
      await this.producer.sendBatch({
        acks: -1,
        timeout: 30_000,
        topicMessages: [...byTopic].map(([topic, list]) => ({
          topic: this.wireTopic(topic),
          messages: list.map((m) => ({ key: m.key, value: m.value, headers: { ...m.headers } })),
        })),
      });
    } catch (error) {
      throw toKafkaBusError(error, 'publish to Kafka');
    }
    for (const [topic, list] of byTopic)
      this.options.metrics?.published.inc({ bus: 'kafka', topic }, list.length);
  }

  async subscribe(options: SubscribeOptions): Promise<Subscription> {
    if (this.closed) throw new GatewayError('PAGW_BUS_CLOSED', 'The Kafka bus is closed');
    const subscription = new KafkaSubscription(this, options, () => this.subscriptions.delete(subscription));
    this.subscriptions.add(subscription);
    await subscription.start();
    return subscription;
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await Promise.all([...this.subscriptions].map((s) => s.stop()));
    await this.producer.disconnect().catch(() => {});
  }

  /** Dead-letter publishing for subscriptions: works while closing, which ordinary publish refuses. */
  async publishDeadLetter(message: OutgoingMessage): Promise<void> {
    try {
      await this.connectProducer();
      await this.producer.send({
        topic: this.wireTopic(message.topic),
        acks: -1,
        timeout: 30_000,
        messages: [{ key: message.key, value: message.value, headers: { ...message.headers } }],
      });
    } catch (error) {
      throw toKafkaBusError(error, 'publish a dead-letter record');
    }
    this.options.metrics?.published.inc({ bus: 'kafka', topic: message.topic });
  }
}

/** One consumer-group member, recreated with backoff whenever kafkajs gives up on it. */
class KafkaSubscription implements Subscription {
  private readonly abort = new AbortController();
  private consumer: Consumer | undefined;
  private restarts = 0;
  private restartTimer: NodeJS.Timeout | undefined;
  private stopping: Promise<void> | undefined;
  private starting: Promise<void> | undefined;

  constructor(
    private readonly bus: KafkaBus,
    private readonly options: SubscribeOptions,
    private readonly onStopped: () => void,
  ) {}

  /** Resolves once the consumer runs, or after the first failure (then it keeps trying in the background). */
  async start(): Promise<void> {
    await this.run();
  }

  private run(): Promise<void> {
    this.starting = (async () => {
      if (this.abort.signal.aborted) return;
      const { group, topics } = this.options;
      const logger = this.bus.logger;
      const consumer = this.bus.kafka.consumer({
        groupId: group,
        sessionTimeout: this.bus.options.sessionTimeoutMs ?? 30_000,
        heartbeatInterval: this.bus.options.heartbeatIntervalMs ?? 1000,
        rebalanceTimeout: 30_000,
        maxWaitTimeInMs: this.bus.options.maxWaitTimeMs ?? 500,
        retry: { initialRetryTime: 300, maxRetryTime: 5000, retries: 8 },
      });
      this.consumer = consumer;
      consumer.on(consumer.events.CRASH, (event) => {
        logger.warn(
          { group, restart: event.payload.restart, ...describeError(event.payload.error) },
          'Kafka consumer crashed',
        );
        if (!event.payload.restart) this.scheduleRestart(consumer);
      });
      consumer.on(consumer.events.GROUP_JOIN, (event) => {
        this.restarts = 0;
        logger.info({ group, assignment: event.payload.memberAssignment }, 'joined consumer group');
      });
      try {
        await consumer.connect();
        await consumer.subscribe({
          topics: topics.map((t) => this.bus.wireTopic(t)),
          fromBeginning: this.options.fromBeginning ?? true,
        });
        await consumer.run({
          autoCommit: true,
          autoCommitInterval: 1000,
          autoCommitThreshold: 100,
          eachBatchAutoResolve: false,
          partitionsConsumedConcurrently: this.bus.options.partitionsConsumedConcurrently ?? 4,
          eachBatch: (payload) => this.eachBatch(payload),
        });
      } catch (error) {
        logger.warn({ group, ...describeError(error) }, 'Kafka consumer failed to start; retrying');
        this.scheduleRestart(consumer);
      }
    })();
    return this.starting;
  }

  private scheduleRestart(consumer: Consumer): void {
    if (this.abort.signal.aborted || this.consumer !== consumer || this.restartTimer) return;
    this.restarts++;
    const delayMs = backoffDelay(this.restarts, { initialMs: 500, maxMs: 10_000 });
    this.restartTimer = setTimeout(() => {
      this.restartTimer = undefined;
      void consumer
        .disconnect()
        .catch(() => {})
        .then(() => this.run());
    }, delayMs);
  }

  private async eachBatch(payload: EachBatchPayload): Promise<void> {
    const { batch, resolveOffset, heartbeat, commitOffsetsIfNecessary, isRunning, isStale } = payload;
    const { group, handle } = this.options;
    const topic = this.bus.gatewayTopic(batch.topic);
    const logger = this.bus.logger;
    const metrics = this.bus.options.metrics;
    const labels = { bus: 'kafka', group, topic };
    const signal = this.abort.signal;
    for (const raw of batch.messages) {
      if (!isRunning() || isStale() || signal.aborted) break;
      const message = {
        topic,
        partition: batch.partition,
        offset: raw.offset,
        key: raw.key ? raw.key.toString('utf8') : null,
        value: raw.value ?? Buffer.alloc(0),
        headers: headersToStrings(raw.headers),
      };
      const finished = await consumeOne(message, {
        handle,
        maxAttempts: this.options.maxAttempts ?? 5,
        signal,
        isStale: () => !isRunning() || isStale(),
        keepAlive: heartbeat,
        backoff: this.bus.options.backoff,
        group,
        sourceTopic: batch.topic,
        deadLetterTopic: this.bus.options.deadLetterTopic,
        clock: this.bus.clock,
        logger,
        metrics,
        labels,
        publishDeadLetter: (dead) => this.deadLetter(dead, heartbeat),
      });
      if (!finished) break;
      resolveOffset(raw.offset);
      await commitOffsetsIfNecessary();
      await heartbeat();
    }
  }

  /** Stores the dead-letter record, retrying through outages; false when stopped before it was stored. */
  private async deadLetter(message: OutgoingMessage, heartbeat: () => Promise<void>): Promise<boolean> {
    for (let attempt = 1; !this.abort.signal.aborted; attempt++) {
      try {
        await this.bus.publishDeadLetter(message);
        return true;
      } catch (error) {
        this.bus.logger.warn(describeError(error), 'dead-letter publish failed; retrying');
        await pause(backoffDelay(attempt), this.abort.signal);
        await heartbeat();
      }
    }
    return false;
  }

  stop(): Promise<void> {
    this.stopping ??= (async () => {
      this.abort.abort();
      clearTimeout(this.restartTimer);
      await this.starting?.catch(() => {});
      // Stops fetching, waits for the batch in hand (its current message finishes), commits, leaves the group.
      await this.consumer
        ?.disconnect()
        .catch((error) => this.bus.logger.warn(describeError(error), 'Kafka consumer disconnect failed'));
      this.onStopped();
    })();
    return this.stopping;
  }
}
