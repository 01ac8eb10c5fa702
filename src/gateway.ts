/**
 * Composition root: wires config, store, HTTP API and workers into one running gateway.
 * Later layers (inbound adapters, bus, payer connectors, outbound) plug in here.
 */
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { buildApp } from './api/app.ts';
import { reviewRouter } from './api/review-routes.ts';
import { type Bus, createBus, type Subscription } from './bus/index.ts';
import { type Clock, systemClock } from './clock.ts';
import type { GatewayConfig } from './config/load-config.ts';
import {
  acceptInboundMessage,
  createOrderTopicHandlers,
  type InboundDeps,
  inboundOrdersRouter,
  type MllpServer,
  startMllpServer,
} from './inbound/index.ts';
import { describeError, type Logger } from './log/logger.ts';
import {
  createMetrics,
  type GatewayMetrics,
  metricsRouter,
  registerOutboxLagMetrics,
} from './metrics/index.ts';
import {
  createEmailDeliveryHandler,
  createMllpForwardHandler,
  createSmtpNotifier,
} from './outbound/index.ts';
import { type Database, openStore } from './store/index.ts';
import { type RelayWorker, startOutboxRelay } from './store/outbox-relay.ts';
import { wireWorkflow } from './wiring/workflow.ts';
import { startStepWorker } from './workers/step-worker.ts';
import { startTimerWorker, type Worker } from './workers/timer-worker.ts';

export interface RunningGateway {
  readonly db: Database;
  readonly url: string;
  readonly bus: string;
  /** The bus adapter (Kafka or embedded) the gateway publishes and consumes through. */
  readonly eventBus: Bus;
  readonly metrics: GatewayMetrics;
  /** The MLLP listener's address, when config.mllp is set. */
  readonly mllp?: { readonly host: string; readonly port: number };
  stop(): Promise<void>;
}

export async function startGateway(
  config: Readonly<GatewayConfig>,
  logger: Logger,
  clock: Clock = systemClock,
): Promise<RunningGateway> {
  const db = await openStore({ databaseUrl: config.databaseUrl, dataDir: config.dataDir });
  const workers: Worker[] = [];
  const subscriptions: Subscription[] = [];
  const metrics = createMetrics();
  registerOutboxLagMetrics(metrics, { pool: db.pool, clock });
  let eventBus: Bus | undefined;
  let relay: RelayWorker | undefined;
  let server: Server | undefined;
  let mllp: MllpServer | undefined;
  try {
    const workflow = wireWorkflow({ config, db, clock, logger });
    const inbound: InboundDeps = {
      db,
      clock,
      logger,
      deadLetterTopic: config.topics.deadLetter,
      outbound: workflow.outbound,
    };
    const hl7StatusTopics = workflow.tenants.ids.flatMap((id) => {
      const destination = workflow.tenants.get(id).hl7v2?.destination;
      return destination ? [{ topic: destination.topic, mllp: destination.mllp !== undefined }] : [];
    });
    eventBus = await createBus(config, {
      db,
      logger,
      clock,
      metrics: metrics.bus,
      extraTopics: hl7StatusTopics.map((t) => t.topic),
    });
    relay = startOutboxRelay({
      db,
      bus: eventBus,
      clock,
      logger,
      metrics: metrics.outbox,
      intervalMs: config.workers.pollIntervalMs,
    });
    // Order topics: one consumer group for both; instances of the gateway split their partitions.
    const orderHandlers = createOrderTopicHandlers(inbound, config.topics);
    subscriptions.push(
      await eventBus.subscribe({
        group: 'pa-gateway-orders',
        topics: [config.topics.ordersHl7v2, config.topics.ordersFhir],
        handle: (message) => orderHandlers[message.topic]!(message),
      }),
    );
    // Care-team e-mail: jobs the planner wrote to the notifications topic, sent through SMTP.
    if (config.smtp) {
      const notifier = createSmtpNotifier({
        host: config.smtp.host,
        port: config.smtp.port,
        secure: config.smtp.secure,
        ...(config.smtp.username && config.smtp.password
          ? { auth: { user: config.smtp.username, pass: config.smtp.password } }
          : {}),
      });
      subscriptions.push(
        await eventBus.subscribe({
          group: 'pa-gateway-notifier',
          topics: [config.topics.notifications],
          handle: createEmailDeliveryHandler({ notifier }),
        }),
      );
    }
    // HL7 v2 status messages for clinics whose destination is an MLLP endpoint.
    const mllpTopics = [...new Set(hl7StatusTopics.filter((t) => t.mllp).map((t) => t.topic))];
    if (mllpTopics.length > 0) {
      subscriptions.push(
        await eventBus.subscribe({
          group: 'pa-gateway-hl7-forwarder',
          topics: mllpTopics,
          handle: createMllpForwardHandler(),
        }),
      );
    }
    workers.push(
      startTimerWorker({
        pool: db.pool,
        clock,
        logger,
        intervalMs: config.workers.pollIntervalMs,
        batchSize: config.workers.timerBatchSize,
        handlers: workflow.timers,
      }),
      startStepWorker({
        pool: db.pool,
        clock,
        logger,
        intervalMs: config.workers.pollIntervalMs,
        leaseMs: config.workers.stepLeaseMs,
        kinds: workflow.steps,
      }),
    );
    const app = buildApp({
      db,
      clock,
      logger,
      routers: [
        metricsRouter(metrics),
        inboundOrdersRouter(inbound),
        reviewRouter({ db, clock, outbound: workflow.outbound }),
      ],
    });
    server = await new Promise<Server>((resolve, reject) => {
      const listening = app.listen(config.port, config.host, () => resolve(listening));
      listening.once('error', reject);
    });
    if (config.mllp) {
      mllp = await startMllpServer({
        host: config.mllp.host,
        port: config.mllp.port,
        tenant: config.mllp.tenant ?? 'default',
        accept: (message) => acceptInboundMessage(inbound, message),
        logger,
        clock,
      });
    }
  } catch (error) {
    await mllp?.stop();
    server?.close();
    await Promise.all(subscriptions.map((s) => s.stop()));
    await relay?.stop();
    await Promise.all(workers.map((w) => w.stop()));
    await eventBus?.close();
    await db.close();
    throw error;
  }
  const address = server.address() as AddressInfo;
  const host = address.family === 'IPv6' ? `[${address.address}]` : address.address;
  const bus = config.kafka ? `Kafka ${config.kafka.brokers.join(',')}` : 'embedded bus (in the database)';
  let stopping: Promise<void> | undefined;
  return {
    db,
    url: `http://${host}:${address.port}`,
    bus,
    eventBus,
    metrics,
    ...(mllp ? { mllp: { host: mllp.host, port: mllp.port } } : {}),
    stop() {
      stopping ??= (async () => {
        await mllp?.stop().catch((error) => logger.warn(describeError(error), 'mllp listener stop failed'));
        await new Promise<void>((resolve) => {
          server!.close(() => resolve());
          server!.closeIdleConnections();
        });
        // Consumers first (their in-flight messages finish and commit), then the relay drains what they wrote.
        await Promise.all(
          subscriptions.map((s) =>
            s.stop().catch((error) => logger.warn(describeError(error), 'subscription stop failed')),
          ),
        );
        await relay!.stop().catch((error) => logger.warn(describeError(error), 'outbox relay stop failed'));
        await Promise.all(
          workers.map((w) =>
            w.stop().catch((error) => logger.warn(describeError(error), 'worker stop failed')),
          ),
        );
        await eventBus!.close().catch((error) => logger.warn(describeError(error), 'bus close failed'));
        await db.close();
      })();
      return stopping;
    },
  };
}
