/**
 * One message through a subscription, the same on every bus adapter: deliver it to the handler with retries,
 * count and log each failed attempt, and after the last one store it on the dead-letter topic.
 */
import type { Clock } from '../clock.ts';
import { describeError, type Logger } from '../log/logger.ts';
import type { BusMetrics } from '../metrics/metrics.ts';
import { deadLetterMessage } from './dead-letter.ts';
import { type DeliverOptions, deliver } from './delivery.ts';
import type { IncomingMessage, OutgoingMessage } from './port.ts';

export interface ConsumeOneOptions extends Omit<DeliverOptions, 'onFailure'> {
  readonly group: string;
  /** The topic as the broker names it (with any prefix): recorded on the dead letter. */
  readonly sourceTopic: string;
  readonly deadLetterTopic: string;
  readonly clock: Clock;
  readonly logger: Logger;
  readonly metrics?: BusMetrics;
  readonly labels: { bus: string; group: string; topic: string };
  /** Stores a dead letter; false when the subscription stopped before it could. */
  readonly publishDeadLetter: (message: OutgoingMessage) => Promise<boolean>;
}

/** True when the message is finished (handled, or dead-lettered) and its offset may be committed. */
export async function consumeOne(
  message: Omit<IncomingMessage, 'attempt'>,
  options: ConsumeOneOptions,
): Promise<boolean> {
  const { logger, metrics, labels } = options;
  const where = {
    group: options.group,
    topic: message.topic,
    partition: message.partition,
    offset: message.offset,
  };
  const started = performance.now();
  const outcome = await deliver(message, {
    ...options,
    onFailure: ({ attempt, retriable, error, delayMs }) => {
      metrics?.retries.inc({ ...labels, retriable: String(retriable) });
      logger.warn(
        { ...where, attempt, retriable, delayMs, ...describeError(error) },
        'message handler failed; retrying',
      );
    },
  });
  if (outcome.kind === 'abandoned') return false;
  if (outcome.kind === 'dead-letter') {
    const dead = deadLetterMessage(message, {
      deadLetterTopic: options.deadLetterTopic,
      sourceTopic: options.sourceTopic,
      group: options.group,
      attempts: outcome.attempts,
      error: outcome.error,
      at: options.clock.now(),
    });
    if (!(await options.publishDeadLetter(dead))) return false;
    logger.error(
      { ...where, attempts: outcome.attempts, ...describeError(outcome.error) },
      'message dead-lettered',
    );
  }
  metrics?.consumed.inc({ ...labels, outcome: outcome.kind === 'handled' ? 'handled' : 'dead_letter' });
  metrics?.handlerSeconds.observe(labels, (performance.now() - started) / 1000);
  return true;
}
