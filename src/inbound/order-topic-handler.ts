/**
 * Handlers for the order topics (pa.orders.hl7v2, pa.orders.fhir), implementing the Bus port's
 * MessageHandler. The tenant comes from the `pagw-tenant` header, the sender from `pagw-sender` (else the
 * topic), an optional sender profile from `pagw-sender-profile`.
 *
 * A message that cannot be mapped is not an error for the bus: it is recorded, dead-lettered (outbox row on
 * pa.deadletter.v1, in the same transaction) and the handler resolves, so the offset moves on. The handler
 * throws only when the database fails (retriable: the bus delivers it again, and the redelivery is
 * recognised as the same message) or when the message names no tenant (not retriable: the bus dead-letters it).
 */
import type { IncomingMessage, MessageHandler } from '../bus/port.ts';
import { GatewayError, isGatewayError } from '../errors/index.ts';
import type { InboundFormat } from '../mapping/index.ts';
import { acceptInboundMessage, type InboundDeps } from './accept.ts';

export const OrderHeader = {
  tenant: 'pagw-tenant',
  sender: 'pagw-sender',
  profile: 'pagw-sender-profile',
  correlationId: 'pagw-correlation-id',
} as const;

export interface OrderTopicHandlerDeps extends InboundDeps {
  /** What the topic carries: raw ER7 bytes (pa.orders.hl7v2) or FHIR JSON (pa.orders.fhir). */
  readonly format: InboundFormat;
}

export function createOrderTopicHandler(deps: OrderTopicHandlerDeps): MessageHandler {
  return async (message: IncomingMessage): Promise<void> => {
    const tenant = message.headers[OrderHeader.tenant];
    if (!tenant) {
      throw new GatewayError(
        'PAGW_INBOUND_NO_TENANT',
        `The message on ${message.topic} has no ${OrderHeader.tenant} header`,
      );
    }
    try {
      const result = await acceptInboundMessage(deps, {
        tenant,
        format: deps.format,
        raw: message.value,
        sender: message.headers[OrderHeader.sender] || `topic:${message.topic}`,
        transport: 'bus',
        profile: message.headers[OrderHeader.profile] || undefined,
        correlationId: message.headers[OrderHeader.correlationId] || undefined,
        actor: { id: `bus:${message.topic}` },
        source: {
          topic: message.topic,
          partition: message.partition,
          offset: message.offset,
          key: message.key,
        },
      });
      deps.logger.info(
        {
          topic: message.topic,
          offset: message.offset,
          messageKey: result.messageKey,
          outcome: result.outcome,
          duplicate: result.duplicate,
          cases: result.caseIds.length,
          errorCode: result.errorCode,
        },
        'order message processed',
      );
    } catch (error) {
      if (isGatewayError(error) && !error.retriable) throw error;
      // A database failure: nothing was committed; let the bus retry (the retry is deduplicated).
      throw isGatewayError(error)
        ? error
        : new GatewayError('PAGW_STORE_UNAVAILABLE', 'Could not record the order message', {
            cause: error,
            retriable: true,
          });
    }
  };
}

/** Both order topics' handlers, keyed by topic name (config.topics). */
export function createOrderTopicHandlers(
  deps: InboundDeps,
  topics: { readonly ordersHl7v2: string; readonly ordersFhir: string },
): Record<string, MessageHandler> {
  return {
    [topics.ordersHl7v2]: createOrderTopicHandler({ ...deps, format: 'hl7v2' }),
    [topics.ordersFhir]: createOrderTopicHandler({ ...deps, format: 'fhir' }),
  };
}
