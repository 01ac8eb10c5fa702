/**
 * Appeals of a case's decision (migration 0014 `case_appeals`): the assembled package, its letter (a sealed
 * case document), the review task, and how it went: draft → approved → submitted → approved_after_appeal | upheld.
 */
import type { AppealPackage } from '../workflow/tasks/appeals.ts';
import type { Sql, Tx } from './sql.ts';

export type AppealState =
  | 'draft'
  | 'approved'
  | 'submitted'
  | 'approved_after_appeal'
  | 'upheld'
  | 'withdrawn';

export interface AppealRecord {
  readonly id: string;
  readonly tenant: string;
  readonly caseId: string;
  readonly seq: number;
  readonly state: AppealState;
  readonly package: AppealPackage;
  readonly letterId: string | null;
  readonly taskId: string | null;
  readonly submittedVia: string | null;
  readonly createdAt: Date;
  readonly updatedAt: Date;
  readonly submittedAt: Date | null;
  readonly decidedAt: Date | null;
}

const columns = `id, tenant_id AS tenant, case_id AS "caseId", seq, state, package, letter_id AS "letterId",
  task_id AS "taskId", submitted_via AS "submittedVia", created_at AS "createdAt", updated_at AS "updatedAt",
  submitted_at AS "submittedAt", decided_at AS "decidedAt"`;

export async function insertAppeal(
  tx: Tx,
  appeal: Pick<AppealRecord, 'id' | 'tenant' | 'caseId' | 'package' | 'letterId' | 'taskId' | 'createdAt'>,
): Promise<AppealRecord> {
  const { rows } = await tx.query<AppealRecord>(
    `INSERT INTO case_appeals (id, tenant_id, case_id, seq, state, package, letter_id, task_id, created_at, updated_at)
     VALUES ($1, $2, $3, (SELECT coalesce(max(seq), 0) + 1 FROM case_appeals WHERE case_id = $3), 'draft', $4, $5, $6,
             $7, $7)
     RETURNING ${columns}`,
    [
      appeal.id,
      appeal.tenant,
      appeal.caseId,
      appeal.package,
      appeal.letterId,
      appeal.taskId,
      appeal.createdAt,
    ],
  );
  return rows[0]!;
}

export async function getAppeal(sql: Sql, tenant: string, id: string): Promise<AppealRecord | undefined> {
  if (!/^[0-9a-f-]{36}$/i.test(id)) return undefined;
  const { rows } = await sql.query<AppealRecord>(
    `SELECT ${columns} FROM case_appeals WHERE tenant_id = $1 AND id = $2`,
    [tenant, id],
  );
  return rows[0];
}

export async function listAppeals(sql: Sql, tenant: string, caseId: string): Promise<AppealRecord[]> {
  const { rows } = await sql.query<AppealRecord>(
    `SELECT ${columns} FROM case_appeals WHERE tenant_id = $1 AND case_id = $2 ORDER BY seq`,
    [tenant, caseId],
  );
  return rows;
}

export async function updateAppeal(
  tx: Pick<Tx, 'query'>,
  id: string,
  change: { state: AppealState; at: Date; taskId?: string; submittedVia?: string },
): Promise<void> {
  await tx.query(
    `UPDATE case_appeals SET state = $2, updated_at = $3,
            task_id = coalesce($4, task_id),
            submitted_via = coalesce($5, submitted_via),
            submitted_at = CASE WHEN $2 = 'submitted' THEN $3 ELSE submitted_at END,
            decided_at = CASE WHEN $2 IN ('approved_after_appeal', 'upheld') THEN $3 ELSE decided_at END
      WHERE id = $1`,
    [id, change.state, change.at, change.taskId ?? null, change.submittedVia ?? null],
  );
}
