/**
 * The SMTP adapter of the Notifier port, over nodemailer. One pooled transport per notifier; the options come from
 * the gateway's configuration (this module reads no environment). Errors are mapped once: a 5xx answer is a
 * permanent refusal (PAGW_NOTIFY_REJECTED), anything else (connection, timeout, 4xx) can be retried
 * (PAGW_NOTIFY_UNAVAILABLE). Messages name the SMTP code, never addresses or content.
 */
import nodemailer from 'nodemailer';
import { NotifyError } from '../errors.ts';
import type { Notifier, NotifyResult, OutgoingMail } from './notifier.ts';
import type { Mailbox } from './render.ts';

export interface SmtpNotifierOptions {
  readonly host: string;
  readonly port: number;
  /** TLS from the first byte (port 465); otherwise STARTTLS is used when the server offers it. */
  readonly secure: boolean;
  readonly auth?: { readonly user: string; readonly pass: string };
  /** Refuse to send without STARTTLS. */
  readonly requireTls?: boolean;
  /** Accept a self-signed server certificate (tests, a relay on localhost). */
  readonly allowSelfSigned?: boolean;
  /** Connection, greeting and socket timeout (default 10 s). */
  readonly timeoutMs?: number;
}

function address(mailbox: Mailbox): { name: string; address: string } | string {
  return mailbox.name ? { name: mailbox.name, address: mailbox.address } : mailbox.address;
}

function toNotifyError(error: unknown): NotifyError {
  const e = error as { responseCode?: number; code?: string };
  const code = typeof e.responseCode === 'number' ? e.responseCode : undefined;
  if (code !== undefined && code >= 500) {
    return new NotifyError('PAGW_NOTIFY_REJECTED', `The SMTP server refused the e-mail (${code})`, {
      cause: error,
    });
  }
  return new NotifyError(
    'PAGW_NOTIFY_UNAVAILABLE',
    code !== undefined
      ? `The SMTP server deferred the e-mail (${code})`
      : `The SMTP server could not be reached (${e.code ?? 'connection failed'})`,
    { cause: error },
  );
}

export function createSmtpNotifier(options: SmtpNotifierOptions): Notifier {
  const timeout = options.timeoutMs ?? 10_000;
  const transport = nodemailer.createTransport({
    host: options.host,
    port: options.port,
    secure: options.secure,
    ...(options.auth ? { auth: { user: options.auth.user, pass: options.auth.pass } } : {}),
    requireTLS: options.requireTls ?? false,
    tls: { rejectUnauthorized: !options.allowSelfSigned },
    connectionTimeout: timeout,
    greetingTimeout: timeout,
    socketTimeout: timeout,
    pool: true,
    maxConnections: 2,
  });

  return {
    async send(job: OutgoingMail): Promise<NotifyResult> {
      try {
        const info = await transport.sendMail({
          from: address(job.from),
          ...(job.replyTo ? { replyTo: address(job.replyTo) } : {}),
          to: job.to.map(address),
          subject: job.subject,
          text: job.text,
          html: job.html,
          messageId: job.messageId,
          headers: { 'X-PAGW-Case-Id': job.caseId, 'X-PAGW-Event-Id': job.eventId },
          ...(job.attachments?.length
            ? {
                attachments: job.attachments.map((a) => ({
                  filename: a.filename,
                  contentType: a.contentType,
                  content: a.content,
                })),
              }
            : {}),
        });
        const flat = (list: unknown[] | undefined) =>
          (list ?? []).map((a) => (typeof a === 'string' ? a : (a as { address: string }).address));
        return { messageId: job.messageId, accepted: flat(info.accepted), rejected: flat(info.rejected) };
      } catch (error) {
        throw toNotifyError(error);
      }
    },
    async close(): Promise<void> {
      transport.close();
    },
  };
}
