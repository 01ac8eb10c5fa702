/**
 * Persistence of the X12 connector (migration 0003_x12.sql): control numbers that are unique under
 * concurrency, and the payer_submissions log in which every exchange is recorded — committed — before it is
 * sent, so a crash can never hide a submission from the reconciliation that must precede any resend.
 *
 * The request and response payloads hold PHI: they are sealed under the tenant's data key (src/vault/phi.ts),
 * bound to their row id and field, and come back in clear only through `openPayloads`, which audits the read.
 * Records carry them sealed (`request`/`response` are `pgv1:…` text), so nothing else can show them by accident.
 */
import type pg from 'pg';
import { PersistError } from '../../src/errors/index.ts';
import type { HeldWrites } from '../../src/store/held-writes.ts';
import { openSubmissionPayloads, submissionPayloadBinding } from '../../src/store/payer-payloads.ts';
import { type Sql, withTransaction } from '../../src/store/sql.ts';
import type { Statement } from '../../src/store/together.ts';
import type { PhiCipher, PhiUse } from '../../src/vault/phi.ts';

export { openSubmissionPayloads, submissionPayloadBinding };

import { ClearinghouseError } from './errors.ts';

export type SubmissionPurpose =
  | 'submit'
  | 'inquire'
  | 'reconcile'
  | 'cancel'
  | 'eligibility'
  | 'attachment'
  | 'appeal'
  | 'update';
export type SubmissionStatus = 'sending' | 'unknown' | 'failed' | 'not_received' | 'answered' | 'rejected';

export interface SubmissionRecord {
  readonly id: number;
  readonly tenant: string;
  readonly caseId: string;
  readonly payerId: string;
  readonly channel: 'x12' | 'pas' | 'portal';
  readonly purpose: SubmissionPurpose;
  readonly traceNumber: string;
  readonly attempt: number;
  readonly status: SubmissionStatus;
  readonly interchangeControlNumber: string | null;
  readonly groupControlNumber: string | null;
  readonly payloadId: string | null;
  /** Sealed (`pgv1:…`): open with X12Store.openPayloads. */
  readonly request: string | null;
  /** Sealed (`pgv1:…`): open with X12Store.openPayloads. */
  readonly response: string | null;
  readonly outcome: unknown;
  readonly errorCode: string | null;
  readonly createdAt: Date;
  readonly completedAt: Date | null;
}

interface Row {
  id: number;
  tenant_id: string;
  case_id: string;
  payer_id: string;
  channel: 'x12' | 'pas' | 'portal';
  purpose: SubmissionPurpose;
  trace_number: string;
  attempt: number;
  status: SubmissionStatus;
  interchange_control_number: string | null;
  group_control_number: string | null;
  payload_id: string | null;
  request: string | null;
  response: string | null;
  outcome: unknown;
  error_code: string | null;
  created_at: Date;
  completed_at: Date | null;
}

function toRecord(row: Row): SubmissionRecord {
  return {
    id: row.id,
    tenant: row.tenant_id,
    caseId: row.case_id,
    payerId: row.payer_id,
    channel: row.channel,
    purpose: row.purpose,
    traceNumber: row.trace_number,
    attempt: row.attempt,
    status: row.status,
    interchangeControlNumber: row.interchange_control_number,
    groupControlNumber: row.group_control_number,
    payloadId: row.payload_id,
    request: row.request,
    response: row.response,
    outcome: row.outcome,
    errorCode: row.error_code,
    createdAt: row.created_at,
    completedAt: row.completed_at,
  };
}

function persistError(error: unknown, what: string): never {
  throw new PersistError('PAGW_STORE_UNAVAILABLE', `Could not ${what}`, { cause: error });
}

/** Statuses a submit can be in while the payer may hold it. */
export const liveStatuses: ReadonlySet<SubmissionStatus> = new Set(['sending', 'unknown', 'answered']);

export interface NewAttempt {
  readonly tenant: string;
  readonly caseId: string;
  readonly payerId: string;
  readonly channel: 'x12' | 'pas' | 'portal';
  readonly purpose: SubmissionPurpose;
  readonly traceNumber: string;
  readonly interchangeControlNumber?: string;
  readonly groupControlNumber?: string;
  readonly payloadId?: string;
  readonly request: string;
  readonly at: Date;
  /** The row's id when already taken (allocateControlNumbers' submissionId); a new one otherwise. */
  readonly id?: number;
}

export interface X12Store {
  /**
   * Next ISA13 and GS06 for a sender/receiver pair, and the id for the exchange's submission record
   * (recordAttempt's `id`): unique across callers and processes. Taken from a block this process reserved (one
   * statement per block, issue #17), in order within the process.
   */
  allocateControlNumbers(
    senderId: string,
    receiverId: string,
    at: Date,
  ): Promise<{ interchange: number; group: number; submissionId: number }>;
  /**
   * Records an attempt (status `sending`) and commits it before anything is sent. A second live submit for the
   * same case fails with PAGW_X12_LIVE_SUBMISSION_EXISTS (the unique index payer_submissions_one_live).
   */
  recordAttempt(attempt: NewAttempt): Promise<SubmissionRecord>;
  /**
   * Records how an attempt ended. Give the record (its tenant is known) rather than the id to save a read.
   * `withStep`: the payer's answer to the step running for the case: the record goes with the step's own
   * transaction when the step holds writes (HeldWrites, src/store/held-writes.ts), else now.
   */
  complete(
    submission:
      | number
      | (Pick<SubmissionRecord, 'id' | 'tenant'> & Partial<Pick<SubmissionRecord, 'caseId'>>),
    result: {
      status: Exclude<SubmissionStatus, 'sending'>;
      response?: string;
      outcome?: unknown;
      errorCode?: string;
      at: Date;
    },
    options?: { withStep?: boolean },
  ): Promise<void>;
  latest(caseId: string, purpose: SubmissionPurpose): Promise<SubmissionRecord | undefined>;
  forCase(caseId: string): Promise<SubmissionRecord[]>;
  byTrace(channel: string, traceNumber: string): Promise<SubmissionRecord[]>;
  /** The clear request and response of one exchange, read through the audited PHI path (a `phi.read` row each). */
  openPayloads(
    id: number,
    use: Omit<PhiUse, 'what' | 'ref' | 'tenant'>,
  ): Promise<{ request: string | null; response: string | null } | undefined>;
}

const columns =
  'id, tenant_id, case_id, payer_id, channel, purpose, trace_number, attempt, status, interchange_control_number, group_control_number, payload_id, request, response, outcome, error_code, created_at, completed_at';

/** ISA13 is nine digits: after this, numbering starts again at 1. */
const maxControlNumber = 999_999_999;
/** Control numbers (and submission ids) a process reserves at a time: one statement per this many exchanges. */
export const defaultControlNumberBlock = 100;

interface ControlNumberBlock {
  readonly interchange: number;
  readonly group: number;
  readonly submissionIds: readonly number[];
  used: number;
}

export function createX12Store(
  db: Pick<pg.Pool, 'query'> | Sql,
  options: {
    phi: Pick<PhiCipher, 'sealText' | 'openText'>;
    pool?: pg.Pool;
    /** How many control numbers to reserve at a time (defaultControlNumberBlock); 1 takes them one by one. */
    controlNumberBlock?: number;
    /** Where `complete(…, { withStep: true })` leaves its write for the case's running step. */
    held?: HeldWrites;
  },
): X12Store {
  const { phi } = options;
  const blockSize = options.controlNumberBlock ?? defaultControlNumberBlock;
  const blocks = new Map<string, ControlNumberBlock>();
  const refills = new Map<string, Promise<void>>();

  /**
   * Reserves the next `blockSize` interchange and group numbers of a pair, and as many submission ids, in one
   * statement. The numbers of a block are handed out in order by this process only; another process reserves its
   * own block, so numbers stay unique across processes (not in time order across them), and those of a block not
   * used up before the process ends are skipped (X12 asks ISA13 to be unique, not gap-free).
   */
  async function reserveBlock(senderId: string, receiverId: string, at: Date): Promise<ControlNumberBlock> {
    const { rows } = await db
      .query<{ kind: 'interchange' | 'group'; last_value: number; submission_ids: string[] }>(
        `WITH reserved AS (
           INSERT INTO x12_control_numbers (sender_id, receiver_id, kind, last_value, updated_at)
             VALUES ($1, $2, 'interchange', $4, $3), ($1, $2, 'group', $4, $3)
           ON CONFLICT (sender_id, receiver_id, kind) DO UPDATE
             SET last_value = CASE WHEN x12_control_numbers.last_value > ${maxControlNumber} - $4 THEN $4
                                   ELSE x12_control_numbers.last_value + $4 END,
                 updated_at = EXCLUDED.updated_at
           RETURNING kind, last_value)
         SELECT kind, last_value,
                (SELECT array_agg(nextval(pg_get_serial_sequence('payer_submissions', 'id')) ORDER BY n)
                   FROM generate_series(1, $4::int) AS n)::text[] AS submission_ids
           FROM reserved`,
        [senderId, receiverId, at, blockSize],
      )
      .catch((error) => persistError(error, 'allocate X12 control numbers'));
    // The block is the `blockSize` numbers up to the new last value (after a wrap: 1 to blockSize).
    const first = (kind: string) => Number(rows.find((r) => r.kind === kind)!.last_value) - blockSize + 1;
    return {
      interchange: first('interchange'),
      group: first('group'),
      submissionIds: rows[0]!.submission_ids.map(Number),
      used: 0,
    };
  }

  return {
    async allocateControlNumbers(senderId, receiverId, at) {
      const key = `${senderId}\u0000${receiverId}`;
      for (;;) {
        const block = blocks.get(key);
        if (block && block.used < block.submissionIds.length) {
          const i = block.used++;
          return {
            interchange: block.interchange + i,
            group: block.group + i,
            submissionId: block.submissionIds[i]!,
          };
        }
        // One refill per pair at a time: concurrent callers wait for it and share its numbers.
        let refill = refills.get(key);
        if (!refill) {
          refill = reserveBlock(senderId, receiverId, at)
            .then((reserved) => {
              blocks.set(key, reserved);
            })
            .finally(() => refills.delete(key));
          refills.set(key, refill);
        }
        await refill;
      }
    },

    async recordAttempt(attempt) {
      try {
        // The row id first: the sealed request is bound to it.
        const id =
          attempt.id ??
          Number(
            (
              await db.query<{ id: number }>(
                `SELECT nextval(pg_get_serial_sequence('payer_submissions', 'id'))::bigint AS id`,
              )
            ).rows[0]!.id,
          );
        const request = await phi.sealText(
          attempt.tenant,
          submissionPayloadBinding(id, 'request'),
          attempt.request,
        );
        const { rows } = await db.query<Row>(
          `INSERT INTO payer_submissions (id, tenant_id, case_id, payer_id, channel, purpose, trace_number, attempt, status,
                                          interchange_control_number, group_control_number, payload_id, request, created_at)
           SELECT $12, $1, $2, $3, $4, $5, $6, coalesce(max(attempt), 0) + 1, 'sending', $7, $8, $9, $10, $11
             FROM payer_submissions WHERE case_id = $2 AND purpose = $5
           RETURNING ${columns}`,
          [
            attempt.tenant,
            attempt.caseId,
            attempt.payerId,
            attempt.channel,
            attempt.purpose,
            attempt.traceNumber,
            attempt.interchangeControlNumber ?? null,
            attempt.groupControlNumber ?? null,
            attempt.payloadId ?? null,
            request,
            attempt.at,
            id,
          ],
        );
        return toRecord(rows[0]!);
      } catch (error) {
        const pgError = error as { code?: string; constraint?: string };
        if (pgError.code === '23505' && pgError.constraint === 'payer_submissions_one_live') {
          throw new ClearinghouseError(
            'PAGW_X12_LIVE_SUBMISSION_EXISTS',
            'The case already has a live submission; reconcile it before sending another',
            { cause: error },
          );
        }
        if (pgError.code === '23505') {
          // Two attempts raced for the same attempt number: the caller may retry.
          throw new PersistError('PAGW_STORE_UNAVAILABLE', 'Concurrent attempt numbering; retry', {
            cause: error,
            retriable: true,
          });
        }
        return persistError(error, 'record a payer submission');
      }
    },

    async complete(submission, result, completeOptions = {}) {
      const id = typeof submission === 'number' ? submission : submission.id;
      let response: string | null = null;
      if (result.response !== undefined) {
        // The response is sealed under the submission's tenant: read it only when the caller did not say.
        const tenant =
          typeof submission === 'number'
            ? (
                await db
                  .query<{ tenant_id: string }>('SELECT tenant_id FROM payer_submissions WHERE id = $1', [id])
                  .catch((error) => persistError(error, 'read a payer submission'))
              ).rows[0]?.tenant_id
            : submission.tenant;
        if (tenant)
          response = await phi.sealText(tenant, submissionPayloadBinding(id, 'response'), result.response);
      }
      const write: Statement = {
        text: `UPDATE payer_submissions
                  SET status = $2, response = coalesce($3, response), outcome = coalesce($4, outcome),
                      error_code = coalesce($5, error_code), completed_at = $6
                WHERE id = $1`,
        values: [
          id,
          result.status,
          response,
          result.outcome === undefined ? null : JSON.stringify(result.outcome),
          result.errorCode ?? null,
          result.at,
        ],
      };
      const caseId = typeof submission === 'number' ? undefined : submission.caseId;
      if (completeOptions.withStep && caseId && options.held?.hold(caseId, write)) return;
      await db
        .query(write.text, [...write.values])
        .catch((error) => persistError(error, 'complete a payer submission'));
    },

    async latest(caseId, purpose) {
      const { rows } = await db
        .query<Row>(
          `SELECT ${columns} FROM payer_submissions WHERE case_id = $1 AND purpose = $2 ORDER BY attempt DESC LIMIT 1`,
          [caseId, purpose],
        )
        .catch((error) => persistError(error, 'read payer submissions'));
      return rows[0] ? toRecord(rows[0]) : undefined;
    },

    async forCase(caseId) {
      const { rows } = await db
        .query<Row>(`SELECT ${columns} FROM payer_submissions WHERE case_id = $1 ORDER BY id`, [caseId])
        .catch((error) => persistError(error, 'read payer submissions'));
      return rows.map(toRecord);
    },

    async byTrace(channel, traceNumber) {
      const { rows } = await db
        .query<Row>(
          `SELECT ${columns} FROM payer_submissions WHERE channel = $1 AND trace_number = $2 ORDER BY id`,
          [channel, traceNumber],
        )
        .catch((error) => persistError(error, 'read payer submissions'));
      return rows.map(toRecord);
    },

    async openPayloads(id, use) {
      const pool = options.pool ?? (db as pg.Pool);
      return withTransaction(pool, async (tx) => {
        const { rows } = await tx.query<{
          id: number;
          tenant_id: string;
          request: string | null;
          response: string | null;
        }>('SELECT id, tenant_id, request, response FROM payer_submissions WHERE id = $1', [id]);
        const row = rows[0];
        if (!row) return undefined;
        return openSubmissionPayloads(tx, phi, { ...use, tenant: row.tenant_id }, row);
      });
    },
  };
}
