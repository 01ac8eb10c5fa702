/**
 * Prometheus metrics: one registry per gateway (no module singleton), handed to the parts that count things.
 * Labels carry topics, groups and outcomes only: never tenants' data.
 */
import type pg from 'pg';
import { Counter, collectDefaultMetrics, Gauge, Histogram, Registry } from 'prom-client';
import type { Clock } from '../clock.ts';

export interface BusMetrics {
  /** Messages a bus adapter stored (publish resolved). */
  readonly published: Counter<'bus' | 'topic'>;
  /** Messages a subscription finished: handled, or dead-lettered after its attempts. */
  readonly consumed: Counter<'bus' | 'group' | 'topic' | 'outcome'>;
  /** Failed handler attempts that will be tried again. */
  readonly retries: Counter<'bus' | 'group' | 'topic' | 'retriable'>;
  readonly handlerSeconds: Histogram<'bus' | 'group' | 'topic'>;
}

export interface OutboxMetrics {
  readonly published: Counter;
  readonly failures: Counter<'retriable'>;
}

export interface GatewayMetrics {
  readonly registry: Registry;
  readonly bus: BusMetrics;
  readonly outbox: OutboxMetrics;
}

export function createMetrics(options: { processMetrics?: boolean } = {}): GatewayMetrics {
  const registry = new Registry();
  if (options.processMetrics !== false) collectDefaultMetrics({ register: registry, prefix: 'pagw_' });
  const registers = [registry];
  return {
    registry,
    bus: {
      published: new Counter({
        name: 'pagw_bus_published_messages_total',
        help: 'Messages stored by the bus adapter, by topic.',
        labelNames: ['bus', 'topic'],
        registers,
      }),
      consumed: new Counter({
        name: 'pagw_bus_consumed_messages_total',
        help: 'Messages a subscription finished, by outcome (handled, dead_letter).',
        labelNames: ['bus', 'group', 'topic', 'outcome'],
        registers,
      }),
      retries: new Counter({
        name: 'pagw_bus_handler_retries_total',
        help: 'Failed handler attempts that are retried.',
        labelNames: ['bus', 'group', 'topic', 'retriable'],
        registers,
      }),
      handlerSeconds: new Histogram({
        name: 'pagw_bus_handler_duration_seconds',
        help: 'Time from first delivery attempt to the message being finished.',
        labelNames: ['bus', 'group', 'topic'],
        buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30],
        registers,
      }),
    },
    outbox: {
      published: new Counter({
        name: 'pagw_outbox_published_events_total',
        help: 'Outbox events the relay published and marked published.',
        registers,
      }),
      failures: new Counter({
        name: 'pagw_outbox_publish_failures_total',
        help: 'Relay batches that failed to publish (they stay in the outbox and are retried).',
        labelNames: ['retriable'],
        registers,
      }),
    },
  };
}

export interface OutboxLag {
  /** Events not yet published. */
  readonly unpublished: number;
  /** Age in seconds of the oldest unpublished event (0 when there is none). */
  readonly oldestAgeSeconds: number;
}

export async function readOutboxLag(pool: Pick<pg.Pool, 'query'>, now: Date): Promise<OutboxLag> {
  const { rows } = await pool.query<{ unpublished: number; oldest: Date | null }>(
    'SELECT count(*)::int AS unpublished, min(created_at) AS oldest FROM outbox WHERE published_at IS NULL',
  );
  const row = rows[0]!;
  return {
    unpublished: row.unpublished,
    oldestAgeSeconds: row.oldest ? Math.max(0, (now.getTime() - row.oldest.getTime()) / 1000) : 0,
  };
}

/**
 * Outbox lag gauges, read from the database at scrape time: the registry collects all metrics at once, so both
 * gauges share one in-flight query. When the database cannot be read they report NaN, not a stale number.
 */
export function registerOutboxLagMetrics(
  metrics: GatewayMetrics,
  deps: { pool: Pick<pg.Pool, 'query'>; clock: Clock },
): void {
  let inFlight: Promise<OutboxLag | null> | undefined;
  const read = () => {
    inFlight ??= readOutboxLag(deps.pool, deps.clock.now())
      .catch(() => null)
      .finally(() => {
        inFlight = undefined;
      });
    return inFlight;
  };
  const registers = [metrics.registry];
  new Gauge({
    name: 'pagw_outbox_unpublished_events',
    help: 'Outbox events not yet published.',
    registers,
    async collect() {
      this.set((await read())?.unpublished ?? Number.NaN);
    },
  });
  new Gauge({
    name: 'pagw_outbox_oldest_unpublished_age_seconds',
    help: 'Age of the oldest outbox event not yet published (0 when the outbox is drained).',
    registers,
    async collect() {
      this.set((await read())?.oldestAgeSeconds ?? Number.NaN);
    },
  });
}
