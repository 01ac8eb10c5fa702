/**
 * Delivers e-mail jobs that outboundFor wrote to the outbox (topics.notifications): a bus handler that sends each
 * one through the Notifier. A retriable NotifyError (SMTP down, 4xx) is rethrown for the bus to retry with backoff;
 * a permanent refusal is rethrown too and ends in the dead-letter topic with its code. The job's Message-ID is
 * deterministic, so a redelivery after a crash between send and commit is recognisably the same e-mail.
 */
import type { IncomingMessage, MessageHandler } from '../../bus/port.ts';
import type { Notifier, NotifyResult } from './notifier.ts';
import type { EmailJob } from './render.ts';

export function createEmailDeliveryHandler(deps: {
  notifier: Notifier;
  /** Called after each accepted send (metrics, audit); gets no content. */
  onSent?: (job: Pick<EmailJob, 'tenant' | 'caseId' | 'kind' | 'eventId'>, result: NotifyResult) => void;
}): MessageHandler {
  return async (message: IncomingMessage) => {
    const job = JSON.parse(message.value.toString('utf8')) as EmailJob;
    const result = await deps.notifier.send(job);
    deps.onSent?.({ tenant: job.tenant, caseId: job.caseId, kind: job.kind, eventId: job.eventId }, result);
  };
}
