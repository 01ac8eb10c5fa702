/**
 * Composition root: wires config, store, HTTP API and workers into one running gateway.
 * Later layers (inbound adapters, bus, payer connectors, outbound) plug in here.
 */
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { pasNotificationRouter } from '../connectors/pas/notification-route.ts';
import { createPayerSubscriptionStore } from '../connectors/pas/subscriptions.ts';
import { analyticsRouter } from './analytics/routes.ts';
import { buildApp } from './api/app.ts';
import { caseConsoleRouter } from './api/case-console-routes.ts';
import { documentRouter } from './api/document-routes.ts';
import { reviewRouter } from './api/review-routes.ts';
import { taskRouter } from './api/task-routes.ts';
import { type Bus, createBus, type Subscription } from './bus/index.ts';
import { type Clock, systemClock } from './clock.ts';
import type { GatewayConfig } from './config/load-config.ts';
import { consoleRouter } from './console/router.ts';
import { IntakeAdmission } from './inbound/admission.ts';
import {
  acceptInboundMessage,
  createOrderTopicHandlers,
  type InboundDeps,
  inboundOrdersRouter,
  type MllpServer,
  mllpOptionsFromConfig,
  startMllpServer,
} from './inbound/index.ts';
import { pasServerRouter } from './inbound/pas/routes.ts';
import { createPasNotifier, pasSubscriptionRouter } from './inbound/pas/subscriptions.ts';
import { describeError, type Logger } from './log/logger.ts';
import {
  createMetrics,
  type GatewayMetrics,
  metricsRouter,
  registerBusinessMetrics,
  registerOutboxLagMetrics,
  registerPipelineMetrics,
} from './metrics/index.ts';
import { createEmailDeliveryHandler, createMllpForwardHandler, type Notifier } from './outbound/index.ts';
import { payerInfoFor } from './outbound/planner.ts';
import { type Database, openStore } from './store/index.ts';
import { type RelayWorker, startOutboxRelay } from './store/outbox-relay.ts';
import { readCredentials } from './vault/credentials.ts';
import { describeVault, openVault, type Vault, vaultRouter } from './vault/index.ts';
import { wirePharmacy } from './wiring/pharmacy.ts';
import { checkVaultReferences } from './wiring/vault-references.ts';
import { wireWorkflow } from './wiring/workflow.ts';
import { startAuditChainer } from './workers/audit-chainer.ts';
import { startEmbeddedVacuum } from './workers/embedded-vacuum.ts';
import { startFirstStatistics } from './workers/first-statistics.ts';
import { startQueueVacuum } from './workers/queue-vacuum.ts';
import { startStepWorker } from './workers/step-worker.ts';
import { startTimerWorker, type Worker } from './workers/timer-worker.ts';

export interface RunningGateway {
  readonly db: Database;
  readonly url: string;
  readonly bus: string;
  /** The bus adapter (Kafka or embedded) the gateway publishes and consumes through. */
  readonly eventBus: Bus;
  readonly metrics: GatewayMetrics;
  /** The secret vault (and PHI sealing); `vaultDescription` is its start-up line. */
  readonly vault: Vault;
  readonly vaultDescription: string;
  /** The HTTP app (tests sweep its routes). */
  readonly app: ReturnType<typeof buildApp>;
  /** The MLLP listener's address, when config.mllp is set. */
  readonly mllp?: { readonly host: string; readonly port: number };
  stop(): Promise<void>;
}

export async function startGateway(
  config: Readonly<GatewayConfig>,
  logger: Logger,
  clock: Clock = systemClock,
): Promise<RunningGateway> {
  const db = await openStore({
    databaseUrl: config.databaseUrl,
    dataDir: config.dataDir,
    preparedStatements: config.databasePreparedStatements,
  });
  const workers: Worker[] = [];
  const subscriptions: Subscription[] = [];
  const metrics = createMetrics();
  registerOutboxLagMetrics(metrics, { pool: db.pool, clock });
  registerBusinessMetrics(metrics.registry, { pool: db.pool, clock });
  let eventBus: Bus | undefined;
  let relay: RelayWorker | undefined;
  let server: Server | undefined;
  let mllp: MllpServer | undefined;
  let vault: Vault | undefined;
  let app: ReturnType<typeof buildApp> | undefined;
  // Where payers send PAS notifications: configured, else the address we listen on (known after listen).
  let publicUrl: string | undefined = config.pas?.publicUrl;
  let wired: ReturnType<typeof wireWorkflow> | undefined;
  // The SMTP notifier (care-team e-mail, appeals to a payer's appeal address), built below when SMTP is configured.
  let notifier: Notifier | undefined;
  try {
    vault = await openVault({ config, db, clock, logger });
    const workflow = wireWorkflow({
      config,
      db,
      clock,
      logger,
      vault,
      publicUrl: () => publicUrl,
      notifier: () => notifier,
    });
    wired = workflow;
    const payerInfo = (record: Parameters<typeof payerInfoFor>[1], at: Date) =>
      payerInfoFor(workflow.payers, record, at);
    await checkVaultReferences({
      payers: workflow.payers,
      vault,
      channels: workflow.channels,
      strict: config.vault.requireReferencedSecrets,
      logger,
    });
    const pharmacy = wirePharmacy({
      config,
      db,
      clock,
      logger,
      tenants: workflow.tenants,
      payers: workflow.payers,
      outbound: workflow.outbound,
      secrets: vault,
      phi: vault.phi,
    });
    const admission = new IntakeAdmission({
      pool: db.pool,
      clock,
      maxBacklog: config.workers.intakeMaxBacklog,
      maxWaitMs: config.workers.intakeMaxWaitMs,
    });
    const inbound: InboundDeps = {
      db,
      clock,
      logger,
      deadLetterTopic: config.topics.deadLetter,
      phi: vault.phi,
      outbound: workflow.outbound,
      holdIncomplete: true,
      cancelOrders: true,
      changeOrders: true,
      taskOutbound: workflow.taskOutbound,
      ...(config.inbound ? { limits: config.inbound } : {}),
      admission,
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
      extraTopics: [
        ...hl7StatusTopics.map((t) => t.topic),
        config.topics.tasks,
        config.topics.ehrTasks,
        pharmacy.writeBack.topic,
      ],
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
      // SMTP login from the vault, read once at start (audited as reader `smtp`): a missing secret stops the start.
      const auth = config.smtp.credentialsRef
        ? await readCredentials(
            vault,
            config.smtp.credentialsRef,
            { tenant: config.smtp.credentialsTenant, reader: 'smtp' },
            'smtp.credentialsRef',
          )
        : undefined;
      // nodemailer is loaded only when SMTP is configured (resident memory of the embedded default, issue #10).
      const { createSmtpNotifier } = await import('./outbound/email/smtp-notifier.ts');
      notifier = createSmtpNotifier({
        host: config.smtp.host,
        port: config.smtp.port,
        secure: config.smtp.secure,
        ...(auth ? { auth: { user: auth.username, pass: auth.password } } : {}),
      });
      subscriptions.push(
        await eventBus.subscribe({
          group: 'pa-gateway-notifier',
          topics: [config.topics.notifications],
          handle: createEmailDeliveryHandler({ notifier }),
        }),
      );
    }
    // Da Vinci PAS: EHRs subscribed to the PAS topic hear about decided cases (rest-hook).
    subscriptions.push(
      await eventBus.subscribe({
        group: 'pa-gateway-pas-notifier',
        topics: [config.topics.claimResponse],
        handle: createPasNotifier({
          db,
          clock,
          logger,
          tenants: workflow.tenants,
          payerInfo,
          timeoutMs: config.pas?.notifyTimeoutMs ?? 10_000,
        }),
      }),
    );
    // Pharmacy write-backs: POSTed, signed, to each sender's callback URL; the bus retries with backoff.
    if (pharmacy.writeBack.needed) {
      subscriptions.push(
        await eventBus.subscribe({
          group: 'pa-gateway-pharmacy-writeback',
          topics: [pharmacy.writeBack.topic],
          handle: pharmacy.writeBack.handler,
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
    const stepWorker = startStepWorker({
      pool: db.pool,
      clock,
      logger,
      intervalMs: config.workers.pollIntervalMs,
      leaseMs: config.workers.stepLeaseMs,
      kinds: { ...workflow.steps, ...pharmacy.steps },
      releaseLeasesOnStart: db.exclusive === true,
    });
    workers.push(
      startTimerWorker({
        pool: db.pool,
        clock,
        logger,
        intervalMs: config.workers.pollIntervalMs,
        batchSize: config.workers.timerBatchSize,
        handlers: workflow.timers,
      }),
      stepWorker,
      startAuditChainer({ pool: db.pool, logger }),
    );
    // PGlite has no autovacuum (single-user mode): the gateway vacuums its busy tables itself.
    if (db.kind === 'pglite' && db.exclusive) workers.push(startEmbeddedVacuum({ pool: db.pool, logger }));
    // The timers queue, every few seconds on either database (./workers/queue-vacuum.ts).
    if (config.workers.queueVacuumMs > 0)
      workers.push(startQueueVacuum({ pool: db.pool, logger, intervalMs: config.workers.queueVacuumMs }));
    // A new database's first statistics at once: its prepared statements' plans are made from them.
    workers.push(startFirstStatistics({ pool: db.pool, logger }));
    registerPipelineMetrics(metrics, {
      pool: db.pool,
      clock,
      figures: {
        steps: () => stepWorker.stats().inFlight,
        payerCalls: () => workflow.payerLimits.figures(),
        intakeWaiting: () => admission.figures.waiting,
      },
    });
    app = buildApp({
      db,
      clock,
      logger,
      routers: [
        metricsRouter(metrics),
        inboundOrdersRouter(inbound),
        reviewRouter({
          db,
          clock,
          outbound: workflow.outbound,
          keyFor: workflow.keyFor,
          regate: workflow.regate,
        }),
        caseConsoleRouter({
          db,
          clock,
          claimResponseTopic: config.topics.claimResponse,
          payerInfo,
          phi: vault.phi,
        }),
        taskRouter({
          db,
          clock,
          outbound: workflow.outbound,
          taskOutbound: workflow.taskOutbound,
          phi: vault.phi,
          tenants: workflow.tenants,
        }),
        documentRouter({ db, clock, phi: vault.phi }),
        analyticsRouter({ db, clock }),
        vaultRouter({ vault }),
        pasServerRouter({
          inbound,
          clock,
          tenants: workflow.tenants,
          payerInfo,
          submitWaitMs: config.pas?.submitWaitMs ?? 15_000,
          pollMs: Math.min(250, config.workers.pollIntervalMs),
        }),
        pasSubscriptionRouter({ db, clock }),
        ...pharmacy.routers,
      ],
      publicRouters: [
        consoleRouter(),
        pasNotificationRouter({ db, clock, subscriptions: createPayerSubscriptionStore(db.pool) }),
        ...pharmacy.publicRouters,
      ],
      payerInfo,
    });
    server = await new Promise<Server>((resolve, reject) => {
      const listening = app!.listen(config.port, config.host, () => resolve(listening));
      listening.once('error', reject);
    });
    if (config.mllp) {
      mllp = await startMllpServer({
        ...mllpOptionsFromConfig(config.mllp),
        accept: (message) => acceptInboundMessage(inbound, message),
        logger,
        clock,
        metrics: metrics.mllp,
      });
    }
  } catch (error) {
    await mllp?.stop();
    server?.close();
    await Promise.all(subscriptions.map((s) => s.stop()));
    await relay?.stop();
    await Promise.all(workers.map((w) => w.stop()));
    await eventBus?.close();
    await wired?.close();
    await db.close();
    throw error;
  }
  const address = server.address() as AddressInfo;
  const host = address.family === 'IPv6' ? `[${address.address}]` : address.address;
  publicUrl ??= `http://${host}:${address.port}`;
  const bus = config.kafka ? `Kafka ${config.kafka.brokers.join(',')}` : 'embedded bus (in the database)';
  let stopping: Promise<void> | undefined;
  return {
    db,
    url: `http://${host}:${address.port}`,
    bus,
    eventBus,
    metrics,
    vault: vault!,
    vaultDescription: describeVault(vault!),
    app: app!,
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
        await wired!.close().catch((error) => logger.warn(describeError(error), 'connector close failed'));
        await db.close();
      })();
      return stopping;
    },
  };
}
