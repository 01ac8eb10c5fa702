/**
 * The dead-letter record: the ORIGINAL key and bytes unchanged, the original headers, and headers saying why
 * and where from. An operator can replay it by publishing key and value back to the source topic.
 */
import { GatewayError } from '../errors/index.ts';
import type { BusHeaders, IncomingMessage, OutgoingMessage } from './port.ts';

export const DeadLetterHeader = {
  reason: 'pagw-dlq-reason',
  errorCode: 'pagw-dlq-error-code',
  sourceTopic: 'pagw-dlq-source-topic',
  sourcePartition: 'pagw-dlq-source-partition',
  sourceOffset: 'pagw-dlq-source-offset',
  group: 'pagw-dlq-group',
  attempts: 'pagw-dlq-attempts',
  at: 'pagw-dlq-at',
} as const;

const maxReasonLength = 2000;

/** Code and reason of a failure. Ours name fields, not values; a foreign error keeps its class and message. */
export function describeFailure(error: unknown): { code: string; reason: string } {
  if (error instanceof GatewayError) {
    const problems = error.problems.map((p) => `${p.location}: ${p.message}`).join('; ');
    const reason = problems ? `${error.message} (${problems})` : error.message;
    return { code: error.code, reason: reason.slice(0, maxReasonLength) };
  }
  const text = error instanceof Error ? `${error.name}: ${error.message}` : `thrown ${typeof error}`;
  return { code: 'PAGW_BUS_HANDLER_FAILED', reason: text.slice(0, maxReasonLength) };
}

export function deadLetterMessage(
  message: Omit<IncomingMessage, 'attempt'>,
  context: {
    readonly deadLetterTopic: string;
    /** The source topic as named on the wire (with any prefix), so an operator can find the original. */
    readonly sourceTopic: string;
    readonly group: string;
    readonly attempts: number;
    readonly error: unknown;
    readonly at: Date;
  },
): OutgoingMessage {
  const { code, reason } = describeFailure(context.error);
  const headers: BusHeaders = {
    ...message.headers,
    [DeadLetterHeader.reason]: reason,
    [DeadLetterHeader.errorCode]: code,
    [DeadLetterHeader.sourceTopic]: context.sourceTopic,
    [DeadLetterHeader.sourcePartition]: String(message.partition),
    [DeadLetterHeader.sourceOffset]: message.offset,
    [DeadLetterHeader.group]: context.group,
    [DeadLetterHeader.attempts]: String(context.attempts),
    [DeadLetterHeader.at]: context.at.toISOString(),
  };
  return { topic: context.deadLetterTopic, key: message.key, value: message.value, headers };
}
