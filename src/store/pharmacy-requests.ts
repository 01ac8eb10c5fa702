/**
 * PA flags from pharmacy systems (migration 0015): recorded by the webhook intake in the transaction that records
 * the message, updated by the drafting step in the transaction that creates the case. See docs/pharmacy.md.
 */
import type { PaFlag } from '../mapping/pharmacy/flag.ts';
import type { Sql, Tx } from './sql.ts';

export type PharmacyRequestStatus = 'received' | 'drafted' | 'needs_info' | 'failed';

export interface PharmacyRequestRecord {
  readonly id: string;
  readonly tenant: string;
  readonly sender: string;
  readonly prescriptionId: string;
  readonly event: string;
  readonly messageKey: string;
  readonly flag: PaFlag;
  readonly status: PharmacyRequestStatus;
  readonly caseId: string | null;
  readonly draft: Record<string, unknown> | null;
  readonly problems: readonly { location: string; message: string }[] | null;
  readonly receivedAt: Date;
  readonly draftedAt: Date | null;
  readonly updatedAt: Date;
}

interface Row {
  id: string;
  tenant_id: string;
  sender: string;
  prescription_id: string;
  event: string;
  message_key: string;
  flag: PaFlag;
  status: PharmacyRequestStatus;
  case_id: string | null;
  draft: Record<string, unknown> | null;
  problems: { location: string; message: string }[] | null;
  received_at: Date;
  drafted_at: Date | null;
  updated_at: Date;
}

const columns =
  'id, tenant_id, sender, prescription_id, event, message_key, flag, status, case_id, draft, problems, received_at, drafted_at, updated_at';

function toRecord(row: Row): PharmacyRequestRecord {
  return {
    id: row.id,
    tenant: row.tenant_id,
    sender: row.sender,
    prescriptionId: row.prescription_id,
    event: row.event,
    messageKey: row.message_key,
    flag: row.flag,
    status: row.status,
    caseId: row.case_id,
    draft: row.draft,
    problems: row.problems,
    receivedAt: row.received_at,
    draftedAt: row.drafted_at,
    updatedAt: row.updated_at,
  };
}

/** Records a new flag; false when (tenant, sender, prescription, event) is recorded already. */
export async function insertPharmacyRequest(
  tx: Pick<Tx, 'query'>,
  input: {
    id: string;
    tenant: string;
    sender: string;
    messageKey: string;
    flag: PaFlag;
    at: Date;
  },
): Promise<boolean> {
  const result = await tx.query(
    `INSERT INTO pharmacy_requests
       (id, tenant_id, sender, prescription_id, event, message_key, flag, status, received_at, updated_at)
     VALUES ($1, $2, $3, $4, $5, $6, $7, 'received', $8, $8)
     ON CONFLICT DO NOTHING`,
    [
      input.id,
      input.tenant,
      input.sender,
      input.flag.prescriptionId,
      input.flag.eventType,
      input.messageKey,
      input.flag,
      input.at,
    ],
  );
  return (result.rowCount ?? 0) > 0;
}

export async function getPharmacyRequest(
  sql: Sql,
  tenant: string,
  id: string,
  options: { forUpdate?: boolean } = {},
): Promise<PharmacyRequestRecord | null> {
  const { rows } = await sql.query<Row>(
    `SELECT ${columns} FROM pharmacy_requests WHERE tenant_id = $1 AND id = $2${options.forUpdate ? ' FOR UPDATE' : ''}`,
    [tenant, id],
  );
  return rows[0] ? toRecord(rows[0]) : null;
}

export async function pharmacyRequestByMessageKey(
  sql: Sql,
  tenant: string,
  messageKey: string,
): Promise<PharmacyRequestRecord | null> {
  const { rows } = await sql.query<Row>(
    `SELECT ${columns} FROM pharmacy_requests WHERE tenant_id = $1 AND message_key = $2`,
    [tenant, messageKey],
  );
  return rows[0] ? toRecord(rows[0]) : null;
}

export async function pharmacyRequestForCase(
  sql: Sql,
  tenant: string,
  caseId: string,
): Promise<PharmacyRequestRecord | null> {
  const { rows } = await sql.query<Row>(
    `SELECT ${columns} FROM pharmacy_requests WHERE tenant_id = $1 AND case_id = $2`,
    [tenant, caseId],
  );
  return rows[0] ? toRecord(rows[0]) : null;
}

/** Moves a flag on from `received` (the drafting step's outcome), in the caller's transaction. */
export async function settlePharmacyRequest(
  tx: Pick<Tx, 'query'>,
  input: {
    tenant: string;
    id: string;
    status: Exclude<PharmacyRequestStatus, 'received'>;
    caseId?: string | null;
    draft?: Record<string, unknown> | null;
    problems?: readonly { location: string; message: string }[] | null;
    at: Date;
  },
): Promise<boolean> {
  const result = await tx.query(
    `UPDATE pharmacy_requests
        SET status = $3, case_id = $4, draft = $5, problems = $6, drafted_at = $7, updated_at = $7
      WHERE tenant_id = $1 AND id = $2 AND status = 'received'`,
    [
      input.tenant,
      input.id,
      input.status,
      input.caseId ?? null,
      input.draft ?? null,
      input.problems ? JSON.stringify(input.problems) : null,
      input.at,
    ],
  );
  return (result.rowCount ?? 0) > 0;
}
