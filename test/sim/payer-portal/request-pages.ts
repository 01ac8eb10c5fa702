/**
 * The simulated portal's page for one request it holds (`/pa/request/:confirmation`, linked from the status table as
 * "Open request"): its details, the documents the payer asks for, a document upload form (type and size checked, the
 * files recorded), an edit form for the changeable fields (service codes, units, service dates), and a "Withdraw
 * request" form (confirmed on a second page) that marks it cancelled — the status page then shows Cancelled; a
 * SLOWCANCEL… member's withdrawal is recorded but its answer held (`holdMs`). A request pended
 * for documents (DOCS… member ids) is decided at the first status look after an upload; a changed request is reviewed
 * afresh and decided at the first status look after the change — the way the X12 clearinghouse sim decides after a
 * 275 or a revised 278. A SLOWUPLOAD… member's upload is recorded but its answer held (`holdMs`): a client that gives
 * up has sent the documents without seeing the receipt.
 */
import type { Express, Request, Response } from 'express';
import { escapeHtml, page } from './pages.ts';

/** What the portal takes in an upload: the usual clinical document types, up to 5 MB a file. */
export const acceptedDocumentTypes = [
  'application/pdf',
  'image/png',
  'image/jpeg',
  'image/tiff',
  'application/xml',
  'text/xml',
];
export const maxDocumentBytes = 5 * 1024 * 1024;

export interface ReceivedDocument {
  readonly name: string;
  readonly type: string;
  readonly size: number;
  readonly receipt: string;
  readonly receivedAt: string;
}

export interface Revision {
  readonly services: string;
  readonly units: string;
  readonly serviceStart: string;
  readonly serviceEnd: string;
  readonly revisedAt: string;
}

/** The part of a held request these pages read and change. */
export interface HeldRequest {
  readonly confirmation: string;
  readonly reference: string;
  readonly member: string;
  services: string;
  units: string;
  serviceStart: string;
  serviceEnd: string;
  /** The documents the payer asks for before it decides ('' when none). */
  readonly documentsRequested: string;
  readonly documents: ReceivedDocument[];
  readonly revisions: Revision[];
  /** Status looks since the request last changed (an upload or an edit starts the count again). */
  statusLooks: number /** When the provider withdrew it ("Withdraw request"); the status page then shows Cancelled. */;
  cancelledAt?: string;
  /** How many times a withdrawal was confirmed (a second one is recorded too: a client must not send it). */
  withdrawals?: number;
}

export interface RequestPageDeps<T extends HeldRequest> {
  readonly submissions: Map<string, T>;
  signedIn(req: Request, res: Response): unknown;
  readForm(req: Request): Promise<FormData>;
  /** The next receipt number (DOC-nnnnnn). */
  nextReceipt(): string;
  /** How long a SLOWUPLOAD… member's upload answer is held after the files were recorded. */
  readonly holdMs: number;
}

function held(deps: RequestPageDeps<HeldRequest>, req: Request, res: Response): HeldRequest | undefined {
  const found = deps.submissions.get(String(req.params.confirmation));
  if (!found)
    res
      .status(404)
      .type('html')
      .send(
        page('Request not found', '<p role="alert">No request with this confirmation number.</p>', {
          nav: true,
        }),
      );
  return found;
}

export function requestPage(r: HeldRequest, error?: string): string {
  const note = error ? `<p class="error" role="alert">${escapeHtml(error)}</p>` : '';
  const asked = r.documentsRequested
    ? `<dt>Documents requested</dt><dd id="documents-requested">${escapeHtml(r.documentsRequested)}</dd>`
    : '';
  const docs = r.documents.length
    ? `<table aria-label="Documents received"><thead><tr><th>File</th><th>Type</th><th>Size</th><th>Receipt</th></tr></thead><tbody>${r.documents
        .map(
          (d) =>
            `<tr><td>${escapeHtml(d.name)}</td><td>${escapeHtml(d.type)}</td><td>${d.size}</td><td>${escapeHtml(d.receipt)}</td></tr>`,
        )
        .join('')}</tbody></table>`
    : '<p>No documents received yet.</p>';
  const base = `/pa/request/${encodeURIComponent(r.confirmation)}`;
  return page(
    `Request ${r.confirmation}`,
    `${note}<dl><dt>Your reference</dt><dd>${escapeHtml(r.reference)}</dd>
<dt>Service codes</dt><dd>${escapeHtml(r.services)}</dd><dt>Units</dt><dd>${escapeHtml(r.units)}</dd>${asked}
<dt>Status</dt><dd id="request-status">${r.cancelledAt ? 'Cancelled' : 'Open'}</dd></dl>
<p><a href="${base}/edit">Edit request</a>${r.cancelledAt ? '' : ` · <a href="${base}/withdraw">Withdraw request</a>`}</p>
<h2>Documents</h2>${docs}
<form method="post" action="${base}/documents" enctype="multipart/form-data">
<label for="documents">Additional documents</label><input id="documents" name="documents" type="file" multiple>
<p>PDF, PNG, JPEG, TIFF or C-CDA (XML), at most 5 MB each.</p>
<p><button type="submit">Upload documents</button></p></form>`,
    { nav: true },
  );
}

export function editPage(r: HeldRequest, error?: string): string {
  const note = error ? `<p class="error" role="alert">${escapeHtml(error)}</p>` : '';
  const field = (id: string, label: string, value: string, type = 'text') =>
    `<label for="${id}">${escapeHtml(label)}</label><input id="${id}" name="${id}" type="${type}" value="${escapeHtml(value)}">`;
  return page(
    `Change request ${r.confirmation}`,
    `${note}<form method="post" action="/pa/request/${encodeURIComponent(r.confirmation)}/edit">
${field('services', 'Service codes (CPT/HCPCS)', r.services)}${field('units', 'Units', r.units)}
${field('start', 'Service start date', r.serviceStart, 'date')}${field('end', 'Service end date', r.serviceEnd, 'date')}
<p><button type="submit">Save changes</button></p></form>`,
    { nav: true },
  );
}

/** Why a file is refused ('' when it is taken). */
async function refusal(file: File): Promise<string> {
  if (!acceptedDocumentTypes.includes(file.type))
    return `The file ${file.name} is not an accepted document type (PDF, PNG, JPEG, TIFF, C-CDA XML).`;
  if (file.size > maxDocumentBytes) return `The file ${file.name} is larger than the 5 MB the portal takes.`;
  if (file.size === 0) return `The file ${file.name} is empty.`;
  if (file.type === 'application/pdf') {
    const head = Buffer.from(await file.slice(0, 5).arrayBuffer()).toString('latin1');
    if (head !== '%PDF-') return `The file ${file.name} is not an accepted document type (not a PDF).`;
  }
  return '';
}

export function registerRequestPages<T extends HeldRequest>(app: Express, deps: RequestPageDeps<T>): void {
  const d = deps as unknown as RequestPageDeps<HeldRequest>;
  app.get('/pa/request/:confirmation', (req, res) => {
    if (!deps.signedIn(req, res)) return;
    const r = held(d, req, res);
    if (r) res.type('html').send(requestPage(r));
  });
  app.post('/pa/request/:confirmation/documents', async (req, res) => {
    if (!deps.signedIn(req, res)) return;
    const r = held(d, req, res);
    if (!r) return;
    let files: File[];
    try {
      files = (await deps.readForm(req)).getAll('documents').filter((f): f is File => f instanceof File);
    } catch {
      res.status(400).type('html').send(requestPage(r, 'The form could not be read.'));
      return;
    }
    files = files.filter((f) => f.name !== '' || f.size > 0);
    if (files.length === 0) {
      res.status(422).type('html').send(requestPage(r, 'Please complete: documents.'));
      return;
    }
    for (const file of files) {
      const why = await refusal(file);
      if (why) {
        res.status(422).type('html').send(requestPage(r, why));
        return;
      }
    }
    const receipt = deps.nextReceipt();
    const at = new Date().toISOString();
    for (const file of files)
      r.documents.push({ name: file.name, type: file.type, size: file.size, receipt, receivedAt: at });
    r.statusLooks = 0;
    // Recorded, but the answer is held: a client that gives up never sees the receipt.
    if (r.member.startsWith('SLOWUPLOAD')) await new Promise((resolve) => setTimeout(resolve, deps.holdMs));
    res.type('html').send(
      page(
        'Documents received',
        `<p role="status">${files.length} document${files.length === 1 ? ' was' : 's were'} received for request ${escapeHtml(r.confirmation)}.</p>
<dl><dt>Receipt</dt><dd id="upload-receipt">${escapeHtml(receipt)}</dd></dl>`,
        { nav: true },
      ),
    );
  });
  app.get('/pa/request/:confirmation/withdraw', (req, res) => {
    if (!deps.signedIn(req, res)) return;
    const r = held(d, req, res);
    if (r)
      res.type('html').send(
        page(
          `Withdraw request ${r.confirmation}`,
          `<p>Withdraw this request? The plan stops reviewing it; this cannot be undone.</p>
<form method="post" action="/pa/request/${encodeURIComponent(r.confirmation)}/withdraw"><p><button type="submit">Confirm withdrawal</button></p></form>`,
          { nav: true },
        ),
      );
  });
  app.post('/pa/request/:confirmation/withdraw', async (req, res) => {
    if (!deps.signedIn(req, res)) return;
    const r = held(d, req, res);
    if (!r) return;
    r.withdrawals = (r.withdrawals ?? 0) + 1;
    r.cancelledAt ??= new Date().toISOString();
    // Recorded, but the answer is held: a client that gives up never sees that it was withdrawn.
    if (r.member.startsWith('SLOWCANCEL')) await new Promise((resolve) => setTimeout(resolve, deps.holdMs));
    res.type('html').send(
      page(
        'Request withdrawn',
        `<p role="status">Request ${escapeHtml(r.confirmation)} was withdrawn.</p>
<dl><dt>Status</dt><dd id="request-status">Cancelled</dd></dl>`,
        { nav: true },
      ),
    );
  });
  app.get('/pa/request/:confirmation/edit', (req, res) => {
    if (!deps.signedIn(req, res)) return;
    const r = held(d, req, res);
    if (r) res.type('html').send(editPage(r));
  });
  app.post('/pa/request/:confirmation/edit', (req, res) => {
    if (!deps.signedIn(req, res)) return;
    const r = held(d, req, res);
    if (!r) return;
    const body = req.body as Record<string, string | undefined>;
    const text = (name: string) => String(body[name] ?? '').trim();
    const services = text('services');
    const units = text('units');
    const codes = services.split(',').filter((s) => s.trim() !== '');
    const counts = units.split(',').map((u) => u.trim());
    const missing = [
      ...(codes.length === 0 ? ['service codes'] : []),
      ...(counts.length !== codes.length || counts.some((u) => !/^[1-9]\d{0,3}$/.test(u)) ? ['units'] : []),
    ];
    if (missing.length > 0) {
      res
        .status(422)
        .type('html')
        .send(editPage(r, `Please complete: ${missing.join(', ')}.`));
      return;
    }
    r.services = services;
    r.units = units;
    r.serviceStart = text('start');
    r.serviceEnd = text('end');
    r.revisions.push({
      services,
      units,
      serviceStart: r.serviceStart,
      serviceEnd: r.serviceEnd,
      revisedAt: new Date().toISOString(),
    });
    r.statusLooks = 0;
    res.type('html').send(
      page(
        'Changes saved',
        `<p role="status">Your changes were saved; the request is pended for clinical review.</p>
<dl><dt>Confirmation number</dt><dd id="confirmation-number">${escapeHtml(r.confirmation)}</dd>
<dt>Your reference</dt><dd>${escapeHtml(r.reference)}</dd></dl>`,
        { nav: true },
      ),
    );
  });
}
