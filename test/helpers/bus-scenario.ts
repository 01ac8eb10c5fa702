/**
 * A reference consumer for bus tests: each order message becomes one case, written with its idempotency key
 * and a status event in the outbox in ONE transaction (the inbound dedupe contract), so a redelivered order is
 * acknowledged with no side effect. It is a consumer written for the tests, not a stand-in for src/inbound.
 */
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
