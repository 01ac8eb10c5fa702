import type { ErrorCodeSpec } from './spec.ts';

/** Codes of the bus layer (Kafka and embedded adapters, outbox relay). Document each one in docs/errors/bus.md. */
export const busErrorCodes = {
  PAGW_BUS_UNAVAILABLE: {
    httpStatus: 503,
    retriable: true,
    summary: 'The message bus (Kafka brokers or the embedded log’s database) cannot be reached or timed out.',
  },
  PAGW_BUS_PUBLISH_REJECTED: {
    httpStatus: 502,
    retriable: false,
    summary:
      'The bus refused a message for good (too large, unknown topic, not authorized); retrying the same message cannot help.',
  },
  PAGW_BUS_CLOSED: {
    httpStatus: 503,
    retriable: true,
    summary: 'The bus adapter was closed (the gateway is shutting down); the message was not published.',
  },
  PAGW_BUS_LEASE_LOST: {
    httpStatus: 409,
    retriable: true,
    summary:
      'Another instance of the consumer group took over an embedded-bus partition; this instance stops reading it and the new owner redelivers.',
  },
  PAGW_BUS_HANDLER_FAILED: {
    httpStatus: 500,
    retriable: false,
    summary:
      'A message handler threw something that is not a gateway error (a bug); the message is dead-lettered after its attempts.',
  },
} as const satisfies Record<string, ErrorCodeSpec>;
