/**
 * The PA-flag webhook, received: a pharmacy system posts a signed flag for a prescription that needs prior
 * authorization. In order, each check with its own answer (docs/pharmacy.md):
 *
 *   sender     X-PAGW-Sender names a registered sender             else 401 PAGW_WEBHOOK_SENDER_UNKNOWN (audited)
 *   signature  HMAC-SHA256 of the raw body under its vault secret  else 401 PAGW_WEBHOOK_SIGNATURE_INVALID
 *   payload    JSON the sender's mapping reads, every field valid  else 422 PAGW_WEBHOOK_PAYLOAD_INVALID (paths)
 *   window     the payload's timestamp within ±window of our clock else 403 PAGW_WEBHOOK_REPLAY_REFUSED
 *   duplicate  (sender, prescription, event) already recorded     → 200 with the first flag, nothing written
 *   accepted   → 202: message + flag + drafting timer + audit, in ONE transaction, answered after the commit
 *
 * Nothing a registered sender posts is lost: a refused flag's bytes are recorded in inbound_messages (keyed by a
 * hash of the bytes, so a resend records nothing new) and dead-lettered with the reasons, and every refusal is
 * audited. The answer is always decided afresh (signature, window), never read back from an earlier refusal: once
 * a wrong secret is fixed in the vault, the pharmacy's resend goes through.
 */
import { createHash } from 'node:crypto';
import { type Actor, appendAudit } from '../../audit/audit-log.ts';
import { DeadLetterHeader } from '../../bus/dead-letter.ts';
import type { Clock } from '../../clock.ts';
import { type ErrorCode, GatewayError, isGatewayError, type Problem } from '../../errors/index.ts';
import { describeError, type Logger } from '../../log/logger.ts';
import { mapPaFlag, type PaFlag } from '../../mapping/pharmacy/flag.ts';
import type { Database } from '../../store/database.ts';
import { deterministicUuid } from '../../store/ids.ts';
import { insertOutboxMessages, OutboxHeader } from '../../store/outbox.ts';
import { insertPharmacyRequest, pharmacyRequestByMessageKey } from '../../store/pharmacy-requests.ts';
import { type Tx, withTransaction } from '../../store/sql.ts';
import { scheduleTimer } from '../../store/timers.ts';
import type { PhiCipher } from '../../vault/phi.ts';
import type { SecretReader } from '../../vault/port.ts';
import { InboundDeadLetterHeader, inboundRawBinding } from '../accept.ts';
import { storableText } from '../storable.ts';
import type { PharmacySenderConfig, PharmacySenders } from './senders.ts';
import { verifySignature } from './signature.ts';

/** The step that drafts a flag (src/workers/pharmacy-drafter.ts). */
export const PHARMACY_DRAFT = 'pharmacy.draft';
/** inbound_messages.format of webhook flags. */
export const PHARMACY_FORMAT = 'pharmacy';
/** The audit tenant of a caller that names no sender we know (there is no tenant to file it under). */
const noTenant = '-';

export interface PharmacyIntakeDeps {
  readonly db: Pick<Database, 'pool'>;
  readonly clock: Clock;
  readonly logger: Logger;
  readonly senders: PharmacySenders;
  readonly secrets: SecretReader;
  /** Seals the flag's raw bytes (PHI at rest), as every other inbound message is. */
  readonly phi: Pick<PhiCipher, 'seal'>;
  /** config.topics.deadLetter. */
  readonly deadLetterTopic: string;
}

export interface WebhookDelivery {
  /** X-PAGW-Sender. */
  readonly sender: string | undefined;
  /** Request headers, lower-case names. */
  readonly headers: Readonly<Record<string, string | undefined>>;
  readonly raw: Buffer;
}

export type WebhookAnswer =
  | {
      readonly kind: 'accepted' | 'duplicate';
      readonly status: 202 | 200;
      readonly requestId: string;
      readonly tenant: string;
      readonly requestStatus: string;
      readonly caseId: string | null;
    }
  | { readonly kind: 'refused'; readonly error: GatewayError };

const sha256 = (data: Buffer | string) => createHash('sha256').update(data).digest('hex');

/** The flag's idempotency key: (sender, prescription, event) as issue #15 defines duplicates. */
export function flagMessageKey(sender: string, flag: Pick<PaFlag, 'prescriptionId' | 'eventType'>): string {
  return `pharmacy:${sender}:${flag.prescriptionId}:${flag.eventType}`;
}

export function pharmacyRequestId(tenant: string, messageKey: string): string {
  return deterministicUuid('pharmacy-request', tenant, messageKey);
}

function refusal(code: ErrorCode, message: string, problems: Problem[] = []): GatewayError {
  return new GatewayError(code, message, { problems });
}

export async function receivePaFlag(
  deps: PharmacyIntakeDeps,
  delivery: WebhookDelivery,
): Promise<WebhookAnswer> {
  const at = deps.clock.now();
  const named = delivery.sender?.trim();
  const sender = named ? deps.senders.get(named) : undefined;
  if (!sender) {
    const error = refusal(
      'PAGW_WEBHOOK_SENDER_UNKNOWN',
      named ? 'No tenant registers this sender' : 'The X-PAGW-Sender header is missing',
    );
    await withTransaction(deps.db.pool, (tx) =>
      appendAudit(tx, {
        tenant: noTenant,
        actor: { id: `webhook:${storableText((named ?? '').slice(0, 64)) || '(none)'}` },
        action: 'webhook.refused',
        details: { errorCode: error.code, bytes: delivery.raw.length },
        at,
      }),
    );
    return { kind: 'refused', error };
  }
  const actor: Actor = { id: `webhook:${sender.id}`, onBehalfOf: `sender:${sender.id}` };

  let secret: string;
  try {
    secret = await deps.secrets.read(sender.webhookSecret, {
      tenant: sender.tenant,
      reader: 'webhook:pharmacy',
      onBehalfOf: `sender:${sender.id}`,
    });
  } catch (error) {
    if (!isGatewayError(error) || error.code.startsWith('PAGW_STORE')) throw error;
    // Without the secret nothing can be trusted, and nothing is recorded: the sender resends once it is stored.
    deps.logger.error(
      { sender: sender.id, tenant: sender.tenant, ...describeError(error) },
      'pharmacy webhook secret unavailable: flags are refused until it is stored',
    );
    return {
      kind: 'refused',
      error: new GatewayError(
        'PAGW_WEBHOOK_SECRET_UNAVAILABLE',
        'The signature cannot be checked now; resend later',
        { cause: error },
      ),
    };
  }

  const signatureHeader = delivery.headers[sender.mapping.signature.header.toLowerCase()];
  if (!verifySignature(delivery.raw, signatureHeader, secret, sender.mapping.signature)) {
    const error = refusal(
      'PAGW_WEBHOOK_SIGNATURE_INVALID',
      signatureHeader === undefined
        ? `The ${sender.mapping.signature.header} header is missing`
        : `The ${sender.mapping.signature.header} header does not sign this body`,
    );
    await recordRefusal(deps, sender, delivery.raw, {
      key: `pharmacy:${sender.id}:unauthenticated:${sha256(Buffer.concat([delivery.raw, Buffer.from(`\n${signatureHeader ?? ''}`)]))}`,
      error,
      action: 'webhook.signature_invalid',
      actor,
      at,
    });
    return { kind: 'refused', error };
  }

  let payload: unknown;
  let problems: Problem[] | undefined;
  try {
    payload = JSON.parse(delivery.raw.toString('utf8'));
  } catch (error) {
    // The parser's own message quotes the input: only the position is kept (no PHI in problems or audit rows).
    const position = /position (\d+)/.exec((error as Error).message)?.[1];
    problems = [
      { location: '$', message: `is not valid JSON${position ? ` (at character ${position})` : ''}` },
    ];
  }
  const mapped = problems ? undefined : mapPaFlag(sender.mapping, payload);
  if (!mapped?.ok) {
    const error = refusal(
      'PAGW_WEBHOOK_PAYLOAD_INVALID',
      `The PA flag cannot be read with mapping ${sender.mapping.id}`,
      [...(problems ?? (mapped && !mapped.ok ? mapped.problems : []))],
    );
    await recordRefusal(deps, sender, delivery.raw, {
      key: `pharmacy:${sender.id}:invalid:${sha256(delivery.raw)}`,
      error,
      action: 'inbound.rejected',
      actor,
      at,
    });
    return { kind: 'refused', error };
  }
  const flag = mapped.flag;

  const skewMs = Math.abs(at.getTime() - Date.parse(flag.occurredAt));
  if (skewMs > sender.replayWindowMs) {
    const error = refusal(
      'PAGW_WEBHOOK_REPLAY_REFUSED',
      `The flag's timestamp is ${Math.round(skewMs / 1000)} s from the gateway's clock (window ±${sender.replayWindowMs / 1000} s): a replay, or a skewed clock; re-sign it with the current time`,
      [{ location: '$.timestamp', message: 'outside the replay window' }],
    );
    await recordRefusal(deps, sender, delivery.raw, {
      key: `pharmacy:${sender.id}:stale:${sha256(delivery.raw)}`,
      error,
      action: 'webhook.replay_refused',
      actor,
      at,
    });
    return { kind: 'refused', error };
  }

  return recordFlag(deps, sender, delivery.raw, flag, actor, at);
}

async function recordFlag(
  deps: PharmacyIntakeDeps,
  sender: PharmacySenderConfig,
  raw: Buffer,
  flag: PaFlag,
  actor: Actor,
  at: Date,
): Promise<WebhookAnswer> {
  const tenant = sender.tenant;
  const key = flagMessageKey(sender.id, flag);
  const requestId = pharmacyRequestId(tenant, key);
  // PHI at rest: the flag's bytes are sealed under the tenant's data key before the transaction (sealing may read
  // the key table, and the embedded database runs one transaction at a time), opened only by readInboundRaw.
  const sealed = await deps.phi.seal(tenant, inboundRawBinding(sha256(raw)), raw);
  return withTransaction(deps.db.pool, async (tx): Promise<WebhookAnswer> => {
    const inserted = await tx.query(
      `INSERT INTO inbound_messages
         (tenant_id, message_key, format, raw, received_at, outcome, case_ids, problems, fingerprint)
       VALUES ($1, $2, $3, $4, $5, 'accepted', '{}', NULL, $6)
       ON CONFLICT (tenant_id, message_key) DO NOTHING RETURNING message_key`,
      [tenant, key, PHARMACY_FORMAT, sealed, at, sha256(raw)],
    );
    if (inserted.rowCount === 0) {
      const first = await pharmacyRequestByMessageKey(tx, tenant, key);
      return {
        kind: 'duplicate',
        status: 200,
        requestId: first?.id ?? requestId,
        tenant,
        requestStatus: first?.status ?? 'received',
        caseId: first?.caseId ?? null,
      };
    }
    await insertPharmacyRequest(tx, { id: requestId, tenant, sender: sender.id, messageKey: key, flag, at });
    await scheduleTimer(
      tx,
      { tenant, kind: PHARMACY_DRAFT, dueAt: at, payload: { requestId }, lane: 'payer' },
      at,
    );
    await appendAudit(tx, {
      tenant,
      actor,
      action: 'inbound.accepted',
      details: { transport: 'webhook', format: PHARMACY_FORMAT, messageKey: key, requestId },
      at,
    });
    return { kind: 'accepted', status: 202, requestId, tenant, requestStatus: 'received', caseId: null };
  });
}

/** Records a refused flag's bytes once (keyed by their hash) and dead-letters them; audits every attempt. */
async function recordRefusal(
  deps: PharmacyIntakeDeps,
  sender: PharmacySenderConfig,
  raw: Buffer,
  refused: { key: string; error: GatewayError; action: string; actor: Actor; at: Date },
): Promise<void> {
  const { key, error, at } = refused;
  const problems = error.problems.map((p) => ({ location: p.location, message: storableText(p.message) }));
  const sealed = await deps.phi.seal(sender.tenant, inboundRawBinding(sha256(raw)), raw);
  await withTransaction(deps.db.pool, async (tx: Tx) => {
    const inserted = await tx.query(
      `INSERT INTO inbound_messages
         (tenant_id, message_key, format, raw, received_at, outcome, case_ids, problems, fingerprint)
       VALUES ($1, $2, $3, $4, $5, 'rejected', '{}', $6, $7)
       ON CONFLICT (tenant_id, message_key) DO NOTHING RETURNING message_key`,
      [sender.tenant, key, PHARMACY_FORMAT, sealed, at, { code: error.code, errors: problems }, sha256(raw)],
    );
    if ((inserted.rowCount ?? 0) > 0) {
      await insertOutboxMessages(tx, { tenant: sender.tenant, at }, [
        {
          topic: deps.deadLetterTopic,
          key,
          value: raw,
          headers: {
            [DeadLetterHeader.reason]: `${error.code}: ${error.message}`.slice(0, 2000),
            [DeadLetterHeader.errorCode]: error.code,
            [DeadLetterHeader.at]: at.toISOString(),
            [InboundDeadLetterHeader.transport]: 'webhook',
            [InboundDeadLetterHeader.sender]: sender.id,
            [InboundDeadLetterHeader.format]: PHARMACY_FORMAT,
            [InboundDeadLetterHeader.messageKey]: key,
            [InboundDeadLetterHeader.problems]: JSON.stringify(problems.slice(0, 20)),
            [OutboxHeader.contentType]: 'application/json',
          },
        },
      ]);
    }
    await appendAudit(tx, {
      tenant: sender.tenant,
      actor: refused.actor,
      action: refused.action,
      details: {
        transport: 'webhook',
        format: PHARMACY_FORMAT,
        messageKey: key,
        errorCode: error.code,
        recorded: (inserted.rowCount ?? 0) > 0,
        problems: problems.slice(0, 50),
      },
      at,
    });
  });
}
