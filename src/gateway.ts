/**
 * Composition root: wires config, store, HTTP API and workers into one running gateway.
 * Later layers (inbound adapters, bus, payer connectors, outbound) plug in here.
 */
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { buildApp } from './api/app.ts';
import { type Clock, systemClock } from './clock.ts';
import type { GatewayConfig } from './config/load-config.ts';
import { describeError, type Logger } from './log/logger.ts';
import { type Database, openStore } from './store/index.ts';
import { startTimerWorker, type Worker } from './workers/timer-worker.ts';

export interface RunningGateway {
  readonly db: Database;
  readonly url: string;
  readonly bus: string;
  stop(): Promise<void>;
}

export async function startGateway(
  config: Readonly<GatewayConfig>,
  logger: Logger,
  clock: Clock = systemClock,
): Promise<RunningGateway> {
  const db = await openStore({ databaseUrl: config.databaseUrl, dataDir: config.dataDir });
  const workers: Worker[] = [];
  let server: Server | undefined;
  try {
    workers.push(
      startTimerWorker({
        pool: db.pool,
        clock,
        logger,
        intervalMs: config.workers.pollIntervalMs,
        batchSize: config.workers.timerBatchSize,
        handlers: {},
      }),
    );
    const app = buildApp({ db, clock, logger });
    server = await new Promise<Server>((resolve, reject) => {
      const listening = app.listen(config.port, config.host, () => resolve(listening));
      listening.once('error', reject);
    });
  } catch (error) {
    await Promise.all(workers.map((w) => w.stop()));
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
    stop() {
      stopping ??= (async () => {
        await new Promise<void>((resolve) => {
          server!.close(() => resolve());
          server!.closeIdleConnections();
        });
        await Promise.all(
          workers.map((w) =>
            w.stop().catch((error) => logger.warn(describeError(error), 'worker stop failed')),
          ),
        );
        await db.close();
      })();
      return stopping;
    },
  };
}
