/**
 * Documents for the payer (issue #14 item 3): uploaded through the API (PDF, image, C-CDA; type recognised from the
 * bytes, size checked), sealed under the tenant's data key before they are stored with the case, and opened again —
 * an audited read — only to send them the way the payer's channel takes them (X12 275 under the PWK attachment
 * control number). Every upload is audited; the bytes never reach a log or an event.
 */
import { createHash, randomUUID } from 'node:crypto';
import { type Actor, appendAudit } from '../audit/audit-log.ts';
import { GatewayError, NotFoundError } from '../errors/index.ts';
import type { CaseRecord } from '../store/cases.ts';
import { getCase } from '../store/cases.ts';
import type { Database } from '../store/database.ts';
import { type DocumentRecord, insertDocument, listDocuments } from '../store/documents.ts';
import { withTransaction } from '../store/sql.ts';
import type { PhiCipher } from '../vault/phi.ts';
import type { PayerAttachment } from '../workflow/ports/payer-connector.ts';
import {
  declaredDocumentType,
  documentTypes,
  maxDocumentBytes,
  sniffDocumentType,
} from '../workflow/tasks/documents.ts';

export const reportTypeSystem = 'https://codesystem.x12.org/005010/755';

/** The binding a document's sealed bytes are tied to: opened under another id or tenant, they do not decrypt. */
export const documentBinding = (id: string) => ['case_documents', id];

function refuse(status: 'type' | 'size' | 'code', message: string): never {
  throw new GatewayError(
    status === 'size' ? 'PAGW_DOCUMENT_TOO_LARGE' : 'PAGW_DOCUMENT_UNSUPPORTED',
    message,
    { problems: [{ location: status === 'code' ? 'code' : 'body', message }] },
  );
}

export interface UploadInput {
  readonly tenant: string;
  readonly caseId: string;
  readonly actor: Actor;
  readonly at: Date;
  readonly contentType: string | undefined;
  readonly bytes: Buffer;
  /** The kind of document (X12 755 report type the payer asked for). */
  readonly code?: string;
  readonly taskId?: string;
  readonly purpose?: DocumentRecord['purpose'];
}

export async function addDocument(
  deps: { db: Pick<Database, 'pool'>; phi: PhiCipher },
  input: UploadInput,
): Promise<DocumentRecord> {
  const declared = declaredDocumentType(input.contentType);
  if (!declared)
    refuse('type', `the content type must be one of: ${documentTypes.join(', ')} (or text/xml for C-CDA)`);
  if (input.bytes.length === 0) refuse('type', 'the document is empty');
  if (input.bytes.length > maxDocumentBytes)
    refuse('size', `the document is ${input.bytes.length} bytes: at most ${maxDocumentBytes} are taken`);
  const actual = sniffDocumentType(input.bytes);
  if (actual !== declared)
    refuse(
      'type',
      actual
        ? `the bytes are ${actual}, not the declared ${declared}`
        : `the bytes are not a ${declared === 'application/xml' ? 'C-CDA document (ClinicalDocument, urn:hl7-org:v3)' : declared}`,
    );
  if (input.code !== undefined && !/^[0-9A-Z]{2}$/.test(input.code))
    refuse('code', 'code must be an X12 755 report type (two letters or digits, e.g. 09)');
  const record = await getCase(deps.db.pool, input.tenant, input.caseId);
  if (!record) throw new NotFoundError('PAGW_CASE_NOT_FOUND', 'Case not found');
  const id = randomUUID();
  // Sealed before the transaction: sealing may create the tenant's data key in a transaction of its own.
  const sealed = await deps.phi.seal(input.tenant, documentBinding(id), input.bytes);
  const sha256 = createHash('sha256').update(input.bytes).digest('hex');
  return withTransaction(deps.db.pool, async (tx) => {
    const doc = await insertDocument(tx, {
      id,
      tenant: input.tenant,
      caseId: record.id,
      taskId: input.taskId ?? null,
      purpose: input.purpose ?? 'attachment',
      contentType: declared,
      sizeBytes: input.bytes.length,
      sha256,
      code: input.code ?? null,
      codeSystem: input.code ? reportTypeSystem : null,
      sealed,
      createdAt: input.at,
      createdBy: input.actor.id,
    });
    await appendAudit(tx, {
      tenant: input.tenant,
      actor: input.actor,
      action: 'case.document_added',
      caseId: record.id,
      details: {
        documentId: id,
        purpose: doc.purpose,
        contentType: declared,
        sizeBytes: doc.sizeBytes,
        sha256,
        code: doc.code,
      },
      at: input.at,
    });
    return doc;
  });
}

/**
 * The case's attachments not yet sent, opened (each read audited as the connector's), each with the attachment
 * control number the payer gave for its kind (or for the first kind asked, when it names none).
 */
export async function attachmentsToSend(
  deps: { db: Pick<Database, 'pool'>; phi: PhiCipher },
  record: CaseRecord,
  reader: string,
): Promise<PayerAttachment[]> {
  const requested = record.decision?.documentsRequested ?? [];
  const docs = await listDocuments(deps.db.pool, record.tenant, record.id, {
    purpose: 'attachment',
    unsent: true,
  });
  const out: PayerAttachment[] = [];
  for (const doc of docs) {
    const asked = requested.find((r) => r.type.code === doc.code) ?? requested[0];
    const content = await withTransaction(deps.db.pool, async (tx) => {
      const { rows } = await tx.query<{ sealed: Buffer }>('SELECT sealed FROM case_documents WHERE id = $1', [
        doc.id,
      ]);
      return deps.phi.open(
        tx,
        { tenant: record.tenant, reader, caseId: record.id, what: 'case_documents.sealed', ref: doc.id },
        documentBinding(doc.id),
        rows[0]!.sealed,
      );
    });
    out.push({
      documentId: doc.id,
      ...(asked?.attachmentControlNumber ? { controlNumber: asked.attachmentControlNumber } : {}),
      reportType: doc.code ?? asked?.type.code ?? 'OZ',
      contentType: doc.contentType,
      content,
    });
  }
  return out;
}
