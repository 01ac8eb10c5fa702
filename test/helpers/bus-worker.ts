/**
 * A consumer PROCESS for fault tests (SIGKILL, restarts): the bus (Kafka or embedded), the outbox relay and the
 * reference order consumer of bus-scenario.ts, configured by environment. Prints one JSON line per event:
 * {"ready":…}, {"handled":orderId,"partition":n} after each order's transaction committed, {"stopped":true}.
 * Run: node --import tsx test/helpers/bus-worker.ts
 */
import { createBus } from '../../src/bus/index.ts';
import { systemClock } from '../../src/clock.ts';
import { loadConfig } from '../../src/config/load-config.ts';
import { createLogger } from '../../src/log/logger.ts';
import { openStore } from '../../src/store/index.ts';
import { startOutboxRelay } from '../../src/store/outbox-relay.ts';
import { caseCreatingHandler, type TestOrder } from './bus-scenario.ts';

const env = process.env;
const config = loadConfig({ env: { ...env, PAGW_CONFIG: undefined }, overrides: { logLevel: 'warn' } });
const logger = createLogger({ level: env.WORKER_LOG_LEVEL ?? 'warn', destination: process.stderr as never });
const delayMs = Number(env.WORKER_HANDLER_DELAY_MS ?? 0);
const say = (event: Record<string, unknown>) => process.stdout.write(`${JSON.stringify(event)}\n`);

const db = await openStore({ databaseUrl: config.databaseUrl, dataDir: config.dataDir });
const bus = await createBus(config, { db, logger, clock: systemClock });
const relay = startOutboxRelay({ db, bus, clock: systemClock, logger, intervalMs: 20 });
const handle = caseCreatingHandler({
  pool: db.pool,
  statusTopic: config.topics.status,
  beforeWrite: () => new Promise((resolve) => setTimeout(resolve, delayMs)),
});
const subscription = await bus.subscribe({
  group: env.WORKER_GROUP ?? 'pa-gateway-orders',
  topics: [config.topics.ordersHl7v2],
  handle: async (message) => {
    await handle(message);
    const order = JSON.parse(message.value.toString('utf8')) as TestOrder;
    say({ handled: order.orderId, partition: message.partition, offset: message.offset });
  },
});
say({ ready: true, pid: process.pid, bus: bus.kind });

process.once('SIGTERM', async () => {
  await subscription.stop();
  await relay.stop();
  await bus.close();
  await db.close();
  say({ stopped: true });
  process.exit(0);
});
