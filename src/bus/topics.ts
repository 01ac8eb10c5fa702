import { GatewayError } from '../errors/index.ts';
import type { OutgoingMessage } from './port.ts';

/** Kafka's rule for topic names, applied by both adapters so a name that works embedded works on Kafka. */
const legalTopicName = /^[A-Za-z0-9._-]{1,249}$/;

/** Refuses (for good) a batch holding a message for a topic name Kafka would not accept. */
export function assertTopicNames(messages: readonly OutgoingMessage[], prefix = ''): void {
  for (const { topic } of messages) {
    const wire = prefix + topic;
    if (!legalTopicName.test(wire) || wire === '.' || wire === '..') {
      throw new GatewayError(
        'PAGW_BUS_PUBLISH_REJECTED',
        `Topic name '${wire.slice(0, 260)}' is not a legal Kafka topic name (letters, digits, . _ -; at most 249)`,
      );
    }
  }
}
