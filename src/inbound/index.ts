export {
  acceptInboundMessage,
  InboundDeadLetterHeader,
  type InboundDeps,
  type InboundMessage,
  type InboundResult,
  type InboundTransport,
  workflowAdvanceTimer,
} from './accept.ts';
export { inboundOrdersRouter } from './http-routes.ts';
export { ackCodeFor, buildAck } from './mllp/ack.ts';
export { frame, MllpDecoder } from './mllp/framing.ts';
export { defaultMllpMaxMessageBytes, type MllpServer, startMllpServer } from './mllp/server.ts';
export { createOrderTopicHandler, createOrderTopicHandlers, OrderHeader } from './order-topic-handler.ts';
