/**
 * Prometheus metrics: one registry per gateway (no module singleton), handed to the parts that count things.
 * Labels carry topics, groups and outcomes only: never tenants' data.
 */
import type pg from 'pg';
import { Counter, collectDefaultMetrics, Gauge, Histogram, Registry } from 'prom-client';
import type { Clock } from '../clock.ts';
import { countDueSteps } from '../store/timers.ts';

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

/** The MLLP listener: who it let in, whom its connection policy closed, what it refused. */
export interface MllpMetrics {
  /** Open connections. */
  readonly connections: Gauge;
  /** Connections refused at accept: `busy` (limits reached, nobody to evict), `not_allowed` (not on mllp.peers). */
  readonly refused: Counter<'reason'>;
  /** Connections closed to make room for a newcomer (the stalest idle one). */
  readonly evicted: Counter;
  /** Connections closed at a deadline: `frame` (a frame not finished in time), `idle` (no whole frame for long). */
  readonly deadlines: Counter<'deadline'>;
  /** Frames over mllp.maxMessageBytes (refused AE PAGW_INBOUND_TOO_LARGE, their first bytes dead-lettered). */
  readonly framesTooLarge: Counter;
  /** Messages answered, by ACK code (AA, AE, AR). */
  readonly messages: Counter<'ack'>;
}

export interface GatewayMetrics {
  readonly registry: Registry;
  readonly bus: BusMetrics;
  readonly outbox: OutboxMetrics;
  readonly mllp: MllpMetrics;
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
    mllp: {
      connections: new Gauge({
        name: 'pagw_mllp_connections',
        help: 'Open MLLP connections.',
        registers,
      }),
      refused: new Counter({
        name: 'pagw_mllp_connections_refused_total',
        help: 'MLLP connections refused at accept: busy (limits reached), not_allowed (not on mllp.peers).',
        labelNames: ['reason'],
        registers,
      }),
      evicted: new Counter({
        name: 'pagw_mllp_connections_evicted_total',
        help: 'MLLP connections closed to make room for a newcomer (the stalest idle one).',
        registers,
      }),
      deadlines: new Counter({
        name: 'pagw_mllp_deadlines_total',
        help: 'MLLP connections closed at a deadline: frame (frame not finished in time), idle (no whole frame).',
        labelNames: ['deadline'],
        registers,
      }),
      framesTooLarge: new Counter({
        name: 'pagw_mllp_frames_too_large_total',
        help: 'MLLP frames over mllp.maxMessageBytes, refused with PAGW_INBOUND_TOO_LARGE.',
        registers,
      }),
      messages: new Counter({
        name: 'pagw_mllp_messages_total',
        help: 'MLLP messages answered, by ACK code.',
        labelNames: ['ack'],
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

/** What the step worker and the payer limits report, as plain figures (metrics import no worker). */
export interface PipelineFigures {
  /** Steps running now, per lane (src/workers/step-worker.ts). */
  steps(): Readonly<Record<string, number>>;
  /** Payer calls in flight and waiting, per payer and channel (src/workers/payer-limits.ts). */
  payerCalls(): ReadonlyArray<{ payer: string; channel: string; inFlight: number; waiting: number }>;
  /** Inbound messages held by back-pressure now (src/inbound/admission.ts). */
  intakeWaiting?(): number;
}

/**
 * The pipeline's in-flight figures (read from memory at scrape time) and its queue depth: steps due and not yet
 * claimed per lane (read from the timers table; NaN when it cannot be read).
 */
export function registerPipelineMetrics(
  metrics: GatewayMetrics,
  deps: { pool: Pick<pg.Pool, 'query'>; clock: Clock; figures: PipelineFigures },
): void {
  const registers = [metrics.registry];
  new Gauge({
    name: 'pagw_steps_in_flight',
    help: 'Workflow steps running now, by lane (payer: may call a payer; local: database only).',
    labelNames: ['lane'],
    registers,
    collect() {
      this.reset();
      for (const [lane, n] of Object.entries(deps.figures.steps())) this.set({ lane }, n);
    },
  });
  new Gauge({
    name: 'pagw_steps_due',
    help: 'Workflow steps due and not claimed yet, by lane: the queue in front of the step worker.',
    labelNames: ['lane'],
    registers,
    async collect() {
      this.reset();
      try {
        const due = await countDueSteps(deps.pool, deps.clock.now());
        for (const [lane, n] of Object.entries(due)) this.set({ lane }, n);
      } catch {
        for (const lane of ['payer', 'local']) this.set({ lane }, Number.NaN);
      }
    },
  });
  new Gauge({
    name: 'pagw_intake_waiting',
    help: 'Inbound messages held by back-pressure now: the workflow has more steps due than workers.intakeMaxBacklog.',
    registers,
    collect() {
      this.set(deps.figures.intakeWaiting?.() ?? 0);
    },
  });
  new Gauge({
    name: 'pagw_payer_calls_in_flight',
    help: "Payer calls in flight, by payer and channel (bounded by the channel's maxInFlight).",
    labelNames: ['payer', 'channel'],
    registers,
    collect() {
      this.reset();
      for (const f of deps.figures.payerCalls()) this.set({ payer: f.payer, channel: f.channel }, f.inFlight);
    },
  });
  new Gauge({
    name: 'pagw_payer_calls_waiting',
    help: 'Payer calls waiting for a place under their payer and channel limit.',
    labelNames: ['payer', 'channel'],
    registers,
    collect() {
      this.reset();
      for (const f of deps.figures.payerCalls()) this.set({ payer: f.payer, channel: f.channel }, f.waiting);
    },
  });
}
