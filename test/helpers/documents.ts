/** A care team's documents as the tests send them: a minimal PDF, its upload to a case, and the task resolved by
 * sending it (what a person does in the console). */
import type { TestGateway } from './gateway.ts';

/** The smallest PDF the gateway's content sniffing accepts as application/pdf. */
export const samplePdf = Buffer.from(
  '%PDF-1.4\n1 0 obj << /Type /Catalog >> endobj\ntrailer << /Root 1 0 R >>\n%%EOF\n',
  'latin1',
);

type Caller = Pick<TestGateway, 'gateway' | 'token'>;

/** POST /cases/:id/documents with the given bytes; the response is the test's to check. */
export function uploadDocument(
  gw: Caller,
  caseId: string,
  body: Buffer,
  contentType = 'application/pdf',
  code = '09',
) {
  return fetch(`${gw.gateway.url}/cases/${caseId}/documents?code=${code}`, {
    method: 'POST',
    headers: { authorization: `Bearer ${gw.token}`, 'content-type': contentType },
    body: new Uint8Array(body),
  });
}

/** POST /tasks/:id/resolve with action send_documents at the task's version. */
export function sendDocuments(gw: Caller, taskId: string, taskVersion: number) {
  return fetch(`${gw.gateway.url}/tasks/${taskId}/resolve`, {
    method: 'POST',
    headers: { authorization: `Bearer ${gw.token}`, 'content-type': 'application/json' },
    body: JSON.stringify({ action: 'send_documents', taskVersion }),
  });
}
