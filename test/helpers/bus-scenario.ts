/**
 * A reference consumer for bus tests: each order message becomes one case, written with its idempotency key
 * and a status event in the outbox in ONE transaction (the inbound dedupe contract), so a redelivered order is
 * acknowledged with no side effect. It is a consumer written for the tests, not a stand-in for src/inbound.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import path from 'node:path';
import { createInterface } from 'node:readline';
import type pg from 'pg';
import type { MessageHandler, OutgoingMessage } from '../../src/bus/port.ts';
import { ValidationError } from '../../src/errors/index.ts';
import { caseIdFor, createCase, withTransaction } from '../../src/store/index.ts';
import { sampleRequest } from './fixtures.ts';
import { testActor } from './store.ts';

export interface TestOrder {
  readonly tenant: string;
  readonly orderId: string;
  /** A poison order: the handler always refuses it. */
  readonly poison?: boolean;
}

export function orderMessage(topic: string, order: TestOrder): OutgoingMessage {
  return {
    topic,
    key: order.orderId,
    value: Buffer.from(JSON.stringify(order)),
    headers: { 'pagw-tenant': order.tenant },
  };
}

export function caseIdOfOrder(order: Pick<TestOrder, 'tenant' | 'orderId'>): string {
  return caseIdFor(order.tenant, `order:${order.orderId}`);
}

export function caseCreatingHandler(deps: {
  pool: pg.Pool;
  statusTopic: string;
  /** Called inside the handler before the transaction (a hook for "die in the middle" tests). */
  beforeWrite?: (order: TestOrder) => Promise<void> | void;
}): MessageHandler {
  return async (message) => {
    const order = JSON.parse(message.value.toString('utf8')) as TestOrder;
    if (order.poison) {
      throw new ValidationError('PAGW_VALIDATION_FAILED', 'The order cannot be mapped', {
        problems: [{ location: 'ORC-2', message: 'placer order number is malformed' }],
      });
    }
    await deps.beforeWrite?.(order);
    const request = sampleRequest({ tenant: order.tenant, idempotencyKey: `order:${order.orderId}` });
    const caseId = caseIdOfOrder(order);
    await withTransaction(deps.pool, (tx) =>
      createCase(tx, {
        request,
        actor: testActor,
        at: new Date(),
        correlationId: order.orderId,
        outbox: [
          {
            topic: deps.statusTopic,
            key: caseId,
            value: { caseId, orderId: order.orderId, state: 'received' },
            headers: { 'pagw-schema-version': 'status.v1' },
          },
        ],
      }),
    );
  };
}

export interface WorkerProcess {
  readonly child: ChildProcess;
  /** Order ids this process handled (its transaction committed), in order. */
  readonly handled: string[];
  /** Partitions it handled orders from. */
  readonly partitions: Set<number>;
  /** Its latest Kafka group assignment (from its 'joined consumer group' log line): topic → partitions. */
  assignment(): Record<string, number[]> | undefined;
  ready(): Promise<void>;
  exited(): Promise<number | null>;
  stderr(): string;
}

const workerScript = path.join(import.meta.dirname, 'bus-worker.ts');

/** Starts test/helpers/bus-worker.ts as a separate process with the given environment. */
export function startWorker(env: NodeJS.ProcessEnv): WorkerProcess {
  const child = spawn(process.execPath, ['--import', 'tsx', workerScript], {
    env,
    cwd: path.join(import.meta.dirname, '../..'),
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const handled: string[] = [];
  const partitions = new Set<number>();
  let err = '';
  let resolveReady: () => void = () => {};
  let rejectReady: (error: Error) => void = () => {};
  const ready = new Promise<void>((resolve, reject) => {
    resolveReady = resolve;
    rejectReady = reject;
  });
  const exited = new Promise<number | null>((resolve) => {
    child.once('exit', (code) => {
      rejectReady(new Error(`worker exited with ${code} before it was ready: ${err}`));
      resolve(code);
    });
  });
  createInterface({ input: child.stdout! }).on('line', (line) => {
    const event = JSON.parse(line) as { ready?: boolean; handled?: string; partition?: number };
    if (event.ready) resolveReady();
    if (event.handled) {
      handled.push(event.handled);
      partitions.add(event.partition!);
    }
  });
  let assignment: Record<string, number[]> | undefined;
  createInterface({ input: child.stderr! }).on('line', (line) => {
    err += `${line}\n`;
    try {
      const entry = JSON.parse(line) as { msg?: string; assignment?: Record<string, number[]> };
      if (entry.msg === 'joined consumer group') assignment = entry.assignment;
    } catch {
      // not a log line
    }
  });
  return {
    child,
    handled,
    partitions,
    assignment: () => assignment,
    ready: () => ready,
    exited: () => exited,
    stderr: () => err,
  };
}
