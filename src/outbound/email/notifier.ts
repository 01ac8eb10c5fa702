/**
 * The Notifier port: sends one rendered care-team e-mail, or a letter the gateway mails itself with its document
 * attached (an appeal to the payer's appeal address: src/exceptions/appeal-email.ts). Adapters: SMTP
 * (./smtp-notifier.ts). A send either resolves with what the server accepted or throws a NotifyError whose
 * `retriable` says whether to try again.
 */
import type { EmailJob } from './render.ts';

/** A file sent with the message. Attachments are PHI: they never travel on the bus, only from memory to SMTP. */
export interface MailAttachment {
  readonly filename: string;
  readonly contentType: string;
  readonly content: Buffer;
}

/** What goes out: a care-team job from the notifications topic, or a message the gateway composed, with files. */
export type OutgoingMail = Omit<EmailJob, 'kind'> & { readonly attachments?: readonly MailAttachment[] };

export interface NotifyResult {
  /** The Message-ID the message went out with (the job's). */
  readonly messageId: string;
  /** Recipient addresses the server accepted. */
  readonly accepted: readonly string[];
  /** Recipient addresses the server refused (the message still went to the accepted ones). */
  readonly rejected: readonly string[];
}

export interface Notifier {
  send(mail: OutgoingMail): Promise<NotifyResult>;
  close(): Promise<void>;
}
