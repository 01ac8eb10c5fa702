export {
  acceptInboundMessage,
  defaultInboundLimits,
  InboundDeadLetterHeader,
  type InboundDeps,
  type InboundLimits,
  type InboundMessage,
  type InboundResult,
  type InboundTransport,
  workflowAdvanceTimer,
} from './accept.ts';
export { inboundOrdersRouter } from './http-routes.ts';
export { ackCodeFor, buildAck } from './mllp/ack.ts';
export {
  defaultMllpConnectionLimits,
  type MllpConnectionLimits,
} from './mllp/connection-policy.ts';
export { frame, MllpDecoder } from './mllp/framing.ts';
export { mllpOptionsFromConfig } from './mllp/options-from-config.ts';
export { type MllpPeerRule, peerRouter } from './mllp/peers.ts';
export {
  defaultMllpMaxMessageBytes,
  type MllpServer,
  type MllpServerOptions,
  type MllpTlsOptions,
  startMllpServer,
} from './mllp/server.ts';
export { createOrderTopicHandler, createOrderTopicHandlers, OrderHeader } from './order-topic-handler.ts';
