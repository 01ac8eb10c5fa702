/**
 * Picks the bus adapter from the config: Kafka when `kafka` is configured, else the embedded bus in the
 * gateway's own database. Both get the topics of DESIGN.md (names from `config.topics`).
 */
import type { Clock } from '../clock.ts';
import type { GatewayConfig } from '../config/load-config.ts';
import type { Logger } from '../log/logger.ts';
import type { BusMetrics } from '../metrics/metrics.ts';
import type { Database } from '../store/database.ts';
import { createEmbeddedBus } from './embedded/embedded-bus.ts';
import type { Bus } from './port.ts';

export * from './dead-letter.ts';
export * from './delivery.ts';
export { createEmbeddedBus, EmbeddedBus, type EmbeddedBusOptions } from './embedded/embedded-bus.ts';
// The Kafka adapter is imported from './kafka/kafka-bus.ts' directly, and by createBus only when Kafka is configured:
// kafkajs is ~13 MB of resident memory the embedded default does not need.
export * from './port.ts';

export interface CreateBusDeps {
  readonly db: Pick<Database, 'pool'>;
  readonly logger: Logger;
  readonly clock: Clock;
  readonly metrics?: BusMetrics;
  /** Topics beyond config.topics that this gateway publishes to (clinics' HL7 v2 status topics). */
  readonly extraTopics?: readonly string[];
}

export async function createBus(config: Readonly<GatewayConfig>, deps: CreateBusDeps): Promise<Bus> {
  const t = config.topics;
  const names = [
    t.ordersHl7v2,
    t.ordersFhir,
    t.claimResponse,
    t.status,
    t.notifications,
    ...(deps.extraTopics ?? []),
  ];
  const topics = [...new Set(names)].map((name) => ({ name }));
  if (config.kafka) {
    const { createKafkaBus } = await import('./kafka/kafka-bus.ts');
    return createKafkaBus({
      kafka: config.kafka,
      ...(config.kafka.sessionTimeoutMs !== undefined
        ? { sessionTimeoutMs: config.kafka.sessionTimeoutMs }
        : {}),
      logger: deps.logger,
      clock: deps.clock,
      metrics: deps.metrics,
      deadLetterTopic: t.deadLetter,
      topics,
    });
  }
  return createEmbeddedBus({
    pool: deps.db.pool,
    logger: deps.logger,
    clock: deps.clock,
    metrics: deps.metrics,
    deadLetterTopic: t.deadLetter,
    topics,
    pollIntervalMs: config.workers.pollIntervalMs,
  });
}
