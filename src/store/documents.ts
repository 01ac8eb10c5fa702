/**
 * Documents held with a case (migration 0014 `case_documents`): attachments for the payer and rendered appeal
 * letters. The bytes are sealed under the tenant's data key (src/vault/phi.ts) BEFORE they reach this module; only
 * type, size, digest and the document kind are in clear. Reading the bytes is the caller's audited open.
 */
import type { Sql, Tx } from './sql.ts';

export interface DocumentRecord {
  readonly id: string;
  readonly tenant: string;
  readonly caseId: string;
  readonly taskId: string | null;
  readonly purpose: 'attachment' | 'appeal_letter';
  readonly contentType: string;
  readonly sizeBytes: number;
  readonly sha256: string;
  readonly code: string | null;
  readonly codeSystem: string | null;
  readonly createdAt: Date;
  readonly createdBy: string;
  readonly sentAt: Date | null;
  readonly sentVia: string | null;
}

const columns = `id, tenant_id AS tenant, case_id AS "caseId", task_id AS "taskId", purpose, content_type AS "contentType",
  size_bytes AS "sizeBytes", sha256, code, code_system AS "codeSystem", created_at AS "createdAt",
  created_by AS "createdBy", sent_at AS "sentAt", sent_via AS "sentVia"`;

export async function insertDocument(
  tx: Tx,
  doc: Omit<DocumentRecord, 'sentAt' | 'sentVia'> & { readonly sealed: Buffer },
): Promise<DocumentRecord> {
  const { rows } = await tx.query<DocumentRecord>(
    `INSERT INTO case_documents (id, tenant_id, case_id, task_id, purpose, content_type, size_bytes, sha256, code,
                                 code_system, sealed, created_at, created_by)
     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13) RETURNING ${columns}`,
    [
      doc.id,
      doc.tenant,
      doc.caseId,
      doc.taskId,
      doc.purpose,
      doc.contentType,
      doc.sizeBytes,
      doc.sha256,
      doc.code,
      doc.codeSystem,
      doc.sealed,
      doc.createdAt,
      doc.createdBy,
    ],
  );
  return rows[0]!;
}

/** A case's documents, oldest first, without their bytes. */
export async function listDocuments(
  sql: Sql,
  tenant: string,
  caseId: string,
  filter: { purpose?: DocumentRecord['purpose']; unsent?: boolean } = {},
): Promise<DocumentRecord[]> {
  const { rows } = await sql.query<DocumentRecord>(
    `SELECT ${columns} FROM case_documents
      WHERE tenant_id = $1 AND case_id = $2 AND ($3::text IS NULL OR purpose = $3)
        AND (NOT $4 OR sent_at IS NULL)
      ORDER BY created_at, id`,
    [tenant, caseId, filter.purpose ?? null, filter.unsent ?? false],
  );
  return rows;
}

/** One document with its sealed bytes (open them with the vault, which audits the read). */
export async function getSealedDocument(
  sql: Sql,
  tenant: string,
  caseId: string,
  id: string,
): Promise<(DocumentRecord & { sealed: Buffer }) | undefined> {
  if (!/^[0-9a-f-]{36}$/i.test(id)) return undefined;
  const { rows } = await sql.query<DocumentRecord & { sealed: Buffer }>(
    `SELECT ${columns}, sealed FROM case_documents WHERE tenant_id = $1 AND case_id = $2 AND id = $3`,
    [tenant, caseId, id],
  );
  return rows[0];
}

export async function markDocumentsSent(
  tx: Pick<Tx, 'query'>,
  ids: readonly string[],
  at: Date,
  via: string,
): Promise<void> {
  await tx.query('UPDATE case_documents SET sent_at = $2, sent_via = $3 WHERE id = ANY($1::uuid[])', [
    ids,
    at,
    via,
  ]);
}
