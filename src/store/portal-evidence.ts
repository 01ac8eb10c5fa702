/**
 * Portal evidence (migration 0010): screenshots the portal robot keeps with the case, sealed under the tenant's
 * data key and bound to their row id. Listing shows metadata only; the image opens through the audited PHI path.
 */
import type pg from 'pg';
import type { PhiCipher, PhiUse } from '../vault/phi.ts';
import type { Sql } from './sql.ts';

export interface EvidenceInput {
  readonly tenant: string;
  readonly caseId: string;
  readonly payerId: string;
  readonly submissionId?: number;
  readonly recipe: string;
  readonly flow: string;
  readonly step?: number;
  readonly name: string;
  readonly contentType: string;
  readonly masked: readonly string[];
  readonly image: Buffer;
  readonly at: Date;
}

export interface EvidenceItem {
  readonly id: string;
  readonly payerId: string;
  readonly submissionId: string | null;
  readonly recipe: string;
  readonly flow: string;
  readonly step: number | null;
  readonly name: string;
  readonly contentType: string;
  readonly masked: string[];
  readonly createdAt: Date;
}

const binding = (id: number | string) => ['portal_evidence.image', String(id)];

/** Seals and stores one screenshot; returns its id. Call outside a transaction (sealing may create the key). */
export async function saveEvidence(
  sql: Sql,
  phi: Pick<PhiCipher, 'seal'>,
  input: EvidenceInput,
): Promise<number> {
  const { rows } = await sql.query<{ id: number }>(
    `SELECT nextval(pg_get_serial_sequence('portal_evidence', 'id'))::bigint AS id`,
  );
  const id = Number(rows[0]!.id);
  const image = await phi.seal(input.tenant, binding(id), input.image);
  await sql.query(
    `INSERT INTO portal_evidence (id, tenant_id, case_id, payer_id, submission_id, recipe, flow, step, name, content_type,
                                  masked, image, created_at)
     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13)`,
    [
      id,
      input.tenant,
      input.caseId,
      input.payerId,
      input.submissionId ?? null,
      input.recipe,
      input.flow,
      input.step ?? null,
      input.name,
      input.contentType,
      JSON.stringify(input.masked),
      image,
      input.at,
    ],
  );
  return id;
}

/** A case's evidence, oldest first, without the images. */
export async function listEvidence(sql: Sql, tenant: string, caseId: string): Promise<EvidenceItem[]> {
  const { rows } = await sql.query<EvidenceItem>(
    `SELECT id::text AS id, payer_id AS "payerId", submission_id::text AS "submissionId", recipe, flow, step, name,
            content_type AS "contentType", masked, created_at AS "createdAt"
       FROM portal_evidence WHERE tenant_id = $1 AND case_id = $2 ORDER BY id`,
    [tenant, caseId],
  );
  return rows;
}

/** One image, opened inside `tx` through the audited path; null when the case has no such evidence. */
export async function openEvidence(
  tx: pg.PoolClient,
  phi: Pick<PhiCipher, 'open'>,
  use: Omit<PhiUse, 'what' | 'ref'> & { caseId: string },
  evidenceId: string,
): Promise<{ contentType: string; name: string; image: Buffer } | null> {
  if (!/^\d{1,18}$/.test(evidenceId)) return null;
  const { rows } = await tx.query<{ id: number; content_type: string; name: string; image: Buffer }>(
    'SELECT id, content_type, name, image FROM portal_evidence WHERE tenant_id = $1 AND case_id = $2 AND id = $3::bigint',
    [use.tenant, use.caseId, evidenceId],
  );
  const row = rows[0];
  if (!row) return null;
  const image = await phi.open(
    tx,
    { ...use, what: 'portal_evidence.image', ref: String(row.id) },
    binding(row.id),
    row.image,
  );
  return { contentType: row.content_type, name: row.name, image };
}
