/**
 * The documents task when a later look asks for documents (`information_requested`, src/workflow/information-requests.ts):
 * the same `more_information` task a first answer asking for them opens (./transition-tasks.ts moreInformationTask),
 * listing what the payer asks for now. A documents task still open from an earlier request is superseded — resolved
 * with reason DOCUMENTS_REQUEST_CHANGED and replaced by one listing the whole new request — so the provider works from
 * one list with the payer's current control numbers. Documents already uploaded stay with the case and go with the
 * next send (they belong to the case, not to a task).
 */
import type { CaseRecord } from '../store/cases.ts';
import type { Tx } from '../store/sql.ts';
import { closeCaseTasks, openTask, type TaskWriteOptions } from '../store/tasks.ts';
import type { TaskSpec } from '../workflow/tasks/tasks.ts';

export async function onInformationRequested(
  tx: Tx,
  after: CaseRecord,
  spec: TaskSpec,
  writes: TaskWriteOptions,
): Promise<void> {
  await closeCaseTasks(
    tx,
    after.tenant,
    after.id,
    ['more_information'],
    'resolved',
    { reason: 'DOCUMENTS_REQUEST_CHANGED' },
    writes,
  );
  await openTask(tx, { tenant: after.tenant, caseId: after.id, spec, ...writes });
}
