/**
 * An appeal by e-mail (issue #14 item 6): when the case's channel takes no appeal (PAS, portal — connector without
 * `appeal`), the approved appeal goes to the payer's appeal address (payer file `appeals.email`) with its letter
 * attached. The letter is sealed PHI: it is opened here through the audited vault path and handed from memory to the
 * SMTP notifier port — never put on the bus, unlike care-team e-mail jobs.
 *
 * Exactly once across retries: the send is recorded on the appeal (`submitted_via = 'email'`, still `approved`) in
 * its own transaction right after the server took it, so a step retried after a failure to record `appeal_submitted`
 * finds it sent and does not mail again. A crash between the server's acceptance and that record can repeat the
 * message once; it then carries the same Message-ID (derived from the appeal), so the payer's mailbox sees a repeat.
 */
import { appendAuditEntries } from '../audit/audit-log.ts';
import { GatewayError } from '../errors/index.ts';
import type { Notifier } from '../outbound/email/notifier.ts';
import type { TenantSettings } from '../outbound/types.generated.ts';
import { getAppeal, updateAppeal } from '../store/appeals.ts';
import type { CaseRecord } from '../store/cases.ts';
import type { Database } from '../store/database.ts';
import { withTransaction } from '../store/sql.ts';
import type { PhiCipher } from '../vault/phi.ts';
import { appealToSend } from './appeals.ts';

/** The reader named in the audit log when the letter is opened to be mailed. */
export const appealMailReader = 'email:appeal';

export interface AppealMailDeps {
  readonly db: Pick<Database, 'pool'>;
  readonly phi: PhiCipher;
  readonly tenants: { get(tenant: string): Readonly<TenantSettings> };
  /** The SMTP notifier, once the gateway has one (it is built after the workflow, with its vault login). */
  notifier(): Notifier | undefined;
}

export interface AppealMailed {
  readonly messageId: string;
  /** The appeal had been mailed by an earlier attempt of this step: nothing was sent now. */
  readonly alreadySent: boolean;
}

/** The Message-ID of an appeal's e-mail: the same for every attempt, so a repeat is recognisable. */
export function appealMessageId(appealId: string): string {
  return `<appeal-${appealId}@pa-gateway>`;
}

function cannotMail(message: string): never {
  throw new GatewayError('PAGW_INTERNAL', message, { retriable: false });
}

/**
 * Mails an approved appeal to the payer's appeal address; undefined when the appeal is not (or no longer) waiting to
 * be sent. Throws the notifier's error (retriable or not) when the SMTP server does not take it.
 */
export async function mailAppeal(
  deps: AppealMailDeps,
  record: CaseRecord,
  appealId: string,
  to: { readonly address: string; readonly name?: string },
  at: Date,
): Promise<AppealMailed | undefined> {
  const appeal = await getAppeal(deps.db.pool, record.tenant, appealId);
  if (appeal?.state !== 'approved') return undefined;
  const messageId = appealMessageId(appealId);
  if (appeal.submittedVia === 'email') return { messageId, alreadySent: true };
  const notifier = deps.notifier();
  if (!notifier) cannotMail('The payer takes appeals by e-mail and no SMTP server is configured (SMTP_HOST)');
  const email = deps.tenants.get(record.tenant).email;
  if (!email) cannotMail(`Tenant ${record.tenant} has no e-mail sender (email.from) to mail an appeal from`);
  const toSend = await appealToSend(deps, record, appealId, appealMailReader);
  if (!toSend) return undefined;
  const payerName = record.decision?.payer.name ?? record.decision?.payer.id ?? 'the payer';
  const reference = toSend.previousAuthorizationNumber ?? toSend.administrativeReference;
  // Subject and body name references only; the letter (PHI) is the attachment.
  const subject = `Request for reconsideration of a prior authorization decision${reference ? ` (${reference})` : ''}`;
  const lines = [
    `To ${payerName}, appeals:`,
    '',
    'Attached is our request for reconsideration of your prior authorization decision' +
      (reference ? ` ${reference}` : '') +
      ', with the evidence checklist.',
    toSend.expedited ? 'We ask for an expedited review.' : '',
    '',
    `Our reference: case ${record.id}`,
    `${deps.tenants.get(record.tenant).displayName}`,
  ].filter((line, i, all) => line !== '' || all[i - 1] !== '');
  const text = lines.join('\n');
  const html = lines.map((l) => (l ? `<p>${escapeHtml(l)}</p>` : '')).join('');
  const result = await notifier.send({
    tenant: record.tenant,
    caseId: record.id,
    eventId: `appeal:${appealId}`,
    messageId,
    from: email.from,
    ...(email.replyTo ? { replyTo: email.replyTo } : {}),
    to: [to],
    subject,
    text,
    html,
    attachments: [
      {
        filename: `appeal-${record.id}.pdf`,
        contentType: toSend.letter.contentType,
        content: toSend.letter.content,
      },
    ],
  });
  if (result.accepted.length === 0)
    throw new GatewayError('PAGW_NOTIFY_REJECTED', 'The SMTP server refused the appeal address');
  await withTransaction(deps.db.pool, async (tx) => {
    await updateAppeal(tx, appealId, { state: 'approved', at, submittedVia: 'email' });
    await appendAuditEntries(tx, [
      {
        tenant: record.tenant,
        actor: { id: 'system:workflow' },
        action: 'case.appeal_emailed',
        caseId: record.id,
        details: { appealId, messageId, letterId: toSend.letter.documentId },
        at,
      },
    ]);
  });
  return { messageId, alreadySent: false };
}

function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}
