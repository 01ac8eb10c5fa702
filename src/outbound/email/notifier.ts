/**
 * The Notifier port: sends one rendered care-team e-mail. Adapters: SMTP (./smtp-notifier.ts). A send either
 * resolves with what the server accepted or throws a NotifyError whose `retriable` says whether to try again.
 */
import type { EmailJob } from './render.ts';

export interface NotifyResult {
  /** The Message-ID the message went out with (the job's). */
  readonly messageId: string;
  /** Recipient addresses the server accepted. */
  readonly accepted: readonly string[];
  /** Recipient addresses the server refused (the message still went to the accepted ones). */
  readonly rejected: readonly string[];
}

export interface Notifier {
  send(job: EmailJob): Promise<NotifyResult>;
  close(): Promise<void>;
}
