/**
 * The payloads of payer_submissions (requests and responses exchanged with payers: PHI) are sealed under the
 * tenant's data key, bound to their row id and field. Every connector seals with `submissionPayloadBinding`, and
 * every reader opens with `openSubmissionPayloads`, inside a transaction that records the `phi.read` audit rows.
 */
import type pg from 'pg';
import type { PhiCipher, PhiUse } from '../vault/phi.ts';

/** What a sealed payload of payer_submissions is bound to (besides the tenant): its row and field. */
export function submissionPayloadBinding(id: number | string, field: 'request' | 'response'): string[] {
  return ['payer_submissions', String(id), field];
}

/** Opens a payer_submissions row's payloads inside `tx` (audited); for readers outside the connector. */
export async function openSubmissionPayloads(
  tx: pg.PoolClient,
  phi: Pick<PhiCipher, 'openText'>,
  use: Omit<PhiUse, 'what' | 'ref'>,
  row: { id: number | string; request: string | null; response: string | null },
): Promise<{ request: string | null; response: string | null }> {
  const open = async (field: 'request' | 'response', stored: string | null) =>
    stored === null
      ? null
      : phi.openText(
          tx,
          { ...use, what: `payer_submissions.${field}`, ref: String(row.id) },
          submissionPayloadBinding(row.id, field),
          stored,
        );
  return { request: await open('request', row.request), response: await open('response', row.response) };
}
